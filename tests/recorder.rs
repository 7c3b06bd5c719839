//! Integration tests of the recorder (SPEC §4) against real files in temporary folders.

mod common;
mod recorder_support;

use std::fs;
use std::time::{Duration, Instant};

use micromodel::recorder::{repair_torn_tail, start, FsyncPolicy};
use recorder_support::{
    block_workflow, data_file, fill_disk, line, noon, opts, read_lines, stats, ts, wait_stats,
    Mounted, FINISH,
};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_submits_from_many_tasks_land_once_each() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (recorder, handle) = start(opts(dir.path(), FsyncPolicy::Interval, 65536)).expect("start");
    let mut tasks = Vec::new();
    for task in 0..50u32 {
        let r = recorder.clone();
        tasks.push(tokio::spawn(async move {
            let wf = if task % 2 == 0 { "alpha" } else { "beta" };
            for seq in 0..10u32 {
                r.submit(line(wf, noon(), json!({"task": task, "seq": seq})));
                tokio::task::yield_now().await;
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    drop(recorder);
    assert!(handle.finish(FINISH).await, "finish should drain cleanly");

    let mut total = 0;
    for (wf, parity) in [("alpha", 0), ("beta", 1)] {
        let lines = read_lines(&data_file(dir.path(), wf, "24-08-2025"));
        assert_eq!(lines.len(), 250, "{wf}");
        let mut last_seq = std::collections::HashMap::new();
        for l in &lines {
            let task = l["task"].as_u64().expect("task");
            let seq = l["seq"].as_i64().expect("seq");
            assert_eq!(task % 2, parity, "record filed under the wrong workflow");
            let prev = last_seq.insert(task, seq).unwrap_or(-1);
            assert_eq!(seq, prev + 1, "per-task order kept, no duplicates");
        }
        total += lines.len();
    }
    assert_eq!(total, 500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn date_folder_is_the_utc_day_of_the_timestamp() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (recorder, handle) = start(opts(dir.path(), FsyncPolicy::Interval, 16)).expect("start");
    recorder.submit(line("wf", ts("2025-08-24T23:59:59.999Z"), json!({"n": 1})));
    recorder.submit(line("wf", ts("2025-08-25T00:00:00.000Z"), json!({"n": 2})));
    recorder.submit(line("wf", ts("2025-08-24T10:00:00+02:00"), json!({"n": 3})));
    drop(recorder);
    assert!(handle.finish(FINISH).await);

    let day1 = read_lines(&data_file(dir.path(), "wf", "24-08-2025"));
    let day2 = read_lines(&data_file(dir.path(), "wf", "25-08-2025"));
    assert_eq!(day1, vec![json!({"n": 1}), json!({"n": 3})]);
    assert_eq!(day2, vec![json!({"n": 2})]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn torn_last_line_is_cut_at_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = data_file(dir.path(), "wf", "24-08-2025");
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    fs::write(&path, "{\"n\":1}\n{\"n\":2}\n{\"n\":3,\"tor").expect("write");

    let (recorder, handle) = start(opts(dir.path(), FsyncPolicy::Always, 16)).expect("start");
    assert_eq!(
        fs::read_to_string(&path).expect("read"),
        "{\"n\":1}\n{\"n\":2}\n"
    );
    recorder.submit(line("wf", noon(), json!({"n": 4})));
    drop(recorder);
    assert!(handle.finish(FINISH).await);
    assert_eq!(
        fs::read_to_string(&path).expect("read"),
        "{\"n\":1}\n{\"n\":2}\n{\"n\":4}\n"
    );
}

#[test]
fn repair_torn_tail_cases() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("f.jsonl");

    fs::write(&p, "no newline at all").expect("write");
    assert_eq!(repair_torn_tail(&p).expect("repair"), Some(17));
    assert_eq!(fs::read(&p).expect("read"), b"");

    fs::write(&p, "{}\n{}\n").expect("write");
    assert_eq!(repair_torn_tail(&p).expect("repair"), None);
    assert_eq!(fs::read(&p).expect("read"), b"{}\n{}\n");

    fs::write(&p, "").expect("write");
    assert_eq!(repair_torn_tail(&p).expect("repair"), None);
    assert_eq!(fs::read(&p).expect("read"), b"");

    fs::write(&p, "{}\n{\"a\"").expect("write");
    assert_eq!(repair_torn_tail(&p).expect("repair"), Some(4));
    assert_eq!(fs::read(&p).expect("read"), b"{}\n");

    // A torn line longer than the backwards-reading chunk.
    let long = format!("{{}}\n{}", "x".repeat(200_000));
    fs::write(&p, &long).expect("write");
    assert_eq!(repair_torn_tail(&p).expect("repair"), Some(200_000));
    assert_eq!(fs::read(&p).expect("read"), b"{}\n");

    assert!(repair_torn_tail(&dir.path().join("missing")).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_overflow_is_counted_and_a_stalled_writer_recovers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (recorder, handle) = start(opts(dir.path(), FsyncPolicy::Interval, 4)).expect("start");
    let blocker = block_workflow(dir.path(), "wf");

    for n in 0..20 {
        recorder.submit(line("wf", noon(), json!({"n": n})));
    }
    wait_stats(&recorder, "writes to be failing", |s| s.failed_writes > 0).await;
    let s = stats(&recorder);
    assert!(s.dropped_full > 0, "{s:?}");
    assert_eq!(s.written, 0);

    fs::remove_file(&blocker).expect("unblock");
    let expected = 20 - s.dropped_full;
    wait_stats(&recorder, "queued records written after recovery", |s| {
        s.written == expected && s.queue_depth == 0
    })
    .await;
    drop(recorder);
    assert!(handle.finish(FINISH).await);
    let lines = read_lines(&data_file(dir.path(), "wf", "24-08-2025"));
    assert_eq!(lines.len() as u64, expected);
    let ns: Vec<i64> = lines.iter().map(|l| l["n"].as_i64().expect("n")).collect();
    assert!(ns.windows(2).all(|w| w[0] < w[1]), "order kept: {ns:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_file_does_not_hold_back_other_workflows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (recorder, handle) = start(opts(dir.path(), FsyncPolicy::Never, 64)).expect("start");
    // Stall the writer on "gate" so that "bad" and "good" queue up and form one batch.
    let gate = block_workflow(dir.path(), "gate");
    let bad = block_workflow(dir.path(), "bad");
    recorder.submit(line("gate", noon(), json!({"n": 1})));
    wait_stats(&recorder, "a failed write", |s| s.failed_writes > 0).await;
    recorder.submit(line("bad", noon(), json!({"n": 2})));
    recorder.submit(line("good", noon(), json!({"n": 3})));
    fs::remove_file(&gate).expect("unblock gate");

    // The batch half succeeds: "good" is written while "bad" keeps failing.
    wait_stats(&recorder, "2 records written", |s| s.written == 2).await;
    let failed = stats(&recorder).failed_writes;
    wait_stats(&recorder, "two more failed writes", |s| {
        s.failed_writes > failed + 1
    })
    .await;
    assert_eq!(stats(&recorder).written, 2);

    fs::remove_file(&bad).expect("unblock bad");
    wait_stats(&recorder, "3 records written", |s| s.written == 3).await;
    drop(recorder);
    assert!(handle.finish(FINISH).await);
    // Written exactly once each, although "good" shared a batch with a failing file.
    for wf in ["gate", "bad", "good"] {
        assert_eq!(
            read_lines(&data_file(dir.path(), wf, "24-08-2025")).len(),
            1,
            "{wf}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finish_gives_up_when_writes_keep_failing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (recorder, handle) = start(opts(dir.path(), FsyncPolicy::Interval, 16)).expect("start");
    block_workflow(dir.path(), "wf");
    for n in 0..3 {
        recorder.submit(line("wf", noon(), json!({"n": n})));
    }
    drop(recorder);
    let began = Instant::now();
    assert!(!handle.finish(Duration::from_millis(300)).await);
    assert!(began.elapsed() < FINISH, "gave up promptly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finish_times_out_while_a_recorder_is_alive_and_later_submits_count_as_closed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (recorder, handle) = start(opts(dir.path(), FsyncPolicy::Interval, 16)).expect("start");
    let survivor = recorder.clone();
    recorder.submit(line("wf", noon(), json!({"n": 1})));
    drop(recorder);
    assert!(!handle.finish(Duration::from_millis(200)).await);
    survivor.submit(line("wf", noon(), json!({"n": 2})));
    let s = survivor.stats();
    assert_eq!((s.written, s.dropped_closed), (1, 1), "{s:?}");
    assert_eq!(
        read_lines(&data_file(dir.path(), "wf", "24-08-2025")).len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fsync_policy_writes_correct_files() {
    for policy in [
        FsyncPolicy::Always,
        FsyncPolicy::Never,
        FsyncPolicy::Interval,
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let (recorder, handle) = start(opts(dir.path(), policy, 1024)).expect("start");
        for n in 0..100 {
            recorder.submit(line(
                "wf",
                noon(),
                json!({"n": n, "policy": format!("{policy:?}")}),
            ));
            if n % 10 == 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        drop(recorder);
        assert!(handle.finish(FINISH).await, "{policy:?}");
        let lines = read_lines(&data_file(dir.path(), "wf", "24-08-2025"));
        let ns: Vec<i64> = lines.iter().map(|l| l["n"].as_i64().expect("n")).collect();
        assert_eq!(ns, (0..100).collect::<Vec<_>>(), "{policy:?}");
    }
}

#[test]
fn start_outside_a_runtime_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert!(start(opts(dir.path(), FsyncPolicy::Never, 4)).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root: mounts a tmpfs (.ci/run runs it with --ignored)"]
async fn full_disk_leaves_no_partial_line_and_recovers_without_restart() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mnt = tmp.path().join("mnt");
    fs::create_dir(&mnt).expect("mkdir");
    let _mounted = Mounted::tmpfs(&mnt, "64k").expect("mount a tmpfs (needs root)");
    let data_dir = mnt.join("data");
    let (recorder, handle) = start(opts(&data_dir, FsyncPolicy::Always, 4)).expect("start");
    let path = data_file(&data_dir, "wf", "24-08-2025");

    recorder.submit(line("wf", noon(), json!({"n": 0})));
    wait_stats(&recorder, "1 record written", |s| s.written == 1).await;
    let first_len = fs::metadata(&path).expect("stat").len();

    let filler = mnt.join("filler");
    fill_disk(&filler);

    // Each record is bigger than a page, so it cannot fit in the file's last page.
    let pad = "p".repeat(4500);
    const SUBMITTED: u64 = 30;
    for n in 1..=SUBMITTED {
        recorder.submit(line("wf", noon(), json!({"n": n, "pad": pad})));
    }
    wait_stats(&recorder, "writes to fail on a full disk", |s| {
        s.failed_writes >= 2
    })
    .await;
    // Truncated back after each failed attempt: only the first complete line is there.
    assert_eq!(fs::metadata(&path).expect("stat").len(), first_len);
    assert_eq!(read_lines(&path).len(), 1);
    let s = stats(&recorder);
    assert!(s.dropped_full > 0, "{s:?}");
    assert_eq!(s.written, 1);

    fs::remove_file(&filler).expect("remove filler");
    let expected = 1 + SUBMITTED - s.dropped_full;
    wait_stats(
        &recorder,
        "queued records written once space is back",
        |s| s.written == expected && s.queue_depth == 0,
    )
    .await;
    drop(recorder);
    assert!(handle.finish(FINISH).await);

    let lines = read_lines(&path);
    assert_eq!(lines.len() as u64, expected);
    let ns: Vec<u64> = lines.iter().map(|l| l["n"].as_u64().expect("n")).collect();
    assert!(
        ns.windows(2).all(|w| w[0] < w[1]),
        "no duplicates, order kept: {ns:?}"
    );
}
