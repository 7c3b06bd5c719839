//! The sink end to end against `object_store`'s in-memory and local-folder stores (the
//! integration tests in tests/sink*.rs run it against SeaweedFS).

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use futures_util::StreamExt;
use object_store::memory::InMemory;
use object_store::ObjectStore;

use super::*;
use crate::layout::Compression;

fn args(segment_bytes: u64, compression: Compression) -> SinkArgs {
    SinkArgs {
        sink: None,
        instance_id: Some("test-1".into()),
        sink_segment_bytes: segment_bytes,
        sink_segment_seconds: 300,
        sink_compression: compression,
        sink_spool_bytes: 1 << 30,
        local_retention_days: None,
    }
}

fn memory() -> (Arc<InMemory>, target::Target) {
    let store = Arc::new(InMemory::new());
    let target = target::Target {
        store: store.clone(),
        prefix: "pre/fix".into(),
        display: "memory://".into(),
    };
    (store, target)
}

/// Every object below the store's root: (key, decompressed text), sorted by key.
async fn objects(store: &dyn ObjectStore) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut list = store.list(None);
    while let Some(meta) = list.next().await {
        let meta = meta.expect("list");
        let raw = store
            .get(&meta.location)
            .await
            .expect("get")
            .bytes()
            .await
            .expect("bytes");
        let key = meta.location.to_string();
        let mut text = String::new();
        if key.ends_with(".gz") {
            flate2::read::GzDecoder::new(&raw[..])
                .read_to_string(&mut text)
                .expect("gunzip");
        } else if key.ends_with(".zst") {
            zstd::stream::read::Decoder::new(&raw[..])
                .expect("zstd")
                .read_to_string(&mut text)
                .expect("unzstd");
        } else {
            text = String::from_utf8(raw.to_vec()).expect("utf-8");
        }
        out.push((key, text));
    }
    out.sort();
    out
}

async fn eventually<F: std::future::Future<Output = bool>>(mut check: impl FnMut() -> F) {
    for _ in 0..500 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("condition not met in 10 s");
}

fn at(s: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 8, 4, 10, 0, s)
        .single()
        .expect("time")
}

#[tokio::test]
async fn segments_are_sealed_named_uploaded_and_removed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, target) = memory();
    let sink = start_with_target(
        target,
        &args(12, Compression::Gzip),
        dir.path(),
        DataMode::default(),
    )
    .expect("start");
    let spool = sink.spool();
    let date = at(0).date_naive();
    spool.append(SegmentKind::Records, "wf", date, at(1), b"{\"n\":1}\n", 1);
    spool.append(SegmentKind::Records, "wf", date, at(2), b"{\"n\":2}\n", 1);
    spool.append(
        SegmentKind::Records,
        "other",
        date,
        at(3),
        b"{\"n\":3}\n",
        1,
    );
    eventually(|| async { objects(store.as_ref()).await.len() == 1 }).await;
    let report = sink
        .stop(tokio::time::Instant::now() + Duration::from_secs(10))
        .await;
    assert_eq!(
        report,
        SinkStopReport {
            uploaded_all: true,
            left_bytes: 0
        }
    );
    let got = objects(store.as_ref()).await;
    assert_eq!(
        got,
        vec![
            (
                "pre/fix/workflow=other/date=2025-08-04/test-1-20250804T100003Z-000001.jsonl.gz"
                    .to_string(),
                "{\"n\":3}\n".to_string()
            ),
            (
                "pre/fix/workflow=wf/date=2025-08-04/test-1-20250804T100001Z-000000.jsonl.gz"
                    .to_string(),
                "{\"n\":1}\n{\"n\":2}\n".to_string()
            ),
        ]
    );
    let spool_dir = layout::spool_dir(dir.path());
    let left: Vec<_> = walk(&spool_dir.join(layout::SPOOL_SEALED))
        .into_iter()
        .chain(walk(&spool_dir.join(layout::SPOOL_OPEN)))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.path().is_dir() {
                out.extend(walk(&e.path()));
            } else {
                out.push(e.path());
            }
        }
    }
    out
}

