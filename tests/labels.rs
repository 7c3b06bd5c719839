//! Labels through the real binary (docs/labels.md): `POST /feedback` on workflow ports and
//! `POST /api/labels` on the admin listener write `labels.jsonl` in the record's own day
//! folder; unknown ids, choices and bad bodies are refused.

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use common::upstream::{chat_completion, json_response};
use common::{client, eventually, free_port, lazily, FakeUpstream, Proxy};
use serde_json::{json, Value};

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

fn two_workflows(upstream: &str, a: u16, b: u16) -> Value {
    json!({
        "a": {"OPENAI_API_HOST": upstream, "PORT": a},
        "b": {"OPENAI_API_HOST": upstream, "PORT": b},
    })
}

/// Sends a chat to `port` (optionally re-routed to `workflow_id`); the answer's id.
async fn chat(port: u16, workflow_id: Option<&str>) -> String {
    let mut body = json!({"model": "m", "messages": [{"role": "user", "content": "hello"}]});
    if let Some(id) = workflow_id {
        body["workflow_id"] = json!(id);
    }
    let response = client()
        .post(format!("{}/v1/chat/completions", Proxy::url(port)))
        .json(&body)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.expect("json");
    answer["id"].as_str().expect("id").to_owned()
}

/// Posts a label body (raw text) to `url`; status and JSON answer.
async fn post_label(url: &str, body: &str) -> (u16, Value) {
    let response = client()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("send");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json answer"))
}

fn feedback_url(port: u16) -> String {
    format!("{}/feedback", Proxy::url(port))
}

/// The lines of `<data>/<workflow>/<day>/labels.jsonl`, once it has `n`.
fn wait_labels(data_dir: &Path, workflow: &str, day: &str, n: usize) -> Vec<Value> {
    let path = data_dir.join(workflow).join(day).join("labels.jsonl");
    eventually(
        Duration::from_secs(10),
        format_args!("{n} labels in {}", path.display()),
        || {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let lines: Vec<Value> = text
                .lines()
                .map(|l| serde_json::from_str(l).expect("label line is JSON"))
                .collect();
            if lines.len() >= n {
                Ok(lines)
            } else {
                let count = lines.len();
                Err(lazily(move || format!("{count} lines")))
            }
        },
    )
}

