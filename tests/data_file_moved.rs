//! The real binary under load while today's data file is deleted, replaced, or its day folder
//! removed: every answered request's record ends up in the file at its path (none goes into
//! an unlinked file the recorder still holds open), and the recorder says it reopened the file.
//! A day folder replaced by a file holds the records (write failures, retried) until the path
//! can take them; `micromodel_records_written_total` never counts a line that is not on disk.

mod common;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::upstream::openai_like;
use common::{client, free_port, FakeUpstream, Proxy};
use serde_json::{json, Value};

/// Requests sent in all, how many at once, and after how many answers the file is touched.
const TOTAL: usize = 600;
const CONCURRENCY: usize = 32;
const TOUCH_AFTER: usize = 150;

/// One answered request: its number and whether it was sent after the file was touched.
type Answered = (usize, bool);

/// Runs the load; once `TOUCH_AFTER` requests were answered (with many more in flight), runs
/// `touch` and flags every later request. Returns the requests answered with a 2xx.
async fn load_while(port: u16, touch: impl FnOnce() + Send + 'static) -> Vec<Answered> {
    let next = Arc::new(AtomicUsize::new(0));
    let answered = Arc::new(AtomicUsize::new(0));
    let touched = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(Mutex::new(Vec::new()));
    let http = client();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..CONCURRENCY {
        let (next, answered, touched, ok, http) = (
            Arc::clone(&next),
            Arc::clone(&answered),
            Arc::clone(&touched),
            Arc::clone(&ok),
            http.clone(),
        );
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= TOTAL {
                    return;
                }
                let after = touched.load(Ordering::SeqCst);
                let response = http
                    .post(format!("{}/v1/chat/completions", Proxy::url(port)))
                    .json(&json!({"model":"m","messages":[{"role":"user","content":format!("req {i}")}]}))
                    .send()
                    .await;
                if response.is_ok_and(|r| r.status().is_success()) {
                    ok.lock().expect("lock").push((i, after));
                }
                answered.fetch_add(1, Ordering::SeqCst);
            }
        });
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while answered.load(Ordering::SeqCst) < TOUCH_AFTER {
        assert!(Instant::now() < deadline, "the load never got going");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::task::spawn_blocking(touch).await.expect("touch");
    touched.store(true, Ordering::SeqCst);
    while let Some(result) = tasks.join_next().await {
        result.expect("request task");
    }
    let answered = ok.lock().expect("lock").clone();
    answered
}

/// Request numbers of the record lines of one file, in order, plus how many other lines.
fn request_numbers(path: &Path) -> (Vec<usize>, usize) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut numbers = Vec::new();
    let mut others = 0;
    for line in text.lines() {
        let record: Value = serde_json::from_str(line).expect("a complete JSON line");
        match record["messages"][0]["content"]
            .as_str()
            .and_then(|c| c.strip_prefix("req "))
        {
            Some(n) => numbers.push(n.parse().expect("number")),
            None => others += 1,
        }
    }
    (numbers, others)
}

struct Run {
    proxy: Proxy,
    path: PathBuf,
    backup: PathBuf,
    answered: Vec<Answered>,
}

