//! Recording controls (issue 14, item 4) through the real binary over real sockets: the
//! `X-MicroModel-Record` opt-out, `RECORD: "none"` and `RESPECT_STORE`. A skipped request is
//! answered as usual, never recorded, and counted in
//! `micromodel_records_skipped_total{workflow,reason}`. Sampling, reload and validation are in
//! `recording_sampling.rs`.
//!
//! "Not recorded" is shown by a marker request sent afterwards: the recorder keeps order, so
//! once the marker's record is on disk, a skipped request that was (wrongly) recorded before it
//! would be there too.

mod common;
mod controls_support;

use common::upstream::openai_like;
use common::{client, free_port, FakeUpstream, Proxy};
use controls_support::*;
use serde_json::{json, Value};

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
