//! What the live-reload tests share: an upstream whose streamed answers wait on a gate (so a
//! stream can be held in flight across a reload), workflow config snippets, chat and stream
//! requests, and waiting for an exact number of applied reloads.

#![allow(dead_code)]

use std::convert::Infallible;

use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};
use tokio::sync::watch;

use crate::common::upstream::{chat_completion, json_response};
use crate::common::{client, FakeUpstream, Proxy, Seen};

/// An upstream whose streamed answers send one chunk, then wait for the gate to open, then
/// finish. Non-streamed requests get `chat_completion(name)`.
pub fn gated_upstream(name: &'static str, gate: watch::Receiver<bool>) -> FakeUpstream {
    FakeUpstream::start(move |seen: Seen| {
        let gate = gate.clone();
        async move {
            if seen.json()["stream"] != true {
                return json_response(StatusCode::OK, &chat_completion(name));
            }
            let chunk = |delta: Value, finish: Value| {
                let event = json!({"id": format!("chatcmpl-{name}"), "object": "chat.completion.chunk",
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
                format!("data: {event}\n\n")
            };
            let first = chunk(
                json!({"role": "assistant", "content": format!("{name} part one, ")}),
                Value::Null,
            );
            let last = chunk(json!({"content": "part two"}), json!("stop")) + "data: [DONE]\n\n";
            let stream = futures_util::stream::unfold(0u8, move |step| {
                let mut gate = gate.clone();
                let (first, last) = (first.clone(), last.clone());
                async move {
                    match step {
                        0 => Some((Ok::<_, Infallible>(Bytes::from(first)), 1)),
                        1 => {
                            let _ = gate.wait_for(|open| *open).await;
                            Some((Ok(Bytes::from(last)), 2))
                        }
                        _ => None,
                    }
                }
            });
            Response::builder()
                .header("content-type", "text/event-stream")
                .body(Body::from_stream(stream))
                .expect("response")
        }
    })
}

/// One workflow's config: this upstream on this port.
pub fn workflow(upstream: &str, port: u16) -> Value {
    json!({"OPENAI_API_HOST": upstream, "PORT": port})
}

/// A non-streamed chat request to the workflow on `port`.
pub async fn chat(port: u16, content: &str) -> reqwest::Result<reqwest::Response> {
    client()
        .post(format!("{}/v1/chat/completions", Proxy::url(port)))
        .json(&json!({"model": "m", "messages": [{"role": "user", "content": content}]}))
        .send()
        .await
}

/// Starts a streamed request and reads its first chunk; returns the response to finish later.
pub async fn start_stream(port: u16) -> reqwest::Response {
    let mut response = client()
        .post(format!("{}/v1/chat/completions", Proxy::url(port)))
        .json(&json!({"model": "m", "stream": true, "messages": [{"role": "user", "content": "stream me"}]}))
        .send()
        .await
        .expect("stream starts");
    assert_eq!(response.status(), 200);
    let first = response
        .chunk()
        .await
        .expect("first chunk")
        .expect("some bytes");
    assert!(String::from_utf8_lossy(&first).contains("part one"));
    response
}

/// Reads the rest of a streamed answer.
pub async fn finish_stream(mut response: reqwest::Response) -> String {
    let mut text = String::new();
    while let Some(chunk) = response.chunk().await.expect("stream continues") {
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    text
}

/// Config text with workflows w0..w{n-1} on the first n of `ports`.
pub fn config_n(upstream: &str, ports: &[u16], n: usize) -> Vec<u8> {
    let mut config = serde_json::Map::new();
    for (i, port) in ports.iter().take(n).enumerate() {
        config.insert(format!("w{i}"), workflow(upstream, *port));
    }
    serde_json::to_vec_pretty(&Value::Object(config)).expect("json")
}

/// Waits for the `n`th applied reload, then checks that no extra one follows.
pub fn applied_exactly(proxy: &Proxy, n: usize) {
    proxy.wait_log("Config reloaded.", n);
    std::thread::sleep(crate::common::upstream::SETTLE);
    assert_eq!(
        proxy.logs().matches("Config reloaded.").count(),
        n,
        "{}",
        proxy.logs()
    );
}
