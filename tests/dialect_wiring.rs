//! The wiring of the recorded endpoints (issue 13) through the real binary: `params` in
//! request order on every endpoint, the workflow's key as `x-api-key` for Anthropic Messages,
//! a Responses or Messages stream without terminal event not recorded, the service info's
//! endpoint list, and a real Responses client.

mod common;

use std::time::Duration;

use common::dialects::{fixture, post, start};
use common::{client, free_port, Proxy};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn params_are_kept_in_request_order_on_chat_and_completions() {
    let (_upstream, proxy, port) = start("", None);
    let chat = r#"{"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"zeta":1,"alpha":2}}},"model":"m","messages":[{"role":"user","content":"hi"}],"seed":7,"stream":false,"tool_choice":"none","temperature":0.2}"#;
    let completions = r#"{"model":"m","prompt":"Say","max_tokens":5,"stop":["\n"],"user":"u1"}"#;
    for (path, body) in [
        ("/v1/chat/completions", chat),
        ("/v1/completions", completions),
    ] {
        let response = client()
            .post(format!("{}{path}", Proxy::url(port)))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 200);
        response.bytes().await.expect("body");
    }
    proxy.wait_records("w", 2);
    let lines = common::raw_lines(&proxy.data_dir.join("w"));
    assert!(
        lines[0].contains(r#""workflow_id":"w","params":{"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"zeta":1,"alpha":2}}},"seed":7,"tool_choice":"none","temperature":0.2},"finish_reason""#),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains(r#""params":{"max_tokens":5,"stop":["\n"],"user":"u1"},"finish_reason""#),
        "{}",
        lines[1]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_get_the_key_as_x_api_key_and_anthropic_headers_pass() {
    const KEY: &str = "sk-ant-workflow-secret-42";
    let (upstream, proxy, port) = start(KEY, None);
    let body = r#"{"model":"claude-opus-4-6","max_tokens":64,"messages":[{"role":"user","content":"Hello, Claude"}],"stream":false}"#;
    let response = client()
        .post(format!("{}/v1/messages", Proxy::url(port)))
        .header("x-fixture", "messages_text")
        .header("x-api-key", "sk-client-own")
        .header("authorization", "Bearer sk-client-own")
        .header("anthropic-version", "2023-06-01")
        .header("anthropic-beta", "interleaved-thinking-2025-05-14")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    response.bytes().await.expect("body");
    proxy.wait_records("w", 1);
    let seen = upstream.seen().remove(0);
    assert_eq!(seen.headers["x-api-key"], KEY);
    assert_eq!(seen.headers.get_all("x-api-key").iter().count(), 1);
    assert!(seen.headers.get("authorization").is_none());
    assert_eq!(seen.headers["anthropic-version"], "2023-06-01");
    assert_eq!(
        seen.headers["anthropic-beta"],
        "interleaved-thinking-2025-05-14"
    );

    // Chat keeps `Authorization: Bearer` (and the key stays out of every log and record).
    post(
        port,
        "/v1/chat/completions",
        "",
        r#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#,
        false,
    )
    .await;
    proxy.wait_records("w", 2);
    let seen = upstream.seen().remove(1);
    assert_eq!(seen.headers["authorization"], format!("Bearer {KEY}"));
    assert!(!proxy.logs().contains(KEY), "key in the log");
    let lines = common::raw_lines(&proxy.data_dir.join("w")).join("\n");
    assert!(!lines.contains(KEY), "key in a record");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_responses_stream_without_terminal_event_is_not_recorded() {
    let admin = free_port();
    let (_upstream, proxy, port) = start("", Some(admin));
    let body = r#"{"model":"gpt-4.1","input":"hi","stream":true}"#;
    let response = client()
        .post(format!("{}/v1/responses", Proxy::url(port)))
        .header("x-fixture", "responses_text")
        .header("x-cut-before", "event: response.completed")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    let got = response.bytes().await.expect("body");
    let whole = String::from_utf8(fixture("responses_text.sse")).expect("utf8");
    let cut = &whole[..whole
        .find("event: response.completed")
        .expect("terminal event")];
    assert_eq!(&got[..], cut.as_bytes(), "what was sent passes unchanged");

    incomplete_counted(admin, 1).await;
    assert!(proxy.records("w").is_empty(), "nothing recorded");
}

/// Waits until `micromodel_records_dropped_total{reason="incomplete"}` is `count`.
async fn incomplete_counted(admin: u16, count: u64) {
    let series = "micromodel_records_dropped_total{reason=\"incomplete\"}";
    let want = format!("{series} {count}");
    common::eventually_async(
        Duration::from_secs(15),
        format!("{series} to be {count}"),
        || async {
            let text = client()
                .get(format!("http://127.0.0.1:{admin}/metrics"))
                .send()
                .await
                .map_err(|e| e.to_string())?
                .text()
                .await
                .map_err(|e| e.to_string())?;
            common::check(text.lines().any(|l| l == want), || text.clone())
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_messages_stream_cut_before_message_stop_is_not_recorded() {
    let admin = free_port();
    let (_upstream, proxy, port) = start("", Some(admin));
    let body = r#"{"model":"claude-opus-4-6","max_tokens":64,"messages":[{"role":"user","content":"Hello, Claude"}],"stream":true}"#;
    let response = client()
        .post(format!("{}/v1/messages", Proxy::url(port)))
        .header("x-fixture", "messages_text")
        .header("x-cut-before", "event: message_stop")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    let got = response.bytes().await.expect("body");
    let whole = String::from_utf8(fixture("messages_text.sse")).expect("utf8");
    let cut = &whole[..whole.find("event: message_stop").expect("terminal event")];
    assert!(
        cut.contains("event: message_delta"),
        "cut after the stop reason"
    );
    assert_eq!(&got[..], cut.as_bytes(), "what was sent passes unchanged");
    incomplete_counted(admin, 1).await;
    assert!(proxy.records("w").is_empty(), "nothing recorded");
    // The same stream whole is recorded (the cut, not the fixture, made the difference).
    post(
        port,
        "/v1/messages",
        "messages_text",
        &body.replace(",\"stream\":true", ""),
        true,
    )
    .await;
    proxy.wait_records("w", 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_info_lists_every_recorded_endpoint() {
    let (_upstream, _proxy, port) = start("", None);
    let info: serde_json::Value = client()
        .get(format!("{}/", Proxy::url(port)))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let endpoints = info["endpoints"].as_object().expect("endpoints object");
    let listed: Vec<(&str, &str)> = endpoints
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str().expect("a string")))
        .collect();
    assert_eq!(
        listed,
        [
            ("chat_completions", "POST /v1/chat/completions (recorded)"),
            ("completions", "POST /v1/completions (recorded)"),
            ("responses", "POST /v1/responses (recorded)"),
            ("messages", "POST /v1/messages (recorded)"),
            ("other", "/v1/* (passed through, not recorded)"),
            ("feedback", "POST /feedback (labels a record)"),
            ("health", "GET /health"),
            ("info", "GET /"),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_openai_responses_api_through_the_proxy() {
    use async_openai::types::responses::{CreateResponseArgs, Input};
    let (_upstream, proxy, port) = start("sk-upstream", None);
    let config = async_openai::config::OpenAIConfig::new()
        .with_api_base(format!("{}/v1", Proxy::url(port)))
        .with_api_key("sk-client");
    let client = async_openai::Client::with_config(config).with_http_client(
        reqwest::Client::builder()
            .no_proxy()
            .default_headers(
                [(
                    reqwest::header::HeaderName::from_static("x-fixture"),
                    reqwest::header::HeaderValue::from_static("responses_text"),
                )]
                .into_iter()
                .collect(),
            )
            .build()
            .expect("http client"),
    );
    let request = CreateResponseArgs::default()
        .model("gpt-4.1")
        .input(Input::Text("Tell me a story".to_owned()))
        .build()
        .expect("request");
    let response = client
        .responses()
        .create(request)
        .await
        .expect("responses through the proxy");
    assert_eq!(
        response.id,
        "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b"
    );
    let record = proxy.wait_records("w", 1).remove(0);
    assert_eq!(record["endpoint"], "/v1/responses");
    assert_eq!(record["request_id"], response.id);
    assert_eq!(
        record["messages"][0],
        json!({"role":"user","content":"Tell me a story"})
    );
}
