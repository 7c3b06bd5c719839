//! Recording controls (issue 14, item 4) through the real binary over real sockets: the
//! `X-MicroModel-Record` opt-out, `RECORD` ("all", "none", a sampled fraction) and
//! `RESPECT_STORE`. A skipped request is answered as usual, never recorded, and counted in
//! `micromodel_records_skipped_total{workflow,reason}`.
//!
//! "Not recorded" is shown by a marker request sent afterwards: the recorder keeps order, so
//! once the marker's record is on disk, a skipped request that was (wrongly) recorded before it
//! would be there too.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use axum::body::Body;
use common::upstream::{openai_like, sse_events, sse_response};
use common::{client, free_port, FakeUpstream, Proxy, Seen};
use futures_util::StreamExt;
use serde_json::{json, Value};

fn chat(content: &str) -> Value {
    json!({"model": "m", "messages": [{"role": "user", "content": content}]})
}

/// The value of the `/metrics` series `name` whose labels include every `labels` pair.
async fn metric(admin: u16, name: &str, labels: &[(&str, &str)]) -> f64 {
    let text = client()
        .get(format!("http://127.0.0.1:{admin}/metrics"))
        .send()
        .await
        .expect("scrape")
        .text()
        .await
        .expect("metrics text");
    text.lines()
        .filter(|line| {
            line.starts_with(&format!("{name}{{")) || line.starts_with(&format!("{name} "))
        })
        .filter(|line| {
            labels
                .iter()
                .all(|(k, v)| line.contains(&format!("{k}=\"{v}\"")))
        })
        .filter_map(|line| line.rsplit_once(' '))
        .filter_map(|(_, value)| value.parse::<f64>().ok())
        .sum()
}

fn skipped(workflow: &'static str, reason: &'static str) -> [(&'static str, &'static str); 2] {
    [("workflow", workflow), ("reason", reason)]
}

