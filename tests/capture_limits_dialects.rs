//! Capture limits for `/v1/responses` and `/v1/messages` (issue 11, item 4), through the real
//! binary and a hostile fake upstream: one SSE event larger than `--max-record-bytes`, and a
//! non-streamed answer larger than it. The client gets every byte unchanged, nothing is
//! recorded, and it is counted `too_large`; a normal answer right after is recorded (so the
//! empty data folder is not a matter of timing).

mod common;

use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use axum::response::Response;
use common::dialects::{dialect_upstream, fixture};
use common::upstream::{sse_response, Seen};
use common::{client, free_port, one_workflow, FakeUpstream, Proxy};
use serde_json::{json, Value};

/// The record limit of the tests, and what the hostile upstream sends: 64 times that.
const LIMIT: usize = 64 * 1024;
const HOSTILE_BYTES: usize = 4 * 1024 * 1024;

/// The hostile answer of `path`, streamed or not: one text far past the limit.
fn hostile(path: &str, stream: bool) -> Vec<u8> {
    let text = "h".repeat(HOSTILE_BYTES);
    match (path, stream) {
        ("/v1/responses", false) => serde_json::to_vec(&json!({
            "id": "resp_big", "object": "response", "status": "completed",
            "output": [{"type": "message", "role": "assistant", "status": "completed",
                        "content": [{"type": "output_text", "text": text, "annotations": []}]}]
        }))
        .expect("json"),
        ("/v1/responses", true) => {
            let delta = json!({"type": "response.output_text.delta", "output_index": 0,
                               "content_index": 0, "delta": text});
            format!(
                "event: response.created\ndata: {}\n\nevent: response.output_text.delta\ndata: {delta}\n\n\
                 event: response.completed\ndata: {}\n\n",
                json!({"type": "response.created", "response": {"id": "resp_big", "output": []}}),
                json!({"type": "response.completed", "response": {"id": "resp_big", "status": "completed", "output": []}}),
            )
            .into_bytes()
        }
        (_, false) => serde_json::to_vec(&json!({
            "id": "msg_big", "type": "message", "role": "assistant",
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn"
        }))
        .expect("json"),
        (_, true) => {
            let delta = json!({"type": "content_block_delta", "index": 0,
                               "delta": {"type": "text_delta", "text": text}});
            format!(
                "event: message_start\ndata: {}\n\nevent: content_block_start\ndata: {}\n\n\
                 event: content_block_delta\ndata: {delta}\n\n\
                 event: content_block_stop\ndata: {{\"type\":\"content_block_stop\",\"index\":0}}\n\n\
                 event: message_delta\ndata: {{\"type\":\"message_delta\",\"delta\":{{\"stop_reason\":\"end_turn\"}}}}\n\n\
                 event: message_stop\ndata: {{\"type\":\"message_stop\"}}\n\n",
                json!({"type": "message_start", "message": {"id": "msg_big", "type": "message",
                       "role": "assistant", "content": []}}),
                json!({"type": "content_block_start", "index": 0,
                       "content_block": {"type": "text", "text": ""}}),
            )
            .into_bytes()
        }
    }
}

/// Hostile for a request that says "hostile"; the dialect fixtures otherwise.
async fn upstream(seen: Seen) -> Response {
    if !seen.body.windows(7).any(|w| w == b"hostile") {
        return dialect_upstream(seen).await;
    }
    let stream = seen.json()["stream"] == json!(true);
    let path = seen
        .path_and_query
        .split('?')
        .next()
        .unwrap_or("")
        .to_owned();
    let bytes = hostile(&path, stream);
    if !stream {
        return Response::builder()
            .status(StatusCode::OK)
            .header("content-type", "application/json")
            .body(Body::from(bytes))
            .expect("response");
    }
    // In pieces far smaller than the event, so the proxy assembles it across many reads.
    let chunks: Vec<Result<Bytes, std::io::Error>> = bytes
        .chunks(16 * 1024)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    sse_response(Body::from_stream(futures_util::stream::iter(chunks)))
}

async fn too_large(admin: u16) -> f64 {
    let text = client()
        .get(format!("http://127.0.0.1:{admin}/metrics"))
        .send()
        .await
        .expect("scrape")
        .text()
        .await
        .expect("metrics text");
    text.lines()
        .filter_map(|line| line.rsplit_once(' '))
        .find(|(name, _)| *name == "micromodel_records_dropped_total{reason=\"too_large\"}")
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(0.0)
}

async fn post(port: u16, path: &str, body: &Value, fixture_name: &str) -> Vec<u8> {
    let response = client()
        .post(format!("{}{path}", Proxy::url(port)))
        .header("x-fixture", fixture_name)
        .json(body)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    response.bytes().await.expect("the whole body").to_vec()
}

/// One hostile answer of `path` (streamed or not), then a normal one: the client gets the
/// hostile bytes unchanged, it is counted `too_large`, and only the normal one is recorded.
async fn hostile_then_normal(path: &str, request: Value, fixture_name: &str, stream: bool) {
    let upstream = FakeUpstream::start(upstream);
    let (port, admin) = (free_port(), free_port());
    let proxy = Proxy::start(
        &one_workflow("w", &upstream.url, port, ""),
        &[
            "--max-record-bytes",
            &LIMIT.to_string(),
            "--admin-addr",
            &format!("127.0.0.1:{admin}"),
        ],
    );
    let mut body = request.clone();
    body["stream"] = json!(stream);
    let hostile_body = serde_json::to_string(&body)
        .expect("json")
        .replace("NORMAL", "hostile");
    let hostile_body: Value = serde_json::from_str(&hostile_body).expect("json");
    let received = post(port, path, &hostile_body, "").await;
    assert!(
        received == hostile(path, stream),
        "{path} stream={stream}: the client got the answer unchanged ({} bytes)",
        received.len()
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    while too_large(admin).await < 1.0 {
        assert!(
            Instant::now() < deadline,
            "too_large counted\n{}",
            proxy.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(too_large(admin).await, 1.0);
    proxy.wait_log("larger than --max-record-bytes", 1);
    // The recorder keeps order: a hostile record would come before the normal one.
    let suffix = if stream { "sse" } else { "json" };
    let normal = post(port, path, &body, fixture_name).await;
    assert_eq!(normal, fixture(&format!("{fixture_name}.{suffix}")));
    let records = proxy.wait_records("w", 1);
    assert_eq!(
        records[0]["messages"][0]["content"], "NORMAL",
        "{:?}",
        records[0]
    );
}

fn responses_request() -> Value {
    json!({"model": "gpt-4.1", "input": "NORMAL"})
}

fn messages_request() -> Value {
    json!({"model": "claude", "max_tokens": 64, "messages": [{"role": "user", "content": "NORMAL"}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_responses_sse_event_past_the_limit_passes_through_unrecorded() {
    hostile_then_normal("/v1/responses", responses_request(), "responses_text", true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_streamed_responses_answer_past_the_limit_passes_through_unrecorded() {
    hostile_then_normal(
        "/v1/responses",
        responses_request(),
        "responses_text",
        false,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_messages_sse_event_past_the_limit_passes_through_unrecorded() {
    hostile_then_normal("/v1/messages", messages_request(), "messages_text", true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_streamed_messages_answer_past_the_limit_passes_through_unrecorded() {
    hostile_then_normal("/v1/messages", messages_request(), "messages_text", false).await;
}