/// Starts the proxy, runs the load and `touch(path, backup)` in the middle, stops (exit 0:
/// nothing lost), and checks that every answered request is recorded exactly once: in the
/// file at the path when it was sent after the touch, there or in `backup` (a hard link to
/// the old file made by `touch`) otherwise.
async fn run(touch: fn(&Path, &Path)) -> Run {
    let upstream = FakeUpstream::start(openai_like);
    let port = free_port();
    let mut proxy = Proxy::start(
        &json!({"w": {"OPENAI_API_HOST": upstream.url, "PORT": port}}),
        &[],
    );
    let path = proxy
        .data_dir
        .join("w")
        .join(chrono::Utc::now().format("%d-%m-%Y").to_string())
        .join("data.jsonl");
    let backup = proxy.dir.path().join("old-data.jsonl");
    let (p, b) = (path.clone(), backup.clone());
    let answered = load_while(port, move || {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !p.exists() {
            assert!(Instant::now() < deadline, "no data file yet");
            std::thread::sleep(Duration::from_millis(5));
        }
        touch(&p, &b);
    })
    .await;
    let status = proxy.stop();
    assert_eq!(status.code(), Some(0), "nothing lost:\n{}", proxy.logs());
    assert!(answered.len() > TOUCH_AFTER, "most requests succeed");

    let (at_path, _) = request_numbers(&path);
    let (in_backup, _) = request_numbers(&backup);
    let mut seen: HashMap<usize, usize> = HashMap::new();
    for n in &at_path {
        *seen.entry(*n).or_default() += 1;
    }
    assert!(
        seen.values().all(|&c| c == 1),
        "no record twice in the file"
    );
    let at_path: HashSet<usize> = at_path.into_iter().collect();
    let in_backup: HashSet<usize> = in_backup.into_iter().collect();
    let sent_after: Vec<usize> = answered.iter().filter(|a| a.1).map(|a| a.0).collect();
    assert!(!sent_after.is_empty(), "requests were sent after the touch");
    let missing: Vec<usize> = sent_after
        .iter()
        .copied()
        .filter(|n| !at_path.contains(n))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} answered after the touch are not in the file at its path: {missing:?}\n{}",
        missing.len(),
        sent_after.len(),
        proxy.logs()
    );
    let after_in_file = at_path.iter().filter(|n| sent_after.contains(n)).count();
    assert_eq!(
        after_in_file,
        sent_after.len(),
        "count of lines == count of 2xx"
    );
    for (n, _) in &answered {
        assert!(
            at_path.contains(n) || in_backup.contains(n),
            "answered request {n} recorded nowhere"
        );
    }
    assert!(
        proxy
            .logs()
            .contains("data file is no longer the file at its path"),
        "the reopen is logged:\n{}",
        proxy.logs()
    );
    Run {
        proxy,
        path,
        backup,
        answered,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_data_file_under_load_loses_nothing() {
    run(|path, backup| {
        std::fs::hard_link(path, backup).expect("keep the old file for the check");
        std::fs::remove_file(path).expect("rm data.jsonl");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_day_folder_under_load_loses_nothing() {
    run(|path, backup| {
        std::fs::hard_link(path, backup).expect("keep the old file for the check");
        std::fs::remove_dir_all(path.parent().expect("day folder")).expect("rm day folder");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replacing_the_data_file_under_load_loses_nothing() {
    let done = run(|path, backup| {
        std::fs::hard_link(path, backup).expect("keep the old file for the check");
        let fresh = path.with_extension("new");
        std::fs::write(&fresh, "{\"marker\":\"replacement\"}\n").expect("write new file");
        std::fs::rename(&fresh, path).expect("rename over data.jsonl");
    })
    .await;
    let text = std::fs::read_to_string(&done.path).expect("read");
    assert!(
        text.starts_with("{\"marker\":\"replacement\"}\n"),
        "the replacement file is appended to, not replaced back"
    );
    let (_, others) = request_numbers(&done.path);
    assert_eq!(others, 1);
    assert!(done.backup.exists() && !done.answered.is_empty());
    drop(done.proxy);
}

/// The sum of `micromodel_records_written_total` over its labels, from the admin listener.
async fn written_total(admin: u16) -> u64 {
    let text = client()
        .get(format!("{}/metrics", Proxy::url(admin)))
        .send()
        .await
        .expect("scrape")
        .text()
        .await
        .expect("metrics text");
    text.lines()
        .filter(|l| l.starts_with("micromodel_records_written_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// Today's day folder replaced by a *file* under load: the path cannot hold a data file, so
/// nothing is counted as written (the metric equals the lines reachable on disk) and the
/// records wait, retried; once the file is gone they are written at the path, and the stop
/// loses nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_folder_replaced_by_a_file_under_load_holds_the_records_until_it_can_write() {
    let upstream = FakeUpstream::start(openai_like);
    let (port, admin) = (free_port(), free_port());
    let admin_addr = format!("127.0.0.1:{admin}");
    let mut proxy = Proxy::start(
        &json!({"w": {"OPENAI_API_HOST": upstream.url, "PORT": port}}),
        &["--admin-addr", &admin_addr],
    );
    let day = proxy
        .data_dir
        .join("w")
        .join(chrono::Utc::now().format("%d-%m-%Y").to_string());
    let path = day.join("data.jsonl");
    let backup = proxy.dir.path().join("old-data.jsonl");
    let (p, b) = (path.clone(), backup.clone());
    let answered = load_while(port, move || {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !p.exists() {
            assert!(Instant::now() < deadline, "no data file yet");
            std::thread::sleep(Duration::from_millis(5));
        }
        std::fs::hard_link(&p, &b).expect("keep the old file for the check");
        let day = p.parent().expect("day folder");
        std::fs::remove_dir_all(day).expect("rm day folder");
        std::fs::write(day, "a file where the day folder was").expect("block the day path");
    })
    .await;
    assert!(answered.len() > TOUCH_AFTER, "requests keep succeeding");
    proxy.wait_log("recorder write failed", 1);
    assert!(
        proxy
            .logs()
            .contains("data file is no longer the file at its path"),
        "{}",
        proxy.logs()
    );
    // Blocked: every line counted as written is in the old file (the hard link), none is
    // counted for the path, and the answers after the block are not on disk anywhere.
    let (before, _) = request_numbers(&backup);
    assert!(day.is_file() && !path.exists());
    // (At most: a batch written into the old file in the instant of the removal is not
    // counted — it goes again to the path — yet it is in the hard link too.)
    let counted = written_total(admin).await;
    assert!(
        counted <= before.len() as u64 && counted > 0,
        "counted {counted}, reachable {}\n{}",
        before.len(),
        proxy.logs()
    );
    assert!(before.len() < answered.len(), "records are waiting");

    // Unblocked: the waiting records are written at the path.
    std::fs::remove_file(&day).expect("unblock");
    let all: HashSet<usize> = answered.iter().map(|a| a.0).collect();
    let reachable = || {
        let mut seen: HashSet<usize> = request_numbers(&backup).0.into_iter().collect();
        seen.extend(request_numbers(&path).0);
        seen
    };
    common::eventually(Duration::from_secs(15), "every record at the path", || {
        let seen = reachable();
        common::check(all.is_subset(&seen), || {
            format!("{} of {}", seen.len(), all.len())
        })
    });
    let (at_path, _) = request_numbers(&path);
    assert_eq!(
        at_path.len(),
        at_path.iter().collect::<HashSet<_>>().len(),
        "no record twice in the file"
    );
    assert_eq!(
        written_total(admin).await,
        reachable().len() as u64,
        "written_total == the distinct lines in the data files (at the path + the old file)"
    );
    let status = proxy.stop();
    assert_eq!(status.code(), Some(0), "nothing lost:\n{}", proxy.logs());
}
