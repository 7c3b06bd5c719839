//! Labels through the object-storage sink against a real S3 store (SeaweedFS): label lines
//! (`POST /feedback`, `POST /api/labels`) are shipped as segments of their own below
//! `<prefix>/_labels/`, `export --data-dir s3://... --label good` and `stats` read them, a
//! label written by another instance is found for a record this one shipped, and the spool's
//! files and folders get `--data-mode`.

mod common;
mod sink_support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use common::upstream::{chat_completion, json_response};
use common::{client, eventually, free_port, FakeUpstream, Proxy};
use serde_json::{json, Value};
use sink_support::{chat, objects, prompts, Seaweed};

const WAIT: Duration = Duration::from_secs(60);

/// An upstream answering chat with a new id each time: `chatcmpl-1`, `chatcmpl-2`, ...
fn numbered_upstream() -> FakeUpstream {
    let count = Arc::new(AtomicU64::new(0));
    FakeUpstream::start(move |_seen| {
        let n = count.fetch_add(1, Ordering::SeqCst) + 1;
        async move {
            let mut answer = chat_completion("Hi");
            answer["id"] = json!(format!("chatcmpl-{n}"));
            json_response(StatusCode::OK, &answer)
        }
    })
}

/// Starts workflow `w` on `port` with `--sink` below `prefix` (and its upstream).
fn start(
    store: &Seaweed,
    prefix: &str,
    data: &Path,
    port: u16,
    extra: &[&str],
) -> (Proxy, FakeUpstream) {
    let upstream = numbered_upstream();
    let config = json!({"w": {"OPENAI_API_HOST": upstream.url, "PORT": port}});
    let sink = store.url_for(prefix);
    let mut args = vec!["--sink", sink.as_str(), "--sink-segment-seconds", "1"];
    args.extend_from_slice(extra);
    let env = store.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let proxy = Proxy::start_in(dir, data.to_path_buf(), &config, &args, &env);
    (proxy, upstream)
}

/// Posts a label to `url`; must be accepted.
async fn label(url: &str, request_id: &str, value: &str) {
    let response = client()
        .post(url)
        .json(&json!({"request_id": request_id, "label": value}))
        .send()
        .await
        .expect("send");
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    assert_eq!(status, 200, "{url} {request_id} {value}: {text}");
}

/// Waits until the bucket below `prefix` holds `records` record lines and `labels` label lines;
/// returns every object (key → lines).
fn wait_bucket(
    store: &Seaweed,
    prefix: &str,
    records: usize,
    labels: usize,
) -> std::collections::BTreeMap<String, Vec<String>> {
    eventually(WAIT, "records and labels in the bucket", || {
        let all = objects(store, prefix);
        let count = |labels: bool| -> usize {
            all.iter()
                .filter(|(k, _)| k.starts_with("_labels/") == labels)
                .map(|(_, v)| v.len())
                .sum()
        };
        let got = (count(false), count(true));
        if got == (records, labels) {
            Ok(all)
        } else {
            Err(format!(
                "(records, labels) = {got:?}, keys {:?}",
                all.keys()
            ))
        }
    })
}

/// Runs a data tool on `dirs` with the store's environment; stdout (it must succeed).
fn tool(store: &Seaweed, name: &str, dirs: &[String], args: &[&str]) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_micromodel"));
    command.arg(name);
    for dir in dirs {
        command.arg("--data-dir").arg(dir);
    }
    let out = command
        .args(args)
        .env_remove("MICROMODEL_DATA_DIR")
        .envs(store.env())
        .output()
        .expect("run micromodel");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{name} {dirs:?} {args:?}: {stderr}");
    String::from_utf8(out.stdout).expect("utf-8")
}

/// The process umask (the kernel takes these bits away from every created mode).
fn umask() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").expect("status");
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix("Umask:"))
        .expect("Umask line");
    u32::from_str_radix(line.trim(), 8).expect("octal umask")
}

