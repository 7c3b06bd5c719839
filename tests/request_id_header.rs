//! The `x-micromodel-request-id` header (docs/labels.md) through the real binary: the
//! record's `request_id` on the answers of every recorded endpoint, streamed (the id of the
//! first event) or not, the bytes the client receives unchanged; a stream whose first event
//! does not come in time gets its head without the header and goes on; every head without it
//! is counted on `/metrics` by workflow and reason.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use axum::response::Response;
use common::dialects::{dialect_upstream, fixture};
use common::upstream::{controlled_sse, json_response, sse_events, sse_response, Seen};
use common::{client, eventually_async, free_port, one_workflow, FakeUpstream, Proxy};
use serde_json::{json, Value};

const HEADER: &str = "x-micromodel-request-id";

/// How long the proxy holds a stream's head for its first event (docs/labels.md).
const STREAM_HOLD: Duration = Duration::from_millis(1000);

/// Longest wait for anything that should happen (a noisy machine must never hit it).
const LIMIT: Duration = Duration::from_secs(20);

/// The counter of recorded answers whose head went out without the header (docs/operations.md).
const MISSING: &str = "micromodel_request_id_header_missing_total";

/// The proxy for one workflow `w` on `upstream`, with the admin listener; (proxy, port, admin).
fn proxy_with_metrics(upstream: &str) -> (Proxy, u16, u16) {
    let (port, admin) = (free_port(), free_port());
    let admin_addr = format!("127.0.0.1:{admin}");
    let config = one_workflow("w", upstream, port, "");
    let proxy = Proxy::start(&config, &["--admin-addr", &admin_addr]);
    (proxy, port, admin)
}

/// The series of [`MISSING`] on `/metrics`: labels (`{workflow="w",reason="..."}`) to value.
async fn missing_series(admin: u16) -> Result<BTreeMap<String, f64>, String> {
    let url = format!("http://127.0.0.1:{admin}/metrics");
    let response = client().get(url).send().await.map_err(|e| e.to_string())?;
    let text = response.text().await.map_err(|e| e.to_string())?;
    Ok(text
        .lines()
        .filter_map(|line| line.strip_prefix(MISSING)?.rsplit_once(' '))
        .map(|(labels, value)| (labels.to_owned(), value.parse().expect("a number")))
        .collect())
}

/// Waits until the series of [`MISSING`] are exactly `want` (reason, value) for workflow `w`.
/// The count is taken before the head goes out, so once a client has its head the series
/// are final for it: an exact match also shows that nothing else was counted.
async fn wait_missing(admin: u16, want: &[(&str, f64)]) {
    let want: BTreeMap<String, f64> = want
        .iter()
        .map(|(reason, n)| (format!("{{workflow=\"w\",reason=\"{reason}\"}}"), *n))
        .collect();
    eventually_async(LIMIT, format_args!("{MISSING} to be {want:?}"), || async {
        let got = missing_series(admin).await?;
        if got == want {
            Ok(())
        } else {
            Err(format!("{got:?}"))
        }
    })
    .await;
}