fn write_past_record(data_dir: &Path, workflow: &str, day: &str, request_id: &str, n: usize) {
    let folder = data_dir.join(workflow).join(day);
    std::fs::create_dir_all(&folder).expect("mkdir");
    let line = json!({
        "messages": [{"role": "user", "content": "old"}, {"role": "assistant", "content": "answer"}],
        "timestamp": "2025-01-01T10:00:00.000Z", "endpoint": "/v1/chat/completions",
        "model": "m", "workflow_id": workflow, "finish_reason": "stop", "stream": false,
        "latency_ms": 1, "request_id": request_id,
    })
    .to_string();
    let text: String = (0..n).map(|_| format!("{line}\n")).collect();
    std::fs::write(folder.join("data.jsonl"), text).expect("write past record");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feedback_writes_beside_the_records_day_and_only_for_its_workflow() {
    let upstream = numbered_upstream();
    let (a, b) = (free_port(), free_port());
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = dir.path().join("data");
    write_past_record(&data_dir, "a", "01-01-2025", "old-1", 2);
    let proxy = Proxy::start_in(dir, data_dir, &two_workflows(&upstream.url, a, b), &[], &[]);

    let id = chat(a, None).await;
    let (status, answer) = post_label(
        &feedback_url(a),
        &json!({"request_id": id, "label": "good", "note": "crisp", "tags": ["tone", "short"]})
            .to_string(),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["ok"], true);
    assert_eq!(answer["workflow_id"], "a");
    assert_eq!(answer["choice"], 0);
    let day = answer["day"].as_str().expect("day").to_owned();
    let records = proxy.wait_records("a", 3);
    let today = records
        .iter()
        .find(|r| r["request_id"] == id.as_str())
        .expect("the new record");
    let record_day = chrono::DateTime::parse_from_rfc3339(today["timestamp"].as_str().expect("ts"))
        .expect("rfc3339")
        .format("%d-%m-%Y")
        .to_string();
    assert_eq!(day, record_day, "the label goes to the record's own day");
    let labels = wait_labels(&proxy.data_dir, "a", &day, 1);
    assert_eq!(labels[0]["request_id"], id.as_str());
    assert_eq!(labels[0]["label"], "good");
    assert_eq!(labels[0]["note"], "crisp");
    assert_eq!(labels[0]["tags"], json!(["tone", "short"]));
    assert_eq!(labels[0]["source"], "feedback");
    assert_eq!(
        common::keys_in_order(&labels[0].to_string()).len(),
        7,
        "timestamp, request_id, choice, label, note, tags, source"
    );

    // A record of a past day, not in the index: found by the scan, labelled in its folder.
    let (status, answer) = post_label(
        &feedback_url(a),
        r#"{"request_id": "old-1", "choice": 1, "label": "bad"}"#,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["day"], "01-01-2025");
    let past = wait_labels(&proxy.data_dir, "a", "01-01-2025", 1);
    assert_eq!(past[0]["choice"], 1);
    assert_eq!(past[0]["label"], "bad");
    assert!(past[0].get("note").is_none() && past[0].get("tags").is_none());

    // Only two records for old-1: there is no choice 2.
    let (status, answer) = post_label(
        &feedback_url(a),
        r#"{"request_id": "old-1", "choice": 2, "label": "bad"}"#,
    )
    .await;
    assert_eq!(status, 404, "{answer}");
    assert_eq!(answer["error"]["code"], "unknown_choice");

    // Workflow b's port may not label a's records.
    for request_id in [id.as_str(), "old-1", "never-seen"] {
        let (status, answer) = post_label(
            &feedback_url(b),
            &json!({"request_id": request_id, "label": "good"}).to_string(),
        )
        .await;
        assert_eq!(status, 404, "{request_id}: {answer}");
        assert_eq!(answer["error"]["code"], "unknown_request_id");
        assert_eq!(answer["error"]["type"], "invalid_request_error");
        assert_eq!(answer["error"]["param"], "request_id");
        assert!(answer["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains(request_id)));
    }

    // Re-routed by workflow_id: the record is filed under a, so a's port labels it.
    let rerouted = chat(b, Some("a")).await;
    let body = json!({"request_id": rerouted, "label": "none"}).to_string();
    let (status, _) = post_label(&feedback_url(b), &body).await;
    assert_eq!(status, 404, "filed under a, not b");
    let (status, answer) = post_label(&feedback_url(a), &body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["workflow_id"], "a");
    let labels = wait_labels(&proxy.data_dir, "a", &day, 2);
    assert_eq!(labels[1]["label"], "none");
    assert!(!proxy
        .data_dir
        .join("b")
        .join(&day)
        .join("labels.jsonl")
        .exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_label_bodies_are_refused_with_a_reason() {
    let upstream = numbered_upstream();
    let (a, b) = (free_port(), free_port());
    let _proxy = Proxy::start(&two_workflows(&upstream.url, a, b), &[]);
    let cases = [
        (r#"{"label": "good"}"#, "missing field `request_id`"),
        (
            r#"{"request_id": "x", "label": "meh"}"#,
            "unknown variant `meh`",
        ),
        (r#"{"request_id": "x"}"#, "missing field `label`"),
        (r#"{"request_id": 7, "label": "good"}"#, "invalid type"),
        (
            r#"{"request_id": "x", "label": "good", "choice": "0"}"#,
            "invalid type",
        ),
        (
            r#"{"request_id": "x", "label": "good", "tags": "t"}"#,
            "invalid type",
        ),
        (
            r#"{"request_id": "x", "label": "good", "lable": 1}"#,
            "unknown field",
        ),
        (
            r#"{"request_id": "", "label": "good"}"#,
            "request_id must not be empty",
        ),
        (
            r#"{"request_id": "x", "label": "good", "tags": [""]}"#,
            "tags must be",
        ),
        ("not json", "expected"),
        (
            r#"{"request_id": "x", "label": "good", "day": "2026-13-01"}"#,
            "day must be a date",
        ),
        (
            r#"{"request_id": "x", "label": "good", "day": "01-01-3026"}"#,
            "is in the future",
        ),
        (
            r#"{"request_id": "x", "label": "good", "workflow_id": "../a"}"#,
            "is not a workflow id",
        ),
    ];
    for (body, reason) in cases {
        let (status, answer) = post_label(&feedback_url(a), body).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["error"]["code"], "invalid_label", "{body}");
        let message = answer["error"]["message"].as_str().expect("message");
        assert!(message.contains(reason), "{body}: {message}");
    }
    let (status, answer) = post_label(
        &feedback_url(a),
        r#"{"request_id":"x","label":"good","day":"x"}"#,
    )
    .await;
    assert_eq!((status, &answer["error"]["param"]), (400, &json!("day")));
    // Without a sink, a day does not file a label for a record this instance lacks.
    let unknown = r#"{"request_id": "nope", "label": "good", "day": "01-12-2026"}"#;
    let (status, answer) = post_label(&feedback_url(a), unknown).await;
    assert_eq!(status, 404, "{answer}");
    assert_eq!(answer["error"]["code"], "unknown_request_id");
    let big = json!({"request_id": "x", "label": "good", "note": "n".repeat(70_000)}).to_string();
    let (status, answer) = post_label(&feedback_url(a), &big).await;
    assert_eq!(status, 413, "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_api_labels_any_workflow_in_order() {
    let upstream = numbered_upstream();
    let (a, b, admin) = (free_port(), free_port(), free_port());
    let admin_addr = format!("127.0.0.1:{admin}");
    let proxy = Proxy::start(
        &two_workflows(&upstream.url, a, b),
        &["--admin-addr", &admin_addr],
    );
    let url = format!("http://{admin_addr}/api/labels");
    let in_a = chat(a, None).await;
    let in_b = chat(b, None).await;
    for (id, label) in [
        (&in_a, "good"),
        (&in_b, "bad"),
        (&in_a, "none"),
        (&in_a, "bad"),
    ] {
        let (status, answer) =
            post_label(&url, &json!({"request_id": id, "label": label}).to_string()).await;
        assert_eq!(status, 200, "{answer}");
    }
    let (status, answer) = post_label(&url, r#"{"request_id": "nope", "label": "good"}"#).await;
    assert_eq!(status, 404, "{answer}");
    assert_eq!(answer["error"]["code"], "unknown_request_id");
    let (status, _) = post_label(&url, r#"{"request_id": "nope", "label": "great"}"#).await;
    assert_eq!(status, 400);

    let day = proxy.wait_records("a", 1)[0]["timestamp"]
        .as_str()
        .expect("ts")[..10]
        .split('-')
        .rev()
        .collect::<Vec<_>>()
        .join("-");
    let labels_a = wait_labels(&proxy.data_dir, "a", &day, 3);
    let order: Vec<&str> = labels_a
        .iter()
        .map(|l| l["label"].as_str().expect("label"))
        .collect();
    assert_eq!(
        order,
        ["good", "none", "bad"],
        "appended in the order given"
    );
    assert!(labels_a.iter().all(|l| l["source"] == "api"));
    let labels_b = wait_labels(&proxy.data_dir, "b", &day, 1);
    assert_eq!(labels_b[0]["request_id"], in_b.as_str());
}