/// Polls until `name{labels}` is exactly `want` (at most 15 s; never a performance bound).
async fn wait_metric(admin: u16, name: &str, labels: &[(&str, &str)], want: f64) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let value = metric(admin, name, labels).await;
        if value == want {
            return;
        }
        assert!(
            value < want && Instant::now() < deadline,
            "{name}{labels:?} is {value}, expected {want}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Starts the proxy on `config` with an admin listener; returns it and the admin port.
fn start(config: &Value) -> (Proxy, u16) {
    let admin = free_port();
    let proxy = Proxy::start(config, &["--admin-addr", &format!("127.0.0.1:{admin}")]);
    (proxy, admin)
}

async fn post(port: u16, path: &str, body: &Value, header: Option<&str>) -> reqwest::Response {
    let mut request = client()
        .post(format!("{}{path}", Proxy::url(port)))
        .json(body);
    if let Some(value) = header {
        request = request.header("X-MicroModel-Record", value);
    }
    request.send().await.expect("send")
}

/// Sends a recorded marker and waits until `workflow` holds exactly `records + 1` records;
/// returns them without the marker.
async fn records_before_marker(
    proxy: &Proxy,
    port: u16,
    workflow: &str,
    records: usize,
) -> Vec<Value> {
    let response = post(port, "/v1/chat/completions", &chat("marker"), None).await;
    assert_eq!(response.status(), 200);
    let mut all = proxy.wait_records(workflow, records + 1);
    let marker = all.pop().expect("the marker");
    assert_eq!(marker["messages"][0]["content"], "marker");
    all
}

fn no_record_header(seen: &Seen) -> bool {
    !seen.headers.contains_key("x-micromodel-record")
}

/// Answers a `stream: true` chat request with a two-chunk SSE stream, anything else as
/// `openai_like` does.
async fn sse_chat(seen: Seen) -> axum::response::Response {
    let body: Value = serde_json::from_slice(&seen.body).unwrap_or(Value::Null);
    if !body["stream"].as_bool().unwrap_or(false) {
        return openai_like(seen).await;
    }
    let chunk = |delta: Value, finish: Value| {
        json!({"id": "chatcmpl-s", "object": "chat.completion.chunk", "created": 1_700_000_000,
               "model": "fake-model", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    };
    let events = sse_events(&[
        chunk(json!({"role": "assistant", "content": "Hel"}), Value::Null),
        chunk(json!({"content": "lo"}), json!("stop")),
    ]);
    sse_response(Body::from(events.concat()))
}

#[tokio::test]
async fn opt_out_header_is_answered_not_recorded_removed_and_counted() {
    let upstream = FakeUpstream::start(sse_chat);
    let port = free_port();
    let (proxy, admin) = start(&json!({"w": {"OPENAI_API_HOST": upstream.url, "PORT": port}}));

    let answered = post(port, "/v1/chat/completions", &chat("secret"), Some("off")).await;
    assert_eq!(answered.status(), 200);
    let body: Value = answered.json().await.expect("json");
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "Hello from upstream"
    );
    // Any case, and streamed answers too: passed on whole, not recorded, not "incomplete".
    let mut streamed = chat("streamed secret");
    streamed["stream"] = json!(true);
    let answered = post(port, "/v1/chat/completions", &streamed, Some(" OFF ")).await;
    assert_eq!(answered.status(), 200);
    let text = answered.text().await.expect("the stream");
    assert!(
        text.contains("\"lo\"") && text.ends_with("data: [DONE]\n\n"),
        "{text}"
    );
    // `on` records as usual, and is not forwarded either.
    let on = post(port, "/v1/chat/completions", &chat("recorded"), Some("on")).await;
    assert_eq!(on.status(), 200);
    // Pass-through: removed too.
    let models = client()
        .get(format!("{}/v1/models", Proxy::url(port)))
        .header("X-MicroModel-Record", "off")
        .send()
        .await
        .expect("send");
    assert_eq!(models.status(), 200);

    let records = records_before_marker(&proxy, port, "w", 1).await;
    assert_eq!(records[0]["messages"][0]["content"], "recorded");
    let seen = upstream.seen();
    assert_eq!(seen.len(), 5, "every request was forwarded");
    assert!(
        seen.iter().all(no_record_header),
        "the header reached the upstream"
    );
    assert_eq!(
        seen[0].json(),
        chat("secret"),
        "the body is forwarded as sent"
    );
    wait_metric(
        admin,
        "micromodel_records_skipped_total",
        &skipped("w", "opt_out"),
        2.0,
    )
    .await;
    let incomplete = [("reason", "incomplete")];
    assert_eq!(
        metric(admin, "micromodel_records_dropped_total", &incomplete).await,
        0.0
    );
    let logs = proxy.logs();
    assert!(!logs.contains("did not complete"), "{logs}");
    assert_eq!(
        logs.matches("Request forwarded, not recorded.").count(),
        2,
        "{logs}"
    );
    assert!(logs.contains("opt_out"), "{logs}");
}

#[tokio::test]
async fn a_bad_opt_out_value_is_a_400_and_nothing_is_forwarded() {
    let upstream = FakeUpstream::start(openai_like);
    let port = free_port();
    let (proxy, _admin) = start(&json!({"w": {"OPENAI_API_HOST": upstream.url, "PORT": port}}));
    for value in ["false", "no", "0", ""] {
        let refused = post(port, "/v1/chat/completions", &chat("x"), Some(value)).await;
        assert_eq!(refused.status(), 400, "{value:?}");
        let body: Value = refused.json().await.expect("json");
        assert_eq!(body["error"]["code"], "invalid_record_header", "{value:?}");
        assert_eq!(body["error"]["type"], "invalid_request_error");
        let message = body["error"]["message"].as_str().expect("message");
        assert!(message.contains("\"on\" or \"off\""), "{message}");
    }
    assert!(
        upstream.seen().is_empty(),
        "a refused request was forwarded"
    );
    assert!(records_before_marker(&proxy, port, "w", 0).await.is_empty());
    // Off a recorded endpoint the header only has to be removed.
    let models = client()
        .get(format!("{}/v1/models", Proxy::url(port)))
        .header("X-MicroModel-Record", "maybe")
        .send()
        .await
        .expect("send");
    assert_eq!(models.status(), 200);
    assert!(no_record_header(upstream.seen().last().expect("seen")));
}

#[tokio::test]
async fn record_none_proxies_only_and_the_filed_under_workflow_decides() {
    let upstream = FakeUpstream::start(openai_like);
    let (open, quiet) = (free_port(), free_port());
    let config = json!({
        "open": {"OPENAI_API_HOST": upstream.url, "PORT": open},
        "quiet": {"OPENAI_API_HOST": upstream.url, "PORT": quiet, "RECORD": "none"},
    });
    let (proxy, admin) = start(&config);
    let completion = json!({"model": "m", "prompt": "p"});
    assert_eq!(
        post(quiet, "/v1/chat/completions", &chat("q1"), None)
            .await
            .status(),
        200
    );
    assert_eq!(
        post(quiet, "/v1/completions", &completion, None)
            .await
            .status(),
        200
    );
    // Filed under `quiet` from the open port: quiet's RECORD applies.
    let mut to_quiet = chat("q2");
    to_quiet["workflow_id"] = json!("quiet");
    assert_eq!(
        post(open, "/v1/chat/completions", &to_quiet, None)
            .await
            .status(),
        200
    );
    // Filed under `open` from the quiet port: recorded.
    let mut to_open = chat("o1");
    to_open["workflow_id"] = json!("open");
    assert_eq!(
        post(quiet, "/v1/chat/completions", &to_open, None)
            .await
            .status(),
        200
    );

    let records = records_before_marker(&proxy, open, "open", 1).await;
    assert_eq!(records[0]["messages"][0]["content"], "o1");
    assert!(proxy.records("quiet").is_empty());
    assert!(
        !proxy.data_dir.join("quiet").exists(),
        "nothing of quiet was written"
    );
    assert_eq!(upstream.seen().len(), 5);
    let none = skipped("quiet", "record_none");
    wait_metric(admin, "micromodel_records_skipped_total", &none, 3.0).await;
}

#[tokio::test]
async fn respect_store_skips_an_explicit_store_false_only() {
    let upstream = FakeUpstream::start(openai_like);
    let (strict, lax) = (free_port(), free_port());
    let config = json!({
        "strict": {"OPENAI_API_HOST": upstream.url, "PORT": strict, "RESPECT_STORE": true},
        "lax": {"OPENAI_API_HOST": upstream.url, "PORT": lax, "RESPECT_STORE": false},
    });
    let (proxy, admin) = start(&config);
    let with_store = |content: &str, store: Value| {
        let mut body = chat(content);
        body["store"] = store;
        body
    };
    for (content, store) in [
        ("false", json!(false)),
        ("true", json!(true)),
        ("text", json!("false")),
    ] {
        let response = post(
            strict,
            "/v1/chat/completions",
            &with_store(content, store),
            None,
        )
        .await;
        assert_eq!(response.status(), 200);
    }
    assert_eq!(
        post(strict, "/v1/chat/completions", &chat("absent"), None)
            .await
            .status(),
        200
    );
    let lax_body = with_store("lax false", json!(false));
    assert_eq!(
        post(lax, "/v1/chat/completions", &lax_body, None)
            .await
            .status(),
        200
    );

    let strict_records = records_before_marker(&proxy, strict, "strict", 3).await;
    let contents: Vec<&str> = strict_records
        .iter()
        .map(|r| r["messages"][0]["content"].as_str().expect("content"))
        .collect();
    assert_eq!(contents, ["true", "text", "absent"]);
    let lax_records = records_before_marker(&proxy, lax, "lax", 1).await;
    assert_eq!(lax_records[0]["messages"][0]["content"], "lax false");
    // `store` itself is forwarded untouched.
    assert_eq!(upstream.seen()[0].json()["store"], json!(false));
    let store = skipped("strict", "store_false");
    wait_metric(admin, "micromodel_records_skipped_total", &store, 1.0).await;
    assert_eq!(
        metric(
            admin,
            "micromodel_records_skipped_total",
            &[("workflow", "lax")]
        )
        .await,
        0.0
    );
}

/// How many of `total` distinct requests sent to a `RECORD: 0.25` workflow are sampled.
const TOTAL: usize = 4_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_sample_keeps_about_the_fraction_and_decides_a_repeat_alike() {
    let upstream = FakeUpstream::start(openai_like);
    let port = free_port();
    let config = json!({"s": {"OPENAI_API_HOST": upstream.url, "PORT": port, "RECORD": 0.25}});
    let (proxy, admin) = start(&config);
    let http = client();
    let url = format!("{}/v1/chat/completions", Proxy::url(port));
    let statuses: Vec<u16> = futures_util::stream::iter(0..TOTAL)
        .map(|i| {
            let request = http.post(&url).json(&chat(&format!("request {i}"))).send();
            async move { request.await.expect("send").status().as_u16() }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    assert!(statuses.iter().all(|s| *s == 200), "every request answered");

    let sampled_out = skipped("s", "sampled_out");
    let out = metric(admin, "micromodel_records_skipped_total", &sampled_out).await as usize;
    let kept = TOTAL - out;
    let written = [("workflow", "s")];
    wait_metric(
        admin,
        "micromodel_records_written_total",
        &written,
        kept as f64,
    )
    .await;
    let records = proxy.wait_records("s", kept);
    let share = kept as f64 / TOTAL as f64;
    assert!(
        (0.20..=0.30).contains(&share),
        "kept {kept} of {TOTAL} ({share})"
    );

    // Repeats of identical requests are decided as the first time.
    let recorded: std::collections::HashSet<String> = records
        .iter()
        .map(|r| {
            r["messages"][0]["content"]
                .as_str()
                .expect("content")
                .to_owned()
        })
        .collect();
    let repeats: Vec<String> = (0..40).map(|i| format!("request {i}")).collect();
    let expected_new = repeats.iter().filter(|c| recorded.contains(*c)).count();
    assert!(
        expected_new > 0 && expected_new < repeats.len(),
        "a mix of both decisions"
    );
    for content in &repeats {
        let response = http
            .post(&url)
            .json(&chat(content))
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 200);
    }
    let more = [("workflow", "s")];
    wait_metric(
        admin,
        "micromodel_records_written_total",
        &more,
        (kept + expected_new) as f64,
    )
    .await;
    let after = proxy.wait_records("s", kept + expected_new);
    let new: Vec<&str> = after[kept..]
        .iter()
        .map(|r| r["messages"][0]["content"].as_str().expect("content"))
        .collect();
    assert!(
        new.iter().all(|c| recorded.contains(*c)),
        "a repeat was decided differently"
    );
    let out_after = metric(admin, "micromodel_records_skipped_total", &sampled_out).await;
    assert_eq!(out_after as usize, out + repeats.len() - expected_new);
}

#[test]
fn record_and_respect_store_errors_are_all_reported_naming_the_workflow() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.json");
    let config = json!({
        "a": {"OPENAI_API_HOST": "http://x", "PORT": 3001, "RECORD": 1.5, "RESPECT_STORE": "yes"},
        "b": {"OPENAI_API_HOST": "http://x", "PORT": 3002, "RECORD": "some"},
        "c": {"OPENAI_API_HOST": "http://x", "PORT": 3003, "RECORD": true},
        "d": {"OPENAI_API_HOST": "http://x", "PORT": 3004, "RECORD": -0.1, "RESPECT_STORE": 1},
        "ok": {"OPENAI_API_HOST": "http://x", "PORT": 3005, "RECORD": "None", "RESPECT_STORE": true},
    });
    std::fs::write(&path, config.to_string()).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_micromodel"))
        .arg("check")
        .arg("--config")
        .arg(&path)
        .output()
        .expect("run check");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for expected in [
        "workflow \"a\": field RECORD is the number 1.5, must be \"all\", \"none\" or a number from 0.0 to 1.0",
        "workflow \"a\": field RESPECT_STORE must be true or false, found the string \"yes\"",
        "workflow \"b\": field RECORD is the string \"some\", must be",
        "workflow \"c\": field RECORD must be \"all\", \"none\" or a number from 0.0 to 1.0, found the boolean true",
        "workflow \"d\": field RECORD is the number -0.1",
        "workflow \"d\": field RESPECT_STORE must be true or false, found the number 1",
    ] {
        assert!(stderr.contains(expected), "missing {expected:?} in:\n{stderr}");
    }
    assert!(!stderr.contains("\"ok\""), "{stderr}");
    assert_eq!(stderr.matches("  - ").count(), 6, "{stderr}");
}

#[tokio::test]
async fn record_and_respect_store_reload_live() {
    let upstream = FakeUpstream::start(openai_like);
    let port = free_port();
    let (proxy, admin) = start(&json!({"w": {"OPENAI_API_HOST": upstream.url, "PORT": port}}));
    let mut store_false = chat("before");
    store_false["store"] = json!(false);
    assert_eq!(
        post(port, "/v1/chat/completions", &store_false, None)
            .await
            .status(),
        200
    );
    proxy.wait_records("w", 1);

    proxy.write_config(&json!({"w": {
        "OPENAI_API_HOST": upstream.url, "PORT": port, "RESPECT_STORE": true
    }}));
    proxy.wait_log("Config reloaded.", 1);
    store_false["messages"][0]["content"] = json!("after");
    assert_eq!(
        post(port, "/v1/chat/completions", &store_false, None)
            .await
            .status(),
        200
    );
    let records = records_before_marker(&proxy, port, "w", 1).await;
    assert_eq!(records[0]["messages"][0]["content"], "before");
    wait_metric(
        admin,
        "micromodel_records_skipped_total",
        &skipped("w", "store_false"),
        1.0,
    )
    .await;

    proxy.write_config(
        &json!({"w": {"OPENAI_API_HOST": upstream.url, "PORT": port, "RECORD": "none"}}),
    );
    proxy.wait_log("Config reloaded.", 2);
    assert_eq!(
        post(port, "/v1/chat/completions", &chat("quiet"), None)
            .await
            .status(),
        200
    );
    wait_metric(
        admin,
        "micromodel_records_skipped_total",
        &skipped("w", "record_none"),
        1.0,
    )
    .await;
    assert_eq!(proxy.records("w").len(), 2, "before and the marker only");
}

#[test]
fn check_shows_the_recording_controls_that_are_not_the_defaults() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.json");
    let config = json!({
        "plain": {"OPENAI_API_HOST": "http://x", "PORT": 3001},
        "sampled": {"OPENAI_API_HOST": "http://x", "PORT": 3002, "RECORD": 0.25, "RESPECT_STORE": true},
        "quiet": {"OPENAI_API_HOST": "http://x", "PORT": 3003, "RECORD": "none"},
    });
    std::fs::write(&path, config.to_string()).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_micromodel"))
        .arg("check")
        .arg("--config")
        .arg(&path)
        .output()
        .expect("run check");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("recording: RECORD 25%, RESPECT_STORE"),
        "{stdout}"
    );
    assert!(stdout.contains("recording: RECORD none"), "{stdout}");
    assert_eq!(stdout.matches("recording:").count(), 2, "{stdout}");
}
