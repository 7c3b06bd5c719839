//! What the streaming tests (`tests/streaming_*.rs`) share: the proxy started for one workflow
//! `w`, requests and body reads with a deadline, the proxy's WARN lines, chat chunk builders,
//! and the barrier request that shows nothing else was recorded.
//!
//! No timing thresholds: "no buffering" is shown by the client holding chunk 1 while chunk 2
//! does not exist yet; disconnects are seen by the upstream's body stream being dropped; "not
//! recorded" is checked with the proxy's log and a barrier request recorded afterwards (one
//! recorder queue, so a stray record would show up first). Deadlines are generous.

#![allow(dead_code)]

use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use serde_json::{json, Value};
use tokio::sync::mpsc::UnboundedReceiver;

use crate::common::upstream::{sse_events, sse_response, StreamHandle};
use crate::common::{client, free_port, one_workflow, Proxy};

/// Longest wait for anything that should happen (a noisy machine must never hit it).
pub const LIMIT: Duration = Duration::from_secs(20);

/// Starts the proxy (JSON logs) for one workflow `w` on a free port.
pub fn start_proxy(upstream: &str, timeout_seconds: Option<f64>) -> (Proxy, u16) {
    let port = free_port();
    let mut config = one_workflow("w", upstream, port, "");
    if let Some(seconds) = timeout_seconds {
        config["w"]["TIMEOUT_SECONDS"] = json!(seconds);
    }
    (Proxy::start(&config, &["--log-format", "json"]), port)
}

/// A JSON `POST` of `body` to `path` on the proxy's port.
pub fn post(port: u16, path: &str, body: &Value) -> reqwest::RequestBuilder {
    client()
        .post(format!("{}{path}", Proxy::url(port)))
        .header("content-type", "application/json")
        .body(serde_json::to_vec(body).expect("json"))
}

/// A one-message chat request, streamed or not.
pub fn chat_request(content: &str, stream: bool) -> Value {
    json!({"model": "fake-model", "stream": stream,
           "messages": [{"role": "user", "content": content}]})
}

/// The controlled upstream's next request (at most `LIMIT`).
pub async fn next_handle(handles: &mut UnboundedReceiver<StreamHandle>) -> StreamHandle {
    tokio::time::timeout(LIMIT, handles.recv())
        .await
        .expect("the upstream got no request in time")
        .expect("upstream running")
}

/// Reads until `got` holds as many bytes as `expected`, then checks they are the same.
pub async fn read_exactly(response: &mut reqwest::Response, got: &mut Vec<u8>, expected: &[u8]) {
    while got.len() < expected.len() {
        let chunk = tokio::time::timeout(LIMIT, response.chunk())
            .await
            .expect("the expected bytes did not arrive in time")
            .expect("read the body")
            .unwrap_or_else(|| {
                panic!(
                    "the body ended early after {:?}",
                    String::from_utf8_lossy(got)
                )
            });
        got.extend_from_slice(&chunk);
    }
    assert_eq!(
        String::from_utf8_lossy(got),
        String::from_utf8_lossy(expected)
    );
    assert_eq!(&got[..], expected);
}

/// Reads the rest of the body (at most `LIMIT`).
pub async fn read_to_end(response: &mut reqwest::Response) -> Result<Vec<u8>, reqwest::Error> {
    let mut out = Vec::new();
    loop {
        let next = tokio::time::timeout(LIMIT, response.chunk())
            .await
            .expect("the body did not end in time");
        match next? {
            Some(chunk) => out.extend_from_slice(&chunk),
            None => return Ok(out),
        }
    }
}

/// The proxy's WARN log lines (JSON), parsed.
pub fn warnings(proxy: &Proxy) -> Vec<Value> {
    proxy
        .logs()
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["level"] == "WARN")
        .collect()
}

