//! Helpers of the recording-controls tests (`recording_controls.rs`,
//! `recording_sampling.rs`): requests, `/metrics` series, and the marker request that shows
//! what was not recorded.

#![allow(dead_code)]

use std::time::Duration;

use axum::body::Body;
use serde_json::{json, Value};

use crate::common::upstream::{openai_like, sse_events, sse_response};
use crate::common::{check, client, eventually_async, free_port, Proxy, Seen};

/// A chat request with one user message.
pub fn chat(content: &str) -> Value {
    json!({"model": "m", "messages": [{"role": "user", "content": content}]})
}

/// The value of the `/metrics` series `name` whose labels include every `labels` pair.
pub async fn metric(admin: u16, name: &str, labels: &[(&str, &str)]) -> f64 {
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

pub fn skipped(workflow: &'static str, reason: &'static str) -> [(&'static str, &'static str); 2] {
    [("workflow", workflow), ("reason", reason)]
}

/// Polls until `name{labels}` is exactly `want` (at most 15 s; never a performance bound).
pub async fn wait_metric(admin: u16, name: &str, labels: &[(&str, &str)], want: f64) {
    let what = format!("{name}{labels:?} to be {want}");
    eventually_async(Duration::from_secs(15), what, || async {
        let value = metric(admin, name, labels).await;
        // A count past `want` will not come back down: fail now, not at the deadline.
        assert!(
            value <= want,
            "{name}{labels:?} is {value}, expected {want}"
        );
        check(value == want, || format!("{value}"))
    })
    .await;
}

/// Starts the proxy on `config` with an admin listener; returns it and the admin port.
pub fn start(config: &Value) -> (Proxy, u16) {
    let admin = free_port();
    let proxy = Proxy::start(config, &["--admin-addr", &format!("127.0.0.1:{admin}")]);
    (proxy, admin)
}

pub async fn post(port: u16, path: &str, body: &Value, header: Option<&str>) -> reqwest::Response {
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
pub async fn records_before_marker(
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

pub fn no_record_header(seen: &Seen) -> bool {
    !seen.headers.contains_key("x-micromodel-record")
}

/// Answers a `stream: true` chat request with a two-chunk SSE stream, anything else as
/// `openai_like` does.
pub async fn sse_chat(seen: Seen) -> axum::response::Response {
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
