//! Exports and stats by judgement (docs/labels.md), through the real binary: `--label`,
//! `--exclude-label`, `--tag`, labels joined across `--data-dir`s, `stats` label counts, and a
//! label given by `POST /feedback` reaching `export --label good`.

mod common;

use std::path::Path;
use std::process::Command;

use common::upstream::openai_like;
use common::{client, free_port, one_workflow, FakeUpstream, Proxy};
use serde_json::{json, Value};

const DAY: &str = "01-01-2025";

fn record(id: &str, answer: &str) -> String {
    json!({
        "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": answer}],
        "timestamp": "2025-01-01T10:00:00.000Z", "endpoint": "/v1/chat/completions",
        "model": "m", "workflow_id": "w", "finish_reason": "stop", "stream": false,
        "latency_ms": 1, "request_id": id,
    })
    .to_string()
}

fn label(ts: &str, id: &str, choice: u32, label: &str, tags: &[&str]) -> String {
    json!({"timestamp": ts, "request_id": id, "choice": choice, "label": label,
           "tags": tags, "source": "api"})
    .to_string()
}

fn write(dir: &Path, file: &str, lines: &[String]) {
    let folder = dir.join("w").join(DAY);
    std::fs::create_dir_all(&folder).expect("mkdir");
    std::fs::write(folder.join(file), lines.join("\n") + "\n").expect("write");
}

fn micromodel(args: &[&str], dirs: &[&Path]) -> (String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_micromodel"));
    command.args(args);
    for dir in dirs {
        command.arg("--data-dir").arg(dir);
    }
    let out = command.output().expect("run micromodel");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{args:?}: {stderr}");
    (String::from_utf8(out.stdout).expect("utf8"), stderr)
}

/// The assistant answers of an export, in order.
fn answers(args: &[&str], dirs: &[&Path]) -> Vec<String> {
    let mut full = vec!["export", "--format", "chatml"];
    full.extend(args);
    micromodel(&full, dirs)
        .0
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("json line");
            v["messages"][1]["content"]
                .as_str()
                .expect("answer")
                .to_owned()
        })
        .collect()
}

#[test]
fn export_and_stats_by_last_label_across_data_dirs() {
    let one = tempfile::tempdir().expect("tempdir");
    let two = tempfile::tempdir().expect("tempdir");
    // r1 has two choices; r4 is never labelled.
    write(
        one.path(),
        "data.jsonl",
        &[
            record("r1", "r1 choice 0"),
            record("r1", "r1 choice 1"),
            record("r2", "r2"),
            record("r3", "r3"),
            record("r4", "r4"),
        ],
    );
    write(
        one.path(),
        "labels.jsonl",
        &[
            label("2026-01-01T10:00:00.000Z", "r1", 0, "bad", &[]),
            label("2026-01-01T10:00:00.000Z", "r1", 1, "good", &["tone"]),
            label("2026-01-01T10:00:00.000Z", "r2", 0, "good", &[]),
            label("2026-01-01T11:00:00.000Z", "r2", 0, "none", &[]),
            "torn {".to_owned(),
        ],
    );
    // The other replica's folder: r1 choice 0 relabelled later, r3 labelled bad.
    write(
        two.path(),
        "labels.jsonl",
        &[
            label("2026-01-01T12:00:00.000Z", "r1", 0, "good", &["short"]),
            label("2026-01-01T09:00:00.000Z", "r1", 1, "bad", &[]),
            label("2026-01-01T10:00:00.000Z", "r3", 0, "bad", &["tone"]),
        ],
    );
    let dirs = [one.path(), two.path()];
    assert_eq!(
        answers(&["--label", "good"], &dirs),
        ["r1 choice 0", "r1 choice 1"],
        "the latest label wins, across folders"
    );
    assert_eq!(answers(&["--label", "bad"], &dirs), ["r3"]);
    assert_eq!(
        answers(&["--label", "none"], &dirs),
        ["r2", "r4"],
        "`none` un-labels"
    );
    assert_eq!(
        answers(&["--exclude-label", "bad"], &dirs),
        ["r1 choice 0", "r1 choice 1", "r2", "r4"]
    );
    assert_eq!(answers(&["--tag", "tone"], &dirs), ["r1 choice 1", "r3"]);
    assert_eq!(
        answers(&["--tag", "tone", "--tag", "short"], &dirs),
        ["r1 choice 0", "r1 choice 1", "r3"]
    );
    assert_eq!(
        answers(&["--label", "good", "--tag", "short"], &dirs),
        ["r1 choice 0"]
    );
    // Without the second folder, r1 choice 0 is still bad there.
    assert_eq!(answers(&["--label", "good"], &dirs[..1]), ["r1 choice 1"]);
    let (_, summary) = micromodel(&["export", "--label", "good"], &dirs);
    assert!(summary.contains("label: 3"), "{summary}");

    let (json_out, _) = micromodel(&["stats", "--json"], &dirs);
    let stats: Value = serde_json::from_str(&json_out).expect("stats json");
    let day = &stats["days"][0];
    assert_eq!(day["labelled_good"], 2);
    assert_eq!(day["labelled_bad"], 1);
    assert_eq!(day["unlabelled"], 2);
    let (text, _) = micromodel(&["stats"], &dirs);
    assert!(
        text.contains("labels: good 2, bad 1, unlabelled 2"),
        "{text}"
    );
    let (_, report) = micromodel(&["validate"], &dirs);
    assert!(
        !report.contains("labels.jsonl"),
        "labels files are not data files: {report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feedback_reaches_export_label_good() {
    let upstream = FakeUpstream::start(openai_like);
    let port = free_port();
    let mut proxy = Proxy::start(&one_workflow("w", &upstream.url, port, ""), &[]);
    let response = client()
        .post(format!("{}/v1/chat/completions", Proxy::url(port)))
        .json(&json!({"model": "m", "messages": [{"role": "user", "content": "hello"}]}))
        .send()
        .await
        .expect("send");
    let id = response.headers()["x-micromodel-request-id"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let _ = response.bytes().await;
    let answer = client()
        .post(format!("{}/feedback", Proxy::url(port)))
        .json(&json!({"request_id": id, "label": "good"}))
        .send()
        .await
        .expect("send");
    assert_eq!(answer.status(), 200);
    // A graceful stop writes everything queued.
    assert!(proxy.stop().success());
    let dirs = [proxy.data_dir.as_path()];
    assert_eq!(
        answers(&["--label", "good"], &dirs),
        ["Hello from upstream"]
    );
    assert!(answers(&["--label", "bad"], &dirs).is_empty());
}
