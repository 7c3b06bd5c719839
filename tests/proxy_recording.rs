//! Chat and completions through the real binary: what the upstream sees and what is recorded.

mod common;

use axum::http::StatusCode;
use common::upstream::{chat_completion, json_response, openai_like};
use common::{client, free_port, one_workflow, FakeUpstream, Proxy};
use serde_json::{json, Value};

fn post(port: u16, path: &str) -> reqwest::RequestBuilder {
    client().post(format!("{}{path}", Proxy::url(port)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_is_forwarded_and_recorded_field_by_field() {
    let upstream = FakeUpstream::start(openai_like);
    let port = free_port();
    let proxy = Proxy::start(&one_workflow("ollama", &upstream.url, port, ""), &[]);
    let body = r#"{"model":"qwen3:14b","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Tell me a story"}],"temperature":0.2}"#;
    let response = post(port, "/v1/chat/completions")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.expect("json");
    assert_eq!(answer, chat_completion("Hello from upstream"));

    let seen = upstream.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path_and_query, "/v1/chat/completions");
    assert_eq!(
        &seen[0].body[..],
        body.as_bytes(),
        "body forwarded byte for byte"
    );
    assert_eq!(seen[0].headers["accept-encoding"], "identity");

    let records = proxy.wait_records("ollama", 1);
    let record = &records[0];
    let line = common::raw_lines(&proxy.data_dir.join("ollama")).remove(0);
    let keys = common::keys_in_order(&line);
    assert_eq!(
        keys,
        [
            "messages",
            "timestamp",
            "endpoint",
            "model",
            "workflow_id",
            "params",
            "finish_reason",
            "usage",
            "stream",
            "latency_ms",
            "request_id"
        ]
    );
    assert_eq!(
        record["messages"],
        json!([
            {"role":"system","content":"Be brief."},
            {"role":"user","content":"Tell me a story"},
            {"role":"assistant","content":"Hello from upstream"}
        ])
    );
    assert_eq!(record["endpoint"], "/v1/chat/completions");
    assert_eq!(record["model"], "qwen3:14b");
    assert_eq!(record["workflow_id"], "ollama");
    assert_eq!(record["finish_reason"], "stop");
    assert_eq!(record["usage"]["total_tokens"], 12);
    assert_eq!(record["stream"], false);
    assert_eq!(record["request_id"], "chatcmpl-test1");
    assert!(record["latency_ms"].is_u64());
    let timestamp = record["timestamp"].as_str().expect("timestamp");
    assert_eq!(
        timestamp.len(),
        "2025-08-24T10:30:00.000Z".len(),
        "{timestamp}"
    );
    assert!(timestamp.ends_with('Z'));
    // Filed under the UTC date of the timestamp.
    let date = chrono::DateTime::parse_from_rfc3339(timestamp).expect("rfc3339");
    let folder = proxy
        .data_dir
        .join("ollama")
        .join(date.format("%d-%m-%Y").to_string());
    assert!(folder.join("data.jsonl").is_file(), "{}", folder.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn n_two_gives_two_lines_with_tools_and_tool_calls() {
    let upstream = FakeUpstream::start(|_| async {
        json_response(
            StatusCode::OK,
            &json!({
                "id": "chatcmpl-n2",
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": null, "refusal": null,
                        "tool_calls": [{"id": "call_1", "type": "function", "index": 0,
                            "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
                     "finish_reason": "tool_calls"},
                    {"index": 1, "message": {"role": "assistant", "content": "It is sunny.",
                        "reasoning_content": "Think first.", "annotations": [], "audio": null},
                     "finish_reason": "stop"}
                ]
            }),
        )
    });
    let port = free_port();
    let proxy = Proxy::start(&one_workflow("tools", &upstream.url, port, ""), &[]);
    let tools = json!([{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]);
    let history = json!([
        {"role":"user","content":"Weather?"},
        {"role":"assistant","content":null,"tool_calls":[{"id":"call_0","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},
        {"role":"tool","tool_call_id":"call_0","content":"rain"}
    ]);
    // Written by hand so that key order is the client's (json! would sort keys).
    let tools_text = r#"[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]"#;
    let request =
        format!(r#"{{"model":"gpt-4o","n":2,"messages":{history},"tools":{tools_text}}}"#);
    let response = post(port, "/v1/chat/completions")
        .body(request)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    let records = proxy.wait_records("tools", 2);
    let mut by_reason: Vec<&Value> = records.iter().collect();
    by_reason.sort_by_key(|r| r["finish_reason"].as_str().unwrap_or("").to_owned());
    let (stop, calls) = (by_reason[0], by_reason[1]);
    assert_eq!(calls["finish_reason"], "tool_calls");
    assert_eq!(calls["tools"], tools);
    let mut expected = history.as_array().expect("array").clone();
    expected.push(json!({"role":"assistant","content":null,"tool_calls":[
        {"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]}));
    assert_eq!(calls["messages"], Value::Array(expected));
    let last = stop["messages"]
        .as_array()
        .expect("array")
        .last()
        .expect("assistant")
        .clone();
    assert_eq!(
        last,
        json!({"role":"assistant","content":"It is sunny.","reasoning_content":"Think first.","annotations":[]})
    );
    // Key order inside the assistant message: role, content, reasoning, then the rest.
    let line = common::raw_lines(&proxy.data_dir.join("tools"))
        .into_iter()
        .find(|l| l.contains("It is sunny."))
        .expect("line");
    assert!(line.contains(r#"{"role":"assistant","content":"It is sunny.","reasoning_content":"Think first.","annotations":[]}]"#), "{line}");
    assert!(
        line.contains(r#""tools":[{"type":"function""#),
        "tools key order kept: {line}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn array_content_with_an_image_is_recorded_byte_exact() {
    let upstream = FakeUpstream::start(openai_like);
    let port = free_port();
    let proxy = Proxy::start(&one_workflow("vision", &upstream.url, port, ""), &[]);
    let messages = r#"[{"role":"user","content":[{"type":"text","text":"What is in this image? \u00e9\u2028"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo=","detail":"low"}}],"name":"alice"}]"#;
    let body = format!(r#"{{"model":"llava","messages":{messages}}}"#);
    let response = post(port, "/v1/chat/completions")
        .body(body.clone())
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    proxy.wait_records("vision", 1);
    let line = common::raw_lines(&proxy.data_dir.join("vision")).remove(0);
    let expected_prefix = format!(r#"{{"messages":{}"#, &messages[..messages.len() - 1]);
    assert!(
        line.starts_with(&expected_prefix),
        "request messages copied byte for byte:\n{line}"
    );
    assert_eq!(&upstream.seen()[0].body[..], body.as_bytes());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pretty_printed_request_still_gives_one_line() {
    let upstream = FakeUpstream::start(openai_like);
    let port = free_port();
    let proxy = Proxy::start(&one_workflow("pretty", &upstream.url, port, ""), &[]);
    let body = "{\n  \"model\": \"m\",\n  \"messages\": [\n    {\"role\": \"user\", \"content\": \"two  spaces\"}\n  ]\n}";
    let response = post(port, "/v1/chat/completions")
        .body(body)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    let records = proxy.wait_records("pretty", 1);
    assert_eq!(
        records[0]["messages"][0],
        json!({"role":"user","content":"two  spaces"})
    );
    assert_eq!(&upstream.seen()[0].body[..], body.as_bytes());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_with_string_and_array_prompts() {
    let upstream = FakeUpstream::start(|seen: common::Seen| async move {
        let request = seen.json();
        let prompts = request["prompt"].as_array().map_or(1, Vec::len);
        let n = request["n"].as_u64().unwrap_or(1) as usize;
        let choices: Vec<Value> = (0..prompts * n)
            .map(|i| json!({"index": i, "text": format!(" answer {i}"), "finish_reason": "stop", "logprobs": null}))
            .collect();
        json_response(
            StatusCode::OK,
            &json!({"id": "cmpl-1", "object": "text_completion", "choices": choices}),
        )
    });
    let port = free_port();
    let proxy = Proxy::start(&one_workflow("complete", &upstream.url, port, ""), &[]);
    let response = post(port, "/v1/completions")
        .json(&json!({"model":"m","prompt":"Once upon"}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    let records = proxy.wait_records("complete", 1);
    assert_eq!(
        records[0]["messages"],
        json!([{"role":"user","content":"Once upon"},{"role":"assistant","content":" answer 0"}])
    );
    assert_eq!(records[0]["endpoint"], "/v1/completions");
    assert!(
        records[0].get("usage").is_none(),
        "no usage reported, none recorded"
    );

    let response = post(port, "/v1/completions")
        .json(&json!({"model":"m","prompt":["first","second"],"n":2}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    let records = proxy.wait_records("complete", 5);
    let pairs: Vec<(String, String)> = records[1..]
        .iter()
        .map(|r| {
            (
                r["messages"][0]["content"]
                    .as_str()
                    .expect("prompt")
                    .to_owned(),
                r["messages"][1]["content"]
                    .as_str()
                    .expect("text")
                    .to_owned(),
            )
        })
        .collect();
    assert_eq!(
        pairs,
        [
            ("first".to_owned(), " answer 0".to_owned()),
            ("first".to_owned(), " answer 1".to_owned()),
            ("second".to_owned(), " answer 2".to_owned()),
            ("second".to_owned(), " answer 3".to_owned()),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pretty_printed_answer_still_gives_one_line() {
    let upstream = FakeUpstream::start(|_| async {
        let body = serde_json::to_vec_pretty(&json!({
            "id": "chatcmpl-pretty",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "a\nb",
                "annotations": [{"type": "url_citation", "url": "https://x"}]}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
        }))
        .expect("json");
        axum::response::Response::builder()
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body))
            .expect("response")
    });
    let port = free_port();
    let proxy = Proxy::start(&one_workflow("pretty_answer", &upstream.url, port, ""), &[]);
    let response = post(port, "/v1/chat/completions")
        .json(&json!({"model":"m","messages":[{"role":"user","content":"x"}]}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    let records = proxy.wait_records("pretty_answer", 1);
    assert_eq!(records[0]["usage"]["total_tokens"], 3);
    assert_eq!(records[0]["messages"][1]["content"], "a\nb");
    assert_eq!(
        records[0]["messages"][1]["annotations"][0]["url"],
        "https://x"
    );
}