#[tokio::test]
async fn leftovers_of_a_crash_are_repaired_sealed_and_uploaded_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = layout::spool_dir(dir.path());
    let key = layout::SegmentKey {
        workflow: "wf".into(),
        date: at(0).date_naive(),
        instance: "test-1".into(),
        first_record: at(5),
        seq: 4,
        compression: Compression::None,
        kind: SegmentKind::Records,
    };
    // An open segment with a torn last line, and the sealed copy of another one whose open
    // file was not yet removed (a crash between the seal's rename and the removal).
    let open = root
        .join(layout::SPOOL_OPEN)
        .join(layout::segment_key(&key));
    std::fs::create_dir_all(open.parent().expect("parent")).expect("mkdir");
    std::fs::write(&open, "{\"n\":1}\n{\"n\":2").expect("write");
    let done = layout::SegmentKey {
        seq: 5,
        ..key.clone()
    };
    let done_open = root
        .join(layout::SPOOL_OPEN)
        .join(layout::segment_key(&done));
    std::fs::write(&done_open, "{\"n\":3}\n").expect("write");
    let sealed = seal::seal(
        &staged::Ready {
            path: done_open.clone(),
            key: done.clone(),
        },
        &root.join(layout::SPOOL_SEALED),
        Compression::Zstd,
        DataMode::default(),
    )
    .expect("seal");
    std::fs::write(&done_open, "{\"n\":3}\n").expect("the open file is back");
    let stray = sealed.0.path.with_file_name("x.jsonl.gz.tmp");
    std::fs::write(&stray, "half a seal").expect("write");
    let (store, target) = memory();
    let sink = start_with_target(
        target,
        &args(1 << 20, Compression::Gzip),
        dir.path(),
        DataMode::default(),
    )
    .expect("start");
    eventually(|| async { objects(store.as_ref()).await.len() == 2 }).await;
    let got = objects(store.as_ref()).await;
    assert_eq!(got[0].1, "{\"n\":1}\n", "torn line cut");
    assert!(got[0]
        .0
        .ends_with("test-1-20250804T100005Z-000004.jsonl.gz"));
    assert_eq!(got[1].1, "{\"n\":3}\n");
    assert!(got[1].0.ends_with(&layout::segment_key(&sealed.0.key)));
    assert!(!done_open.exists());
    assert!(!stray.exists());
    // New segments continue after the highest number found.
    sink.spool().append(
        SegmentKind::Records,
        "wf",
        at(0).date_naive(),
        at(9),
        b"{\"n\":4}\n",
        1,
    );
    let report = sink
        .stop(tokio::time::Instant::now() + Duration::from_secs(10))
        .await;
    assert!(report.uploaded_all);
    let got = objects(store.as_ref()).await;
    assert_eq!(got.len(), 3);
    assert!(got[2].0.ends_with("-000006.jsonl.gz"), "{}", got[2].0);
}

#[tokio::test]
async fn a_failing_store_is_retried_until_it_takes_the_segment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bucket = tempfile::tempdir().expect("bucket");
    // A file where the workflow's partition folder must go: every PUT fails until it is gone.
    let blocker = bucket.path().join("workflow=wf");
    std::fs::write(&blocker, "in the way").expect("write");
    let url = format!("file://{}", bucket.path().display());
    let mut a = args(1, Compression::None);
    a.sink = Some(url);
    let sink = start(&a, dir.path(), DataMode::default())
        .expect("start")
        .expect("on");
    let spool = sink.spool();
    spool.append(
        SegmentKind::Records,
        "wf",
        at(0).date_naive(),
        at(1),
        b"{\"n\":1}\n",
        1,
    );
    let sealed = layout::spool_dir(dir.path()).join(layout::SPOOL_SEALED);
    eventually(|| async { walk(&sealed).len() == 1 }).await;
    assert!(spool.bytes() > 0);
    std::fs::remove_file(&blocker).expect("unblock");
    eventually(|| async { walk(&sealed).is_empty() && spool.bytes() == 0 }).await;
    let uploaded = walk(bucket.path());
    assert_eq!(uploaded.len(), 1);
    assert_eq!(
        std::fs::read_to_string(&uploaded[0]).expect("read"),
        "{\"n\":1}\n"
    );
    assert!(
        sink.stop(tokio::time::Instant::now() + Duration::from_secs(5))
            .await
            .uploaded_all
    );
}