fn bits(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn labels_are_shipped_and_export_and_stats_read_them_from_the_bucket() {
    let Some(store) = Seaweed::start("labels") else {
        return;
    };
    let (port, admin) = (free_port(), free_port());
    let admin_addr = format!("127.0.0.1:{admin}");
    let data = tempfile::tempdir().expect("tempdir");
    let extra = [
        "--instance-id",
        "inst-a",
        "--admin-addr",
        admin_addr.as_str(),
    ];
    let (mut proxy, _upstream) = start(&store, "shipped", data.path(), port, &extra);
    let mut ids = Vec::new();
    for n in 1..=4 {
        ids.push(chat(port, &format!("q{n}")).await);
    }
    let feedback = format!("{}/feedback", Proxy::url(port));
    let api = format!("http://{admin_addr}/api/labels");
    label(&feedback, &ids[0], "good").await;
    label(&api, &ids[1], "good").await;
    label(&feedback, &ids[2], "good").await;
    // The last label wins: q3 ends up bad.
    label(&api, &ids[2], "bad").await;

    let all = wait_bucket(&store, "shipped", 4, 4);
    // The spool's folders and files have --data-mode's default (0640 files, 0750 folders),
    // records' and labels' alike.
    let spool = data.path().join("@spool");
    let (file_mode, dir_mode) = (0o640 & !umask(), 0o750 & !umask());
    for dir in [
        spool.clone(),
        spool.join("open/workflow=w"),
        spool.join("open/_labels/workflow=w"),
        spool.join("sealed/workflow=w"),
        spool.join("sealed/_labels/workflow=w"),
        spool.join("days/w"),
    ] {
        assert_eq!(bits(&dir), dir_mode, "{}", dir.display());
    }
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    for file in [spool.join("days/w").join(&today), spool.join("next-seq")] {
        assert_eq!(bits(&file), file_mode, "{}", file.display());
    }

    for (key, lines) in &all {
        let parts: Vec<&str> = key.split('/').collect();
        // The hive glob `workflow=*/date=*/*` of DuckDB and Spark.
        let globbed =
            parts.len() == 3 && parts[0].starts_with("workflow=") && parts[1].starts_with("date=");
        if key.starts_with("_labels/") {
            assert!(!globbed, "{key}");
            assert_eq!(parts.len(), 4, "{key}");
            assert_eq!(parts[1..3], ["workflow=w", &format!("date={today}")]);
            assert!(parts[3].starts_with("inst-a-") && parts[3].ends_with(".jsonl.gz"));
            for line in lines {
                let v: Value = serde_json::from_str(line).expect("a label line");
                assert!(
                    v["request_id"].is_string() && v["label"].is_string(),
                    "{line}"
                );
            }
        } else {
            assert!(globbed, "{key}");
            assert!(lines.iter().all(|l| l.contains("\"messages\"")), "{key}");
        }
    }
    assert!(proxy.stop().success());

    let bucket = vec![store.url_for("shipped")];
    let good = tool(&store, "export", &bucket, &["--label", "good"]);
    assert_eq!(prompts(&good), ["q1", "q2"]);
    let bad = tool(&store, "export", &bucket, &["--label", "bad"]);
    assert_eq!(prompts(&bad), ["q3"]);
    let not_bad = tool(&store, "export", &bucket, &["--exclude-label", "bad"]);
    assert_eq!(prompts(&not_bad), ["q1", "q2", "q4"]);
    let stats: Value =
        serde_json::from_str(&tool(&store, "stats", &bucket, &["--json"])).expect("stats JSON");
    let total = &stats["total"];
    assert_eq!(
        (
            &total["labelled_good"],
            &total["labelled_bad"],
            &total["unlabelled"]
        ),
        (&json!(2), &json!(1), &json!(1)),
        "{stats}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_label_written_by_another_instance_is_found_for_a_shipped_record() {
    let Some(store) = Seaweed::start("fleet") else {
        return;
    };
    let data_a = tempfile::tempdir().expect("tempdir");
    let port_a = free_port();
    let (mut a, _upstream_a) = start(
        &store,
        "fleet",
        data_a.path(),
        port_a,
        &["--instance-id", "mm-a"],
    );
    chat(port_a, "from a 1").await;
    let second = chat(port_a, "from a 2").await;
    wait_bucket(&store, "fleet", 2, 0);
    assert!(a.stop().success());

    // Replica B knows the record (its folder holds a copy of A's day file, which B's recorder
    // did not write and so does not ship) and labels it through its admin API.
    let data_b = tempfile::tempdir().expect("tempdir");
    let day = std::fs::read_dir(data_a.path().join("w"))
        .expect("A's workflow folder")
        .flatten()
        .next()
        .expect("A's day folder")
        .file_name();
    let copy = data_b.path().join("w").join(&day);
    std::fs::create_dir_all(&copy).expect("mkdir");
    std::fs::copy(
        data_a.path().join("w").join(&day).join("data.jsonl"),
        copy.join("data.jsonl"),
    )
    .expect("copy A's records");
    let (port_b, admin) = (free_port(), free_port());
    let admin_addr = format!("127.0.0.1:{admin}");
    let extra = ["--instance-id", "mm-b", "--admin-addr", admin_addr.as_str()];
    let (mut b, _upstream_b) = start(&store, "fleet", data_b.path(), port_b, &extra);
    label(&format!("http://{admin_addr}/api/labels"), &second, "good").await;
    let all = wait_bucket(&store, "fleet", 2, 1);
    let label_keys: Vec<&String> = all.keys().filter(|k| k.starts_with("_labels/")).collect();
    assert!(label_keys[0].contains("/mm-b-"), "{label_keys:?}");
    assert!(all
        .keys()
        .filter(|k| !k.starts_with("_labels/"))
        .all(|k| k.contains("/mm-a-")));
    assert!(b.stop().success());

    // Both replicas gone: the bucket alone answers.
    drop((data_a, data_b));
    let bucket = vec![store.url_for("fleet")];
    let good = tool(&store, "export", &bucket, &["--label", "good"]);
    assert_eq!(prompts(&good), ["from a 2"]);
    let unlabelled = tool(&store, "export", &bucket, &["--label", "none"]);
    assert_eq!(prompts(&unlabelled), ["from a 1"]);
    let stats: Value =
        serde_json::from_str(&tool(&store, "stats", &bucket, &["--json"])).expect("stats JSON");
    assert_eq!(stats["total"]["labelled_good"], 1, "{stats}");
    assert_eq!(stats["total"]["unlabelled"], 1, "{stats}");
}
