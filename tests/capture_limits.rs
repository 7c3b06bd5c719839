//! Capture limits (issue 11, item 4) through the real binary and a hostile fake upstream over
//! real sockets: an SSE line or event, an assembled stream or a non-streamed answer past
//! `--max-record-bytes` passes through to the client byte for byte but is not recorded
//! (`too_large`); choices the request did not ask for are left out (`unexpected_choice`).

mod common;

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::Response;
use common::upstream::{controlled_sse, json_response, openai_like};
use common::{client, free_port, one_workflow, FakeUpstream, Proxy};
use micromodel::record::{CaptureLimits, EndpointKind, StreamCapture};
use serde_json::{json, Value};

/// The record limit the tests run with: small, so a few MiB are far past it.
const LIMIT: usize = 64 * 1024;

/// How much a hostile upstream sends in the tests: 64 times the limit.
const HOSTILE_BYTES: usize = 4 * 1024 * 1024;

fn start(upstream: &str) -> (Proxy, u16, u16) {
    start_with_limit(upstream, LIMIT)
}

fn start_with_limit(upstream: &str, limit: usize) -> (Proxy, u16, u16) {
    let (port, admin) = (free_port(), free_port());
    let proxy = Proxy::start(
        &one_workflow("w", upstream, port, ""),
        &[
            "--max-record-bytes",
            &limit.to_string(),
            "--admin-addr",
            &format!("127.0.0.1:{admin}"),
        ],
    );
    (proxy, port, admin)
}

/// The value of one series of `/metrics` (0 when absent).
async fn metric(admin: u16, series: &str) -> f64 {
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
        .find(|(name, _)| *name == series)
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(0.0)
}

fn dropped(reason: &str) -> String {
    format!("micromodel_records_dropped_total{{reason=\"{reason}\"}}")
}

