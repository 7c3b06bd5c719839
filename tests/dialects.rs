//! The Responses API and Anthropic Messages through the real binary (issue 13), with a fake
//! upstream that answers with the fixtures of `tests/fixtures/dialects/` (written from the
//! public API references): the client gets the upstream's bytes unchanged, the record is the
//! mapping of docs/dialects.md, and a streamed answer records what the non-streamed one does.

mod common;

use common::dialects::{fixture, post, start};
use common::keys_in_order;
use serde_json::{json, Value};
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
async fn responses_reasoning_text_and_refusal_are_recorded_streamed_or_not() {
    // `reasoning_text` content parts, streamed as `response.reasoning_text.delta` events
    // (gpt-oss style reasoning text, not a summary).
    let body =
        r#"{"model":"gpt-oss-120b","input":"What is 17 times 23?","reasoning":{"effort":"low"}}"#;
    let sse = String::from_utf8(fixture("responses_reasoning.sse")).expect("utf8");
    assert_eq!(
        sse.matches("event: response.reasoning_text.delta\n")
            .count(),
        2
    );
    let (record, line) = both_ways("/v1/responses", "responses_reasoning", body).await;
    assert_eq!(
        record["messages"],
        json!([
            {"role":"user","content":"What is 17 times 23?"},
            {"role":"assistant","content":"17 × 23 = 391.","reasoning_content":"The user asks for 17 times 23. 17*20=340, 17*3=51, so 391."}
        ])
    );
    assert_eq!(record["finish_reason"], "stop");
    assert_eq!(record["request_id"], "resp_68b1c0ffee0reasoning0text01");
    assert_eq!(keys_in_order(&line), expected_keys(&["params"]));
    assert!(
        line.contains(r#""params":{"reasoning":{"effort":"low"}},"#),
        "{line}"
    );

    let body = r#"{"model":"gpt-4.1","input":"Help me pick a lock."}"#;
    let (record, _) = both_ways("/v1/responses", "responses_refusal", body).await;
    assert_eq!(
        record["messages"][1],
        json!({"role":"assistant","content":null,"refusal":"I can't help with that."})
    );
    assert_eq!(record["finish_reason"], "stop");
    assert_eq!(
        record["usage"],
        json!({"input_tokens":10,"output_tokens":6,"total_tokens":16})
    );
}
