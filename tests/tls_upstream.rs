//! An `https://` upstream (like OpenAI's): TLS through rustls, HTTP/2 when the upstream offers
//! it, trust from the system store via `SSL_CERT_FILE`, and a clear 502 when the
//! certificate is not trusted. The trust roots are loaded only once a config names an
//! `https://` upstream (at start, or at the reload that adds one).

mod common;

use axum::body::Body;
use axum::http::{StatusCode, Version};
use common::upstream::tls::ca_file;
use common::upstream::{chat_completion, json_response, sse_events, sse_response, Seen};
use common::{client, free_port, one_workflow, FakeUpstream, Proxy};
use serde_json::{json, Value};

/// JSON for a plain request, SSE when the request says `stream: true`.
async fn answer(seen: Seen) -> axum::response::Response {
    if seen.json()["stream"] == true {
        let chunk = |delta: Value, finish: Value| {
            json!({"id": "chatcmpl-tls", "object": "chat.completion.chunk", "created": 1,
                   "model": "m", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        };
        let events = sse_events(&[
            chunk(json!({"role": "assistant", "content": ""}), Value::Null),
            chunk(json!({"content": "Hello over "}), Value::Null),
            chunk(json!({"content": "TLS"}), Value::Null),
            chunk(json!({}), json!("stop")),
        ]);
        let stream =
            futures_util::stream::iter(events.into_iter().map(Ok::<_, std::convert::Infallible>));
        return sse_response(Body::from_stream(stream));
    }
    json_response(StatusCode::OK, &chat_completion("Hello over TLS"))
}

/// What MicroModel logs (at debug, as the tests run it) when it has loaded the trust roots.
const ROOTS_LOADED: &str = "System trust roots loaded.";

/// A plain JSON request to `port`, answered.
async fn ask(port: u16) -> reqwest::Response {
    client()
        .post(format!("{}/v1/chat/completions", Proxy::url(port)))
        .json(&json!({"model": "m", "messages": [{"role": "user", "content": "Hi"}]}))
        .send()
        .await
        .expect("send")
}

fn start(upstream: &FakeUpstream, trust_test_ca: bool) -> (Proxy, u16) {
    let port = free_port();
    let config = one_workflow("tls", &upstream.url, port, "sk-tls-secret");
    let ca = ca_file();
    let env: Vec<(&str, &str)> = if trust_test_ca {
        vec![("SSL_CERT_FILE", ca.to_str().expect("utf-8 path"))]
    } else {
        // The system store (and the bundled roots) do not know the test CA.
        vec![]
    };
    (Proxy::start_with_env(&config, &[], &env), port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_upstream_over_http2_is_forwarded_and_recorded() {
    let upstream = FakeUpstream::start_tls(answer);
    assert!(upstream.url.starts_with("https://localhost:"));
    let (proxy, port) = start(&upstream, true);
    let logs = proxy.logs();
    assert_eq!(logs.matches(ROOTS_LOADED).count(), 1, "at start: {logs}");
    let body = r#"{"model":"m","messages":[{"role":"user","content":"Hi"}]}"#;
    let response = client()
        .post(format!("{}/v1/chat/completions", Proxy::url(port)))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.expect("json");
    assert_eq!(answer, chat_completion("Hello over TLS"));

    let seen = upstream.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].version, Version::HTTP_2, "ALPN picked HTTP/2");
    assert_eq!(&seen[0].body[..], body.as_bytes());
    assert_eq!(seen[0].headers["authorization"], "Bearer sk-tls-secret");
    assert_eq!(seen[0].path_and_query, "/v1/chat/completions");

    let records = proxy.wait_records("tls", 1);
    assert_eq!(
        records[0]["messages"][1],
        json!({"role": "assistant", "content": "Hello over TLS"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_stream_is_passed_on_and_recorded() {
    let upstream = FakeUpstream::start_tls(answer);
    let (proxy, port) = start(&upstream, true);
    let response = client()
        .post(format!("{}/v1/chat/completions", Proxy::url(port)))
        .json(&json!({"model": "m", "stream": true,
                      "messages": [{"role": "user", "content": "Hi"}]}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let text = response.text().await.expect("body");
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");

    let records = proxy.wait_records("tls", 1);
    assert_eq!(records[0]["stream"], true);
    assert_eq!(
        records[0]["messages"][1],
        json!({"role": "assistant", "content": "Hello over TLS"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrusted_certificate_is_a_502_and_nothing_is_recorded() {
    let upstream = FakeUpstream::start_tls(answer);
    let (mut proxy, port) = start(&upstream, false);
    let response = ask(port).await;
    assert_eq!(response.status(), 502);
    let error: Value = response.json().await.expect("json");
    let message = error["error"]["message"].as_str().expect("message");
    assert!(
        message.contains(&upstream.url) && message.contains("certificate"),
        "{message}"
    );
    assert!(!message.contains("sk-tls-secret"));
    assert!(upstream.seen().is_empty(), "no request got through");

    // A graceful stop flushes the recorder: a (wrong) record would be on disk now.
    assert!(proxy.stop().success());
    assert!(proxy.records("tls").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_is_set_up_by_the_reload_that_adds_an_https_upstream() {
    let plain = FakeUpstream::start(answer);
    let tls = FakeUpstream::start_tls(answer);
    let port = free_port();
    let ca = ca_file();
    let env = [("SSL_CERT_FILE", ca.to_str().expect("utf-8 path"))];
    let proxy = Proxy::start_with_env(
        &one_workflow("tls", &plain.url, port, "sk-tls-secret"),
        &[],
        &env,
    );
    assert_eq!(ask(port).await.status(), 200);
    let logs = proxy.logs();
    assert!(!logs.contains(ROOTS_LOADED), "http:// only: {logs}");

    proxy.write_config(&one_workflow("tls", &tls.url, port, "sk-tls-secret"));
    proxy.wait_log("Config reloaded.", 1);
    let logs = proxy.logs();
    assert_eq!(
        logs.matches(ROOTS_LOADED).count(),
        1,
        "at the reload: {logs}"
    );
    let response = ask(port).await;
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.expect("json");
    assert_eq!(answer, chat_completion("Hello over TLS"));
    let seen = tls.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].version, Version::HTTP_2, "ALPN picked HTTP/2");
    assert_eq!(proxy.wait_records("tls", 2).len(), 2);
    assert_eq!(proxy.logs().matches(ROOTS_LOADED).count(), 1, "loaded once");
}
