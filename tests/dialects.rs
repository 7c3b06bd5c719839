//! The Responses API and Anthropic Messages through the real binary (issue 13), with a fake
//! upstream that answers with the fixtures of `tests/fixtures/dialects/` (written from the
//! public API references): the client gets the upstream's bytes unchanged, the record is the
//! mapping of docs/dialects.md, a streamed answer records what the non-streamed one does, and
//! `params` keeps the request's other members, in order, on all four endpoints.

mod common;

use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use axum::response::Response;
use common::upstream::{openai_like, sse_response, Seen};
use common::{client, free_port, keys_in_order, one_workflow, FakeUpstream, Proxy};
use serde_json::{json, Value};

/// A fixture's bytes, as the upstream sends them.
fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/dialects/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The fixture named by the request's `x-fixture` header (`<name>.sse` when the body asks
/// for a stream, `<name>.json` otherwise). A stream goes out in 37-byte chunks, so events
/// are split across reads; `x-cut-before` cuts it before that text (an upstream gone
/// before the end). Chat and completions get `openai_like`'s answers.
async fn dialect_upstream(seen: Seen) -> Response {
    let name = seen.headers.get("x-fixture").and_then(|v| v.to_str().ok());
    let Some(name) = name.filter(|n| !n.is_empty()) else {
        return openai_like(seen).await;
    };
    if seen.json()["stream"] != json!(true) {
        return Response::builder()
            .status(StatusCode::OK)
            .header("content-type", "application/json")
            .body(Body::from(fixture(&format!("{name}.json"))))
            .expect("response");
    }
    let mut bytes = fixture(&format!("{name}.sse"));
    if let Some(cut) = seen.headers.get("x-cut-before") {
        let text = String::from_utf8(bytes).expect("utf8 fixture");
        let at = text.find(cut.to_str().expect("ascii")).expect("cut point");
        bytes = text[..at].as_bytes().to_vec();
    }
    let chunks: Vec<Result<Bytes, std::io::Error>> = bytes
        .chunks(37)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    sse_response(Body::from_stream(futures_util::stream::iter(chunks)))
}

fn start(key: &str, admin: Option<u16>) -> (FakeUpstream, Proxy, u16) {
    let upstream = FakeUpstream::start(dialect_upstream);
    let port = free_port();
    let admin_arg = admin.map(|a| format!("127.0.0.1:{a}"));
    let args: Vec<&str> = match &admin_arg {
        Some(addr) => vec!["--admin-addr", addr],
        None => vec![],
    };
    let proxy = Proxy::start(&one_workflow("w", &upstream.url, port, key), &args);
    (upstream, proxy, port)
}

/// Posts `body` (a JSON object's text, sent as written, with `"stream"` appended) to `path`
/// with the fixture header; the answer's bytes.
async fn post(port: u16, path: &str, name: &str, body: &str, stream: bool) -> Vec<u8> {
    let open = body.strip_suffix('}').expect("a JSON object");
    let body = format!("{open},\"stream\":{stream}}}");
    let response = client()
        .post(format!("{}{path}", Proxy::url(port)))
        .header("x-fixture", name)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    response.bytes().await.expect("body").to_vec()
}

/// The record without what differs between a streamed and a non-streamed answer.
fn comparable(record: &Value) -> Value {
    let mut record = record.clone();
    let object = record.as_object_mut().expect("record object");
    for key in ["stream", "latency_ms", "timestamp"] {
        object.remove(key);
    }
    record
}

/// Sends `body` not streamed, then streamed: the client gets each fixture byte for byte;
/// the two records agree apart from `stream`, `latency_ms` and `timestamp`. Returns the
/// non-streamed record and its raw line.
async fn both_ways(path: &str, name: &str, body: &str) -> (Value, String) {
    let (_upstream, proxy, port) = start("", None);
    let plain = post(port, path, name, body, false).await;
    assert_eq!(
        plain,
        fixture(&format!("{name}.json")),
        "JSON passed unchanged"
    );
    proxy.wait_records("w", 1);
    let streamed = post(port, path, name, body, true).await;
    assert_eq!(
        streamed,
        fixture(&format!("{name}.sse")),
        "SSE passed unchanged"
    );
    let records = proxy.wait_records("w", 2);
    assert_eq!(records[0]["stream"], false);
    assert_eq!(records[1]["stream"], true);
    assert_eq!(comparable(&records[0]), comparable(&records[1]));
    let line = common::raw_lines(&proxy.data_dir.join("w")).remove(0);
    let stream_line = common::raw_lines(&proxy.data_dir.join("w")).remove(1);
    assert_eq!(keys_in_order(&line), keys_in_order(&stream_line));
    (records[0].clone(), line)
}

