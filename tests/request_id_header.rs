//! The `x-micromodel-request-id` header (docs/labels.md) through the real binary: the
//! record's `request_id` on the non-streamed answers of every recorded endpoint (streams pass
//! their head on at once while `HOLD_STREAM_HEADS` is off), the bytes the client receives unchanged.

mod common;

use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use axum::response::Response;
use common::dialects::{dialect_upstream, fixture};
use common::upstream::{json_response, sse_events, sse_response, Seen};
use common::{client, free_port, one_workflow, FakeUpstream, Proxy};
use serde_json::{json, Value};

const HEADER: &str = "x-micromodel-request-id";

fn chat_chunk(delta: Value, finish: Option<&str>) -> Value {
    json!({"id": "chatcmpl-s1", "object": "chat.completion.chunk", "created": 1, "model": "m",
           "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
}

fn completion_chunk(text: &str, finish: Option<&str>) -> Value {
    json!({"id": "cmpl-s1", "object": "text_completion", "created": 1, "model": "m",
           "choices": [{"index": 0, "text": text, "finish_reason": finish, "logprobs": null}]})
}

/// The bytes the upstream sends for a request: the dialect fixtures (named by `x-fixture`),
/// or chat / completions streams built here (with a leading comment when `x-comment` is set).
fn upstream_bytes(seen: &Seen) -> Option<Vec<u8>> {
    let fixture = seen.headers.get("x-fixture").is_some_and(|v| !v.is_empty());
    if seen.json()["stream"] != json!(true) || fixture {
        return None;
    }
    let events = if seen.path_and_query.starts_with("/v1/chat/completions") {
        sse_events(&[
            chat_chunk(json!({"role": "assistant", "content": ""}), None),
            chat_chunk(json!({"content": "Hi"}), None),
            chat_chunk(json!({}), Some("stop")),
        ])
    } else {
        sse_events(&[
            completion_chunk("Hi", None),
            completion_chunk("", Some("stop")),
        ])
    };
    let mut text = events.concat();
    if seen.headers.contains_key("x-comment") {
        text.insert_str(0, ": keep-alive\n\n");
    }
    Some(text.into_bytes())
}

async fn upstream(seen: Seen) -> Response {
    match upstream_bytes(&seen) {
        Some(bytes) => {
            let chunks: Vec<Result<Bytes, std::io::Error>> = bytes
                .chunks(29)
                .map(|c| Ok(Bytes::copy_from_slice(c)))
                .collect();
            sse_response(Body::from_stream(futures_util::stream::iter(chunks)))
        }
        None => dialect_upstream(seen).await,
    }
}

/// What the upstream sent for `path` with these settings, to compare with what came through.
fn expected(path: &str, fixture_name: Option<&str>, stream: bool, comment: bool) -> Vec<u8> {
    if let Some(name) = fixture_name {
        return fixture(&format!("{name}.{}", if stream { "sse" } else { "json" }));
    }
    let mut headers = axum::http::HeaderMap::new();
    if comment {
        headers.insert("x-comment", "1".parse().expect("value"));
    }
    let body = json!({"stream": stream});
    let seen = Seen {
        method: axum::http::Method::POST,
        version: axum::http::Version::HTTP_11,
        path_and_query: path.to_owned(),
        target: path.to_owned(),
        headers,
        body: Bytes::from(body.to_string()),
    };
    upstream_bytes(&seen).expect("a built stream")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_recorded_endpoint_names_its_record_streamed_or_not() {
    let upstream = FakeUpstream::start(upstream);
    let port = free_port();
    let proxy = Proxy::start(&one_workflow("w", &upstream.url, port, ""), &[]);
    let chat = r#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#;
    let completions = r#"{"model":"m","prompt":"hi"}"#;
    let responses = r#"{"model":"gpt-4.1","input":"hi"}"#;
    let messages = r#"{"model":"claude-opus-4-6","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}"#;
    let cases = [
        (
            "/v1/chat/completions",
            chat,
            None,
            "chatcmpl-test1",
            "chatcmpl-s1",
        ),
        (
            "/v1/completions",
            completions,
            None,
            "cmpl-test1",
            "cmpl-s1",
        ),
        (
            "/v1/responses",
            responses,
            Some("responses_text"),
            "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b",
            "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b",
        ),
        (
            "/v1/messages",
            messages,
            Some("messages_text"),
            "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY",
            "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY",
        ),
    ];
    let mut n = 0;
    for (path, body, fixture_name, json_id, stream_id) in cases {
        for stream in [false, true] {
            let open = body.strip_suffix('}').expect("object");
            let response = client()
                .post(format!("{}{path}", Proxy::url(port)))
                .header("x-fixture", fixture_name.unwrap_or(""))
                .header("content-type", "application/json")
                .body(format!("{open},\"stream\":{stream}}}"))
                .send()
                .await
                .expect("send");
            assert_eq!(response.status(), 200, "{path} stream={stream}");
            let header = response
                .headers()
                .get(HEADER)
                .map(|v| v.to_str().expect("ascii").to_owned());
            if stream {
                // Streams pass their head on at once (HOLD_STREAM_HEADS is off).
                assert!(header.is_none(), "{path}: {header:?}");
            }
            let bytes = response.bytes().await.expect("body");
            let id = if stream { stream_id } else { json_id };
            n += 1;
            let records = proxy.wait_records("w", n);
            assert_eq!(records[n - 1]["request_id"], id, "{path} stream={stream}");
            if !stream {
                assert_eq!(header.as_deref(), Some(id), "{path}");
            }
            let sent = if fixture_name.is_none() && !stream {
                // openai_like's answers: compare as JSON (its serialisation is the test's).
                let got: Value = serde_json::from_slice(&bytes).expect("json");
                assert_eq!(got["id"], id);
                continue;
            } else {
                expected(path, fixture_name, stream, false)
            };
            assert_eq!(
                &bytes[..],
                &sent[..],
                "{path} stream={stream}: bytes unchanged"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_header_without_an_id_in_the_first_event_or_for_upstream_errors() {
    let upstream = FakeUpstream::start(|seen: Seen| async move {
        if seen.headers.contains_key("x-fail") {
            return json_response(
                StatusCode::TOO_MANY_REQUESTS,
                &json!({"error": {"message": "slow down", "id": "x"}}),
            );
        }
        upstream(seen).await
    });
    let port = free_port();
    let proxy = Proxy::start(&one_workflow("w", &upstream.url, port, ""), &[]);
    let body = r#"{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true}"#;
    let response = client()
        .post(format!("{}/v1/chat/completions", Proxy::url(port)))
        .header("x-comment", "1")
        .body(body)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    assert!(
        response.headers().get(HEADER).is_none(),
        "a comment is the first event"
    );
    let bytes = response.bytes().await.expect("body");
    let sent = expected("/v1/chat/completions", None, true, true);
    assert_eq!(&bytes[..], &sent[..], "bytes unchanged");
    assert_eq!(
        proxy.wait_records("w", 1)[0]["request_id"],
        "chatcmpl-s1",
        "still recorded"
    );

    let response = client()
        .post(format!("{}/v1/chat/completions", Proxy::url(port)))
        .header("x-fail", "1")
        .body(body)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 429);
    assert!(
        response.headers().get(HEADER).is_none(),
        "not a recorded answer"
    );
}