fn chat_chunk(delta: Value, finish: Option<&str>) -> Value {
    json!({"id": "chatcmpl-s1", "object": "chat.completion.chunk", "created": 1, "model": "m",
           "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
}

fn completion_chunk(text: &str, finish: Option<&str>) -> Value {
    json!({"id": "cmpl-s1", "object": "text_completion", "created": 1, "model": "m",
           "choices": [{"index": 0, "text": text, "finish_reason": finish, "logprobs": null}]})
}

/// The bytes the upstream sends for a request: the dialect fixtures (named by `x-fixture`),
/// or chat / completions streams built here (with a leading comment when `x-comment` is set,
/// a leading event without `id` when `x-no-id` is set).
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
    if seen.headers.contains_key("x-no-id") {
        text.insert_str(
            0,
            "data: {\"object\":\"chat.completion.chunk\",\"choices\":[]}\n\n",
        );
    }
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
fn expected(
    path: &str,
    fixture_name: Option<&str>,
    stream: bool,
    flags: &[&'static str],
) -> Vec<u8> {
    if let Some(name) = fixture_name {
        return fixture(&format!("{name}.{}", if stream { "sse" } else { "json" }));
    }
    let mut headers = axum::http::HeaderMap::new();
    for flag in flags {
        headers.insert(*flag, "1".parse().expect("value"));
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
            let bytes = response.bytes().await.expect("body");
            let id = if stream { stream_id } else { json_id };
            n += 1;
            let records = proxy.wait_records("w", n);
            assert_eq!(records[n - 1]["request_id"], id, "{path} stream={stream}");
            assert_eq!(header.as_deref(), Some(id), "{path} stream={stream}");
            let sent = if fixture_name.is_none() && !stream {
                // openai_like's answers: compare as JSON (its serialisation is the test's).
                let got: Value = serde_json::from_slice(&bytes).expect("json");
                assert_eq!(got["id"], id);
                continue;
            } else {
                expected(path, fixture_name, stream, &[])
            };
            assert_eq!(
                &bytes[..],
                &sent[..],
                "{path} stream={stream}: bytes unchanged"
            );
        }
    }
}

/// A streamed chat request with the given `x-*` flags for the upstream.
async fn stream_with(port: u16, flags: &[&str]) -> reqwest::Response {
    let body = r#"{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true}"#;
    let mut request = client().post(format!("{}/v1/chat/completions", Proxy::url(port)));
    for flag in flags {
        request = request.header(*flag, "1");
    }
    request.body(body).send().await.expect("send")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_header_without_an_id_or_for_upstream_errors_and_each_missing_one_is_counted() {
    let upstream = FakeUpstream::start(|seen: Seen| async move {
        if seen.headers.contains_key("x-fail") {
            return json_response(
                StatusCode::TOO_MANY_REQUESTS,
                &json!({"error": {"message": "slow down", "id": "x"}}),
            );
        }
        if seen.headers.contains_key("x-no-id") && seen.json()["stream"] != json!(true) {
            let mut answer = common::upstream::chat_completion("no id");
            answer.as_object_mut().expect("object").remove("id");
            return json_response(StatusCode::OK, &answer);
        }
        upstream(seen).await
    });
    let (proxy, port, admin) = proxy_with_metrics(&upstream.url);

    // A keep-alive comment is no event: the id is that of the first event after it.
    let response = stream_with(port, &["x-comment"]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()[HEADER],
        "chatcmpl-s1",
        "past the comment"
    );
    let bytes = response.bytes().await.expect("body");
    let sent = expected("/v1/chat/completions", None, true, &["x-comment"]);
    assert_eq!(&bytes[..], &sent[..], "bytes unchanged");
    assert_eq!(proxy.wait_records("w", 1)[0]["request_id"], "chatcmpl-s1");
    wait_missing(admin, &[]).await;

    // The first event has no id: no header, the stream and its record as ever.
    let response = stream_with(port, &["x-comment", "x-no-id"]).await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers().get(HEADER).is_none(),
        "the first event has no id"
    );
    let bytes = response.bytes().await.expect("body");
    let sent = expected(
        "/v1/chat/completions",
        None,
        true,
        &["x-comment", "x-no-id"],
    );
    assert_eq!(&bytes[..], &sent[..], "bytes unchanged");
    assert_eq!(
        proxy.wait_records("w", 2)[1]["request_id"],
        "chatcmpl-s1",
        "still recorded"
    );
    wait_missing(admin, &[("no_id_in_first_event", 1.0)]).await;

    // Not a recorded answer: no header, and not counted (there is no record to name).
    let response = stream_with(port, &["x-fail"]).await;
    assert_eq!(response.status(), 429);
    assert!(
        response.headers().get(HEADER).is_none(),
        "not a recorded answer"
    );
    wait_missing(admin, &[("no_id_in_first_event", 1.0)]).await;

    // A JSON answer without `id`.
    let response = client()
        .post(format!("{}/v1/chat/completions", Proxy::url(port)))
        .header("x-no-id", "1")
        .body(r#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    assert!(
        response.headers().get(HEADER).is_none(),
        "the answer has no id"
    );
    let counted = [("no_id_in_answer", 1.0), ("no_id_in_first_event", 1.0)];
    wait_missing(admin, &counted).await;

    // Answers with their id again: the counts do not move.
    let response = stream_with(port, &[]).await;
    assert_eq!(response.headers()[HEADER], "chatcmpl-s1");
    response.bytes().await.expect("body");
    wait_missing(admin, &counted).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_silent_after_its_head_gets_the_head_at_the_limit_without_the_header() {
    let (upstream, mut handles) = controlled_sse();
    let (proxy, port, admin) = proxy_with_metrics(&upstream.url);
    let started = Instant::now();
    // The upstream sends its head and no byte more until the client has the head.
    let mut response = stream_with(port, &[]).await;
    let waited = started.elapsed();
    let mut handle = tokio::time::timeout(LIMIT, handles.recv())
        .await
        .expect("the upstream has the request")
        .expect("upstream running");
    assert_eq!(response.status(), 200);
    assert!(response.headers().get(HEADER).is_none(), "no event yet");
    assert!(
        waited >= STREAM_HOLD,
        "the head was held for the first event up to the limit: {waited:?}"
    );
    wait_missing(admin, &[("stream_hold_expired", 1.0)]).await;

    // The stream goes on as if nothing was held.
    let mut got = Vec::new();
    for event in sse_events(&[
        chat_chunk(json!({"role": "assistant", "content": ""}), None),
        chat_chunk(json!({"content": "late"}), None),
        chat_chunk(json!({}), Some("stop")),
    ]) {
        assert!(handle.send(event.clone()));
        got.extend_from_slice(event.as_bytes());
        let mut read = Vec::new();
        while read.len() < event.len() {
            let chunk = tokio::time::timeout(LIMIT, response.chunk())
                .await
                .expect("the event in time")
                .expect("read")
                .expect("not the end");
            read.extend_from_slice(&chunk);
        }
        assert_eq!(read, event.as_bytes(), "each event as it was sent");
    }
    handle.end();
    let rest = tokio::time::timeout(LIMIT, response.bytes())
        .await
        .expect("the end in time")
        .expect("body");
    assert!(rest.is_empty());
    let record = &proxy.wait_records("w", 1)[0];
    assert_eq!(record["request_id"], "chatcmpl-s1");
    assert_eq!(record["messages"][1]["content"], "late");
}