fn expected_keys(extra: &[&str]) -> Vec<String> {
    let mut keys = vec!["messages", "timestamp", "endpoint", "model", "workflow_id"];
    keys.extend_from_slice(extra);
    keys.extend_from_slice(&[
        "finish_reason",
        "usage",
        "stream",
        "latency_ms",
        "request_id",
    ]);
    keys.into_iter().map(str::to_owned).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_text_is_recorded_as_mapped_streamed_or_not() {
    let body = r#"{"model":"gpt-4.1","instructions":"Be brief.","input":"Tell me a three sentence bedtime story about a unicorn.","temperature":0.2,"max_output_tokens":200}"#;
    let (record, line) = both_ways("/v1/responses", "responses_text", body).await;
    let answer: Value = serde_json::from_slice(&fixture("responses_text.json")).expect("json");
    assert_eq!(
        record["messages"],
        json!([
            {"role":"system","content":"Be brief."},
            {"role":"user","content":"Tell me a three sentence bedtime story about a unicorn."},
            {"role":"assistant","content":answer["output"][0]["content"][0]["text"]}
        ])
    );
    assert_eq!(record["endpoint"], "/v1/responses");
    assert_eq!(record["model"], "gpt-4.1");
    assert_eq!(record["finish_reason"], "stop");
    assert_eq!(record["usage"], answer["usage"]);
    assert_eq!(record["request_id"], answer["id"]);
    assert_eq!(keys_in_order(&line), expected_keys(&["params"]));
    assert!(
        line.contains(r#""params":{"temperature":0.2,"max_output_tokens":200},"#),
        "{line}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_tools_and_reasoning_are_recorded_as_mapped() {
    let body = r#"{
        "model":"o4-mini",
        "input":[{"role":"user","content":[{"type":"input_text","text":"Weather in Paris and Bogotá?"}]}],
        "tools":[{"type":"function","name":"get_weather","description":"Get the weather","parameters":{"type":"object","properties":{"location":{"type":"string"}},"required":["location"]},"strict":true}],
        "tool_choice":"auto",
        "parallel_tool_calls":true
    }"#;
    let (record, line) = both_ways("/v1/responses", "responses_tools", body).await;
    assert_eq!(
        record["messages"],
        json!([
            {"role":"user","content":"Weather in Paris and Bogotá?"},
            {"role":"assistant","content":null,"tool_calls":[
                {"id":"call_paris","type":"function","function":{"name":"get_weather","arguments":"{\"location\":\"Paris, France\",\"zeta\":1,\"alpha\":2}"}},
                {"id":"call_bogota","type":"function","function":{"name":"get_weather","arguments":"{\"location\":\"Bogotá, Colombia\"}"}}
            ],"reasoning_content":"**Checking the weather**\n\nThe user wants two cities.\n\n**Calling the tool twice**"}
        ])
    );
    assert_eq!(
        record["tools"],
        json!([{"type":"function","function":{"name":"get_weather","description":"Get the weather","parameters":{"type":"object","properties":{"location":{"type":"string"}},"required":["location"]},"strict":true}}])
    );
    assert_eq!(record["finish_reason"], "tool_calls");
    assert_eq!(keys_in_order(&line), expected_keys(&["tools", "params"]));
    assert!(
        line.contains(r#""params":{"tool_choice":"auto","parallel_tool_calls":true},"#),
        "{line}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_text_tools_and_thinking_are_recorded_as_mapped() {
    let text = r#"{"model":"claude-opus-4-6","max_tokens":1024,"system":"Be brief.","messages":[{"role":"user","content":"Hello, Claude"}]}"#;
    let (record, line) = both_ways("/v1/messages", "messages_text", text).await;
    assert_eq!(
        record["messages"],
        json!([
            {"role":"system","content":"Be brief."},
            {"role":"user","content":"Hello, Claude"},
            {"role":"assistant","content":"Hello!"}
        ])
    );
    assert_eq!(record["endpoint"], "/v1/messages");
    assert_eq!(record["finish_reason"], "stop");
    assert_eq!(
        record["usage"],
        json!({"input_tokens":25,"output_tokens":15})
    );
    assert_eq!(
        record["request_id"],
        "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY"
    );
    assert_eq!(keys_in_order(&line), expected_keys(&["params"]));
    assert!(line.contains(r#""params":{"max_tokens":1024},"#), "{line}");

    let tools = r#"{"model":"claude-opus-4-6","max_tokens":1024,
        "tools":[{"name":"get_weather","description":"Get the current weather","input_schema":{"type":"object","properties":{"location":{"type":"string"},"unit":{"type":"string"}},"required":["location"]}}],
        "messages":[{"role":"user","content":"What's the weather in SF?"}]}"#;
    let (record, line) = both_ways("/v1/messages", "messages_tools", tools).await;
    assert_eq!(
        record["messages"][1],
        json!({"role":"assistant","content":"Okay, let's check the weather for San Francisco, CA:","tool_calls":[
            {"id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","type":"function","function":{"name":"get_weather","arguments":"{\"location\":\"San Francisco, CA\",\"unit\":\"fahrenheit\"}"}}
        ]})
    );
    assert_eq!(
        record["tools"],
        json!([{"type":"function","function":{"name":"get_weather","description":"Get the current weather","parameters":{"type":"object","properties":{"location":{"type":"string"},"unit":{"type":"string"}},"required":["location"]}}}])
    );
    assert_eq!(record["finish_reason"], "tool_calls");
    assert_eq!(keys_in_order(&line), expected_keys(&["tools", "params"]));

    let thinking = r#"{"model":"claude-sonnet-4-5","max_tokens":16000,"thinking":{"type":"enabled","budget_tokens":10000},"messages":[{"role":"user","content":"What is 27 * 453?"}]}"#;
    let (record, line) = both_ways("/v1/messages", "messages_thinking", thinking).await;
    assert_eq!(
        record["messages"][1],
        json!({"role":"assistant","content":"27 * 453 = 12,231","reasoning_content":"Let me solve this step by step:\n\n1. First break down 27 * 453"})
    );
    assert!(
        line.contains(
            r#""params":{"max_tokens":16000,"thinking":{"type":"enabled","budget_tokens":10000}},"#
        ),
        "{line}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn previous_response_id_and_dropped_items_mark_the_record_partial() {
    let (_upstream, proxy, port) = start("", None);
    let body = r#"{"model":"gpt-4.1","previous_response_id":"resp_prev","input":[
        {"type":"web_search_call","id":"ws_1","status":"completed"},
        {"role":"user","content":"And then?"}
    ],"store":true}"#;
    post(port, "/v1/responses", "responses_text", body, false).await;
    let record = proxy.wait_records("w", 1).remove(0);
    let line = common::raw_lines(&proxy.data_dir.join("w")).remove(0);
    assert_eq!(
        record["messages"][0],
        json!({"role":"user","content":"And then?"})
    );
    assert_eq!(record["previous_response_id"], "resp_prev");
    assert_eq!(record["partial"], true);
    let mut keys = expected_keys(&["params"]);
    keys.extend(["previous_response_id".to_owned(), "partial".to_owned()]);
    assert_eq!(keys_in_order(&line), keys);
    assert!(line.contains(r#""params":{"store":true},"#), "{line}");
}

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

    let series = "micromodel_records_dropped_total{reason=\"incomplete\"}";
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let text = client()
            .get(format!("http://127.0.0.1:{admin}/metrics"))
            .send()
            .await
            .expect("scrape")
            .text()
            .await
            .expect("metrics");
        if text.lines().any(|l| l == format!("{series} 1")) {
            break;
        }
        assert!(Instant::now() < deadline, "{series} not 1:\n{text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(proxy.records("w").is_empty(), "nothing recorded");
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