/// Waits for a WARN line whose message contains `message` and whose fields match `fields`.
pub fn wait_warning(proxy: &Proxy, message: &str, fields: &[(&str, &str)]) -> Value {
    crate::common::eventually(
        LIMIT,
        format_args!("a WARN {message:?} with {fields:?} in the log"),
        || {
            let found = warnings(proxy).into_iter().find(|line| {
                line["message"]
                    .as_str()
                    .is_some_and(|m| m.contains(message))
                    && fields.iter().all(|(k, v)| line[*k] == *v)
            });
            found.ok_or_else(|| crate::common::lazily(|| proxy.logs()))
        },
    )
}

/// One `chat.completion.chunk`.
pub fn chunk(id: &str, choices: Value) -> Value {
    json!({"id": id, "object": "chat.completion.chunk", "created": 1_700_000_000,
           "model": "fake-model", "system_fingerprint": null, "choices": choices})
}

/// One streamed choice.
pub fn delta(index: u32, delta: Value, finish_reason: Option<&str>) -> Value {
    json!({"index": index, "delta": delta, "logprobs": null, "finish_reason": finish_reason})
}

/// The chunks of a plain text answer: role, the pieces, then the finish reason.
pub fn text_chunks(id: &str, pieces: &[&str]) -> Vec<Value> {
    let mut chunks = vec![chunk(
        id,
        json!([delta(0, json!({"role": "assistant", "content": ""}), None)]),
    )];
    for piece in pieces {
        chunks.push(chunk(
            id,
            json!([delta(0, json!({"content": piece}), None)]),
        ));
    }
    chunks.push(chunk(id, json!([delta(0, json!({}), Some("stop"))])));
    chunks
}

/// A complete SSE answer in one response (each event its own frame).
pub fn full_sse(events: Vec<String>) -> Response {
    let stream =
        futures_util::stream::iter(events.into_iter().map(Ok::<_, std::convert::Infallible>));
    sse_response(Body::from_stream(stream))
}

/// After a request that must not be recorded: a complete streamed answer through the
/// controlled upstream, which must be the only record of `w`.
pub async fn barrier(proxy: &Proxy, port: u16, handles: &mut UnboundedReceiver<StreamHandle>) {
    let request = post(port, "/v1/chat/completions", &chat_request("barrier", true)).send();
    // The answer is sent once the upstream has the request, without waiting for the client to
    // have the head, which the proxy holds up to a second for the first event (longer than
    // the 0.5 s of silence some tests allow).
    let (response, _handle) =
        tokio::join!(async { request.await.expect("send the barrier") }, async {
            let mut handle = next_handle(handles).await;
            handle.send(sse_events(&text_chunks("chatcmpl-barrier", &["ok"])).concat());
            handle.end();
            handle
        });
    let mut response = response;
    read_to_end(&mut response).await.expect("barrier body");
    assert_barrier_only(proxy);
}

/// The one record of `w` is the barrier's.
pub fn assert_barrier_only(proxy: &Proxy) {
    let records = proxy.wait_records("w", 1);
    assert_eq!(
        records[0]["messages"][0]["content"], "barrier",
        "something else was recorded: {records:?}"
    );
}

/// The `tools` of the tool-call requests: `get_weather` and `get_time`.
pub fn weather_tools() -> Value {
    json!([
        {"type": "function", "function": {"name": "get_weather", "description": "Weather of a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}, "required": ["city"]}}},
        {"type": "function", "function": {"name": "get_time",
            "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}}}}
    ])
}

/// A non-streamed `chat.completion` with `choices` (and `usage` when given).
pub fn completion(id: &str, choices: Value, usage: Option<Value>) -> Value {
    let mut out = json!({"id": id, "object": "chat.completion", "created": 1_700_000_000,
                         "model": "fake-model", "choices": choices});
    if let Some(usage) = usage {
        out["usage"] = usage;
    }
    out
}

/// Splits `text` into pieces of `size` characters.
pub fn pieces(text: &str, size: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars.chunks(size).map(|c| c.iter().collect()).collect()
}