/// Polls until `series` is exactly `want` (at most 15 s).
async fn wait_metric(admin: u16, series: &str, want: f64) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let value = metric(admin, series).await;
        if value == want {
            return;
        }
        assert!(
            value < want && Instant::now() < deadline,
            "{series} is {value}, expected {want}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends one normal chat request and waits for its record: since the recorder keeps order, a
/// hostile answer before it that was (wrongly) recorded would show up as a second record.
async fn only_the_normal_record_follows(proxy: &Proxy, normal_port: u16) {
    let response = client()
        .post(format!("{}/v1/chat/completions", Proxy::url(normal_port)))
        .json(&json!({"model": "m", "messages": [{"role": "user", "content": "ok?"}]}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    let records = proxy.wait_records("w", 1);
    assert_eq!(records[0]["messages"][0]["content"], "ok?");
}

fn chat_stream_request() -> Value {
    json!({"model": "m", "stream": true, "messages": [{"role": "user", "content": "hi"}]})
}

/// Streams `pieces` through a controlled SSE upstream and returns what the client received.
async fn stream_through(pieces: Vec<Vec<u8>>) -> (Proxy, u16, Vec<u8>, Vec<u8>) {
    let (upstream, mut handles) = controlled_sse();
    let (proxy, port, admin) = start(&upstream.url);
    let sent: Vec<u8> = pieces.concat();
    let request = client()
        .post(format!("{}/v1/chat/completions", Proxy::url(port)))
        .json(&chat_stream_request())
        .send();
    let writer = tokio::spawn(async move {
        let mut handle = handles.recv().await.expect("the upstream got the request");
        for piece in pieces {
            assert!(handle.send(piece), "the proxy let go of the stream early");
        }
        handle.end();
        (handle, upstream)
    });
    let response = request.await.expect("send");
    assert_eq!(response.status(), 200);
    let received = response.bytes().await.expect("the whole body").to_vec();
    let _keep = writer.await.expect("writer");
    (proxy, admin, sent, received)
}

fn content_delta(text: &str) -> Vec<u8> {
    let chunk = json!({"id": "s1", "choices": [{"index": 0, "delta": {"content": text}}]});
    format!("data: {chunk}\n\n").into_bytes()
}

fn finish_and_done() -> Vec<u8> {
    let chunk =
        json!({"id": "s1", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]});
    format!("data: {chunk}\n\ndata: [DONE]\n\n").into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sse_line_without_newline_past_the_limit_passes_through_unrecorded() {
    let mut pieces =
        vec![b"data: {\"id\":\"s1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"".to_vec()];
    for _ in 0..HOSTILE_BYTES / LIMIT {
        pieces.push(vec![b'x'; LIMIT]);
    }
    let (proxy, admin, sent, received) = stream_through(pieces).await;
    assert!(received == sent, "the client got the stream unchanged");
    wait_metric(admin, &dropped("too_large"), 1.0).await;
    assert_eq!(metric(admin, &dropped("incomplete")).await, 0.0);
    proxy.wait_log("larger than --max-record-bytes", 1);
    // The capture was given up when it went past the limit: nothing can be recorded later.
    assert!(proxy.records("w").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_lines_without_a_blank_line_past_the_limit_pass_through_unrecorded() {
    let line = format!("data: {}\n", "y".repeat(1000));
    let mut pieces: Vec<Vec<u8>> = (0..HOSTILE_BYTES / line.len())
        .map(|_| line.clone().into_bytes())
        .collect();
    pieces.push(b"\n".to_vec());
    pieces.push(finish_and_done());
    let (_proxy, admin, sent, received) = stream_through(pieces).await;
    assert!(received == sent, "the client got the stream unchanged");
    wait_metric(admin, &dropped("too_large"), 1.0).await;
    assert_eq!(metric(admin, &dropped("incomplete")).await, 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_events_adding_up_past_the_limit_are_not_recorded() {
    let mut pieces: Vec<Vec<u8>> = (0..HOSTILE_BYTES / 1024)
        .map(|_| content_delta(&"z".repeat(1000)))
        .collect();
    pieces.push(finish_and_done());
    let (proxy, admin, sent, received) = stream_through(pieces).await;
    assert!(received == sent, "the client got the stream unchanged");
    wait_metric(admin, &dropped("too_large"), 1.0).await;
    assert!(proxy.records("w").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_under_the_limit_is_still_recorded() {
    let pieces = vec![content_delta("fine"), finish_and_done()];
    let (proxy, admin, sent, received) = stream_through(pieces).await;
    assert_eq!(received, sent);
    let records = proxy.wait_records("w", 1);
    assert_eq!(records[0]["messages"][1]["content"], "fine");
    assert_eq!(metric(admin, &dropped("too_large")).await, 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_streamed_answer_past_the_limit_passes_through_unrecorded() {
    let big = json!({
        "id": "big", "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "b".repeat(HOSTILE_BYTES)},
                     "finish_reason": "stop"}]
    });
    let body = serde_json::to_vec(&big).expect("json");
    let expected = body.clone();
    let upstream = FakeUpstream::start(move |seen| {
        let body = body.clone();
        async move {
            if seen.json()["messages"][0]["content"] == "ok?" {
                return openai_like(seen).await;
            }
            Response::builder()
                .status(StatusCode::OK)
                .header("content-type", "application/json")
                .body(Body::from(body))
                .expect("response")
        }
    });
    let (proxy, port, admin) = start(&upstream.url);
    let response = client()
        .post(format!("{}/v1/chat/completions", Proxy::url(port)))
        .json(&json!({"model": "m", "messages": [{"role": "user", "content": "big"}]}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    let received = response.bytes().await.expect("body");
    assert!(received == expected, "the client got the answer unchanged");
    wait_metric(admin, &dropped("too_large"), 1.0).await;
    only_the_normal_record_follows(&proxy, port).await;
}

fn many_choices(count: u32) -> Value {
    let choices: Vec<Value> = (0..count)
        .map(|i| {
            json!({"index": i, "message": {"role": "assistant", "content": format!("c{i}")},
                   "finish_reason": "stop"})
        })
        .collect();
    json!({"id": "many", "object": "chat.completion", "choices": choices})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_choices_for_n_1_record_only_index_0() {
    let answer = many_choices(1000);
    let expected = serde_json::to_vec(&answer).expect("json");
    let upstream = FakeUpstream::start(move |_| {
        let answer = answer.clone();
        async move { json_response(StatusCode::OK, &answer) }
    });
    // The answer (about 90 KB) must fit the record limit for its choices to be looked at.
    let (proxy, port, admin) = start_with_limit(&upstream.url, 1024 * 1024);
    let response = client()
        .post(format!("{}/v1/chat/completions", Proxy::url(port)))
        .json(&json!({"model": "m", "n": 1, "messages": [{"role": "user", "content": "one"}]}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await.expect("body"), expected);
    wait_metric(admin, &dropped("unexpected_choice"), 999.0).await;
    let records = proxy.wait_records("w", 1);
    assert_eq!(records[0]["messages"][1]["content"], "c0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_choices_past_n_are_left_out_and_counted() {
    let mut pieces = Vec::new();
    for i in 0..1000 {
        let chunk = json!({"id": "s1", "choices": [{"index": i, "delta": {"content": format!("c{i}")},
                                                     "finish_reason": "stop"}]});
        pieces.push(format!("data: {chunk}\n\n").into_bytes());
    }
    pieces.push(b"data: [DONE]\n\n".to_vec());
    let (proxy, admin, sent, received) = stream_through(pieces).await;
    assert!(received == sent, "the client got the stream unchanged");
    wait_metric(admin, &dropped("unexpected_choice"), 999.0).await;
    let records = proxy.wait_records("w", 1);
    assert_eq!(records[0]["messages"][1]["content"], "c0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_allow_n_times_the_prompts() {
    let choices: Vec<Value> = (0..6)
        .map(|i| json!({"index": i, "text": format!("t{i}"), "finish_reason": "stop"}))
        .collect();
    let answer = json!({"id": "cmpl", "object": "text_completion", "choices": choices});
    let upstream = FakeUpstream::start(move |_| {
        let answer = answer.clone();
        async move { json_response(StatusCode::OK, &answer) }
    });
    let (proxy, port, admin) = start(&upstream.url);
    let response = client()
        .post(format!("{}/v1/completions", Proxy::url(port)))
        .json(&json!({"model": "m", "n": 2, "prompt": ["a", "b"]}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    response.bytes().await.expect("body");
    wait_metric(admin, &dropped("unexpected_choice"), 2.0).await;
    let records = proxy.wait_records("w", 4);
    let prompts: Vec<&str> = records
        .iter()
        .map(|r| r["messages"][0]["content"].as_str().expect("prompt"))
        .collect();
    assert_eq!(prompts, vec!["a", "a", "b", "b"]);
}

#[test]
fn the_capture_frees_everything_once_past_the_limit() {
    let limits = CaptureLimits {
        max_bytes: LIMIT,
        max_choices: 1,
    };
    let mut capture = StreamCapture::with_limits(EndpointKind::Chat, limits);
    capture.feed(&content_delta("small"));
    assert!(!capture.too_large());
    capture.feed(&content_delta(&"q".repeat(LIMIT)));
    assert!(capture.too_large());
    assert!(capture.is_done());
    capture.feed(&finish_and_done());
    assert!(matches!(
        capture.finish(),
        Err(micromodel::record::Incomplete::TooLarge { .. })
    ));
}
