//! §3 the error table through the real binary: upstream errors passed through verbatim (and not
//! recorded), 502 when the upstream is down, 504 when it is slow, 413 over `--max-body-bytes`,
//! 400 for bad bodies, and an answer over `--max-record-bytes` passed on whole but not recorded.

mod common;
mod proxy_support;

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use common::upstream::{json_response, openai_like};
use common::{client, free_port, one_workflow, FakeUpstream, Proxy};
use proxy_support::{assert_openai_error, SECRET};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_errors_pass_through_verbatim_and_are_not_recorded() {
    let upstream = FakeUpstream::start(|seen: common::Seen| async move {
        let status = match seen.json()["model"].as_str() {
            Some("401") => StatusCode::UNAUTHORIZED,
            Some("429") => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let mut response = json_response(
            status,
            &json!({"error": {"message": format!("upstream says {status}"), "type": "x"}}),
        );
        response
            .headers_mut()
            .insert("retry-after", "7".parse().expect("header"));
        response
    });
    let port = free_port();
    let mut proxy = Proxy::start(&one_workflow("errors", &upstream.url, port, ""), &[]);
    for (model, status) in [("401", 401), ("429", 429), ("500", 500)] {
        let response = client()
            .post(format!("{}/v1/chat/completions", Proxy::url(port)))
            .json(&json!({"model": model, "messages": [{"role":"user","content":"x"}]}))
            .send()
            .await
            .expect("send");
        assert_eq!(response.status().as_u16(), status);
        assert_eq!(response.headers()["retry-after"], "7");
        let body: Value = response.json().await.expect("json");
        assert!(body["error"]["message"]
            .as_str()
            .expect("msg")
            .starts_with("upstream says"));
    }
    // A graceful stop flushes the recorder: a (wrong) record would be on disk now.
    assert!(proxy.stop().success());
    assert!(proxy.records("errors").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_down_is_502_fast() {
    let dead = free_port();
    let port = free_port();
    let _proxy = Proxy::start(
        &one_workflow("down", &format!("http://127.0.0.1:{dead}"), port, SECRET),
        &[],
    );
    let started = Instant::now();
    let response = client()
        .post(format!("{}/v1/chat/completions", Proxy::url(port)))
        .json(&json!({"model":"m","messages":[]}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 502);
    // "Fast" means well under the 600 s default timeout, not a timing threshold.
    assert!(started.elapsed() < Duration::from_secs(30));
    let body: Value = response.json().await.expect("json");
    assert_openai_error(&body, "bad_gateway");
    assert!(!body.to_string().contains(SECRET));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_upstream_is_504() {
    let upstream = FakeUpstream::start(|_| async {
        tokio::time::sleep(Duration::from_secs(30)).await;
        json_response(StatusCode::OK, &json!({}))
    });
    let port = free_port();
    let config =
        json!({"slow": {"OPENAI_API_HOST": upstream.url, "PORT": port, "TIMEOUT_SECONDS": 0.5}});
    let proxy = Proxy::start(&config, &[]);
    let response = client()
        .post(format!("{}/v1/chat/completions", Proxy::url(port)))
        .json(&json!({"model":"m","messages":[]}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 504);
    assert_openai_error(&response.json().await.expect("json"), "gateway_timeout");
    assert!(proxy.records("slow").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_body_is_413_and_never_reaches_upstream() {
    let upstream = FakeUpstream::start(openai_like);
    let port = free_port();
    let _proxy = Proxy::start(
        &one_workflow("big", &upstream.url, port, ""),
        &["--max-body-bytes", "1000"],
    );
    let big = json!({"model":"m","messages":[{"role":"user","content":"x".repeat(2000)}]});
    for path in ["/v1/chat/completions", "/v1/embeddings"] {
        let response = client()
            .post(format!("{}{path}", Proxy::url(port)))
            .json(&big)
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 413, "{path}");
        assert_openai_error(&response.json().await.expect("json"), "request_too_large");
    }
    // Chunked (no Content-Length): the limit still holds.
    let stream =
        futures_util::stream::iter((0..20).map(|_| Ok::<_, std::io::Error>(vec![b' '; 100])));
    let response = client()
        .post(format!("{}/v1/chat/completions", Proxy::url(port)))
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 413);
    assert!(upstream.seen().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_over_the_record_limit_is_passed_on_whole_but_not_recorded() {
    let long = "y".repeat(3000);
    let answer = common::upstream::chat_completion(&long);
    let upstream = FakeUpstream::start(move |_| {
        let answer = answer.clone();
        async move { json_response(StatusCode::OK, &answer) }
    });
    let port = free_port();
    let proxy = Proxy::start(
        &one_workflow("huge", &upstream.url, port, ""),
        &["--max-record-bytes", "1000"],
    );
    let response = client()
        .post(format!("{}/v1/chat/completions", Proxy::url(port)))
        .json(&json!({"model":"m","messages":[{"role":"user","content":"Hi"}]}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    let got: Value = response.json().await.expect("json");
    assert_eq!(got, common::upstream::chat_completion(&long));
    proxy.wait_log("larger than --max-record-bytes", 1);
    assert!(proxy.records("huge").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bodies_are_400_in_openai_shape() {
    let upstream = FakeUpstream::start(openai_like);
    let port = free_port();
    let proxy = Proxy::start(&one_workflow("bad", &upstream.url, port, ""), &[]);
    for (body, code) in [
        ("{not json", "invalid_json"),
        ("", "invalid_json"),
        ("[1,2,3]", "invalid_body"),
        ("\"text\"", "invalid_body"),
        (r#"{"model":"m","workflow_id":42}"#, "invalid_workflow_id"),
    ] {
        for path in ["/v1/chat/completions", "/v1/completions"] {
            let response = client()
                .post(format!("{}{path}", Proxy::url(port)))
                .body(body)
                .send()
                .await
                .expect("send");
            assert_eq!(response.status(), 400, "{body}");
            assert_openai_error(&response.json().await.expect("json"), code);
        }
    }
    assert!(upstream.seen().is_empty());
    assert!(proxy.records("bad").is_empty());
}