#[tokio::test]
async fn a_full_spool_refuses_counts_and_marks_the_day() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_store, target) = memory();
    let mut a = args(1 << 20, Compression::Gzip);
    a.sink_spool_bytes = 10;
    let sink = start_with_target(target, &a, dir.path(), DataMode::default()).expect("start");
    let spool = sink.spool();
    let date = at(0).date_naive();
    spool.append(SegmentKind::Records, "wf", date, at(1), b"{\"n\":1}\n", 1);
    spool.append(SegmentKind::Records, "wf", date, at(2), b"{\"n\":2}\n", 1);
    assert_eq!(spool.not_spooled(), 1);
    let root = layout::spool_dir(dir.path());
    assert!(layout::spool_unspooled_marker(&root, "wf", date).is_file());
    assert!(layout::spool_day_marker(&root, "wf", date).is_file());
    sink.stop(tokio::time::Instant::now() + Duration::from_secs(5))
        .await;
}

#[tokio::test]
async fn a_spent_budget_leaves_the_segments_in_the_spool() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bucket = tempfile::tempdir().expect("bucket");
    std::fs::write(bucket.path().join("workflow=wf"), "in the way").expect("write");
    let mut a = args(1 << 20, Compression::Gzip);
    a.sink = Some(format!("file://{}", bucket.path().display()));
    let sink = start(&a, dir.path(), DataMode::default())
        .expect("start")
        .expect("on");
    sink.spool().append(
        SegmentKind::Records,
        "wf",
        at(0).date_naive(),
        at(1),
        b"{\"n\":1}\n",
        1,
    );
    let report = sink
        .stop(tokio::time::Instant::now() + Duration::from_millis(300))
        .await;
    assert!(!report.uploaded_all);
    assert!(report.left_bytes > 0);
}

#[test]
fn instance_ids() {
    assert_eq!(instance_id(Some("pod-7.a_b")).expect("ok"), "pod-7.a_b");
    for bad in ["", "a/b", "a b", "é"] {
        assert!(instance_id(Some(bad)).is_err(), "{bad:?}");
    }
    assert!(instance_id(Some(&"a".repeat(129))).is_err());
    assert!(!instance_id(None).expect("the hostname").is_empty());
}

#[tokio::test]
async fn the_recorder_feeds_the_spool_after_each_local_write() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, target) = memory();
    let sink = start_with_target(
        target,
        &args(1 << 20, Compression::None),
        dir.path(),
        DataMode::default(),
    )
    .expect("start");
    let (recorder, handle) = crate::recorder::start_with_sink(
        crate::recorder::RecorderOptions {
            data_dir: dir.path().to_path_buf(),
            fsync: crate::recorder::FsyncPolicy::Never,
            queue_records: 1000,
            mode: Default::default(),
        },
        Some(sink.spool()),
    )
    .expect("recorder");
    let label = r#"{"request_id":"r1","choice":0,"label":"good"}"#;
    assert!(recorder.submit_label(crate::recorder::RecordLine {
        workflow_id: "wf".into(),
        // A label of a record of the next day (a label goes to its record's day).
        timestamp: at(0) + chrono::Duration::days(1),
        json: label.into(),
    }));
    let mut expected = String::new();
    for n in 0..500 {
        let json = format!("{{\"n\":{n}}}");
        expected.push_str(&json);
        expected.push('\n');
        recorder.submit(crate::recorder::RecordLine {
            workflow_id: "wf".into(),
            timestamp: at(1),
            json,
        });
    }
    drop(recorder);
    assert!(handle.finish(Duration::from_secs(10)).await);
    let report = sink
        .stop(tokio::time::Instant::now() + Duration::from_secs(10))
        .await;
    assert!(report.uploaded_all);
    let local =
        std::fs::read_to_string(layout::record_path(dir.path(), "wf", at(1))).expect("local file");
    assert_eq!(local, expected);
    let got = objects(store.as_ref()).await;
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got[0]
        .0
        .starts_with("pre/fix/_labels/workflow=wf/date=2025-08-05/test-1-"));
    assert_eq!(
        got[0].1,
        format!("{label}\n"),
        "the labels.jsonl line, unchanged"
    );
    assert!(got[1]
        .0
        .starts_with("pre/fix/workflow=wf/date=2025-08-04/test-1-"));
    assert_eq!(got[1].1, expected);
    // A label marks no day as shipped (only records do): one marker, the records' day.
    let days = layout::spool_dir(dir.path()).join(layout::SPOOL_DAYS);
    assert!(
        layout::spool_day_marker(&layout::spool_dir(dir.path()), "wf", at(0).date_naive())
            .is_file()
    );
    assert_eq!(walk(&days).len(), 1);
}
