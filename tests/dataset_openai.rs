//! `export --format openai` on Responses and Messages records (written by the real record code
//! and recorder from raw requests and the dialect fixtures' answers): every line follows the
//! rules of OpenAI's chat fine-tuning format (records_support/openai_rules.rs), and what would
//! break them is skipped and counted.

mod records_support;

#[path = "records_support/openai_rules.rs"]
mod openai_rules;

use std::process::Command;

use micromodel::record::EndpointKind;
use micromodel::recorder::RecordLine;
use serde_json::{json, Value};
use tempfile::TempDir;

fn lines(kind: EndpointKind, request: &str, answer: &str, minute: u32) -> Vec<RecordLine> {
    let at = format!("2025-08-24T10:{minute:02}:00.000Z");
    records_support::lines(kind, "w", request, answer, &at)
}

const WEATHER_TOOL: &str = r#"{"type":"function","name":"get_weather","description":"Weather of a place","parameters":{"type":"object","properties":{"location":{"type":"string"}},"required":["location"]}}"#;

/// Responses records: a history with every mapped item kind, plain text, a refusal, and a
/// request that declares a built-in tool.
fn responses() -> Vec<RecordLine> {
    let history = format!(
        r#"{{"model":"o4-mini","instructions":"Use the tools.","tools":[{WEATHER_TOOL}],"parallel_tool_calls":true,"temperature":0.2,"input":[
        {{"type":"message","role":"developer","content":[{{"type":"input_text","text":"Answer briefly."}}]}},
        {{"type":"message","role":"user","content":"Weather in Lyon?"}},
        {{"type":"reasoning","id":"rs_0","summary":[{{"type":"summary_text","text":"One city."}}]}},
        {{"type":"function_call","call_id":"call_lyon","name":"get_weather","arguments":"{{\"location\":\"Lyon\"}}"}},
        {{"type":"function_call_output","call_id":"call_lyon","output":"21C"}},
        {{"type":"message","role":"assistant","content":[{{"type":"output_text","text":"21C in Lyon."}}]}},
        {{"type":"message","role":"user","content":[{{"type":"input_text","text":"And these two? "}},{{"type":"input_image","image_url":"https://example.com/map.png"}}]}}]}}"#
    );
    let mut out = lines(
        EndpointKind::Responses,
        &history,
        include_str!("fixtures/dialects/responses_tools.json"),
        1,
    );
    out.extend(lines(
        EndpointKind::Responses,
        r#"{"model":"gpt-4.1","input":"Tell me a story."}"#,
        include_str!("fixtures/dialects/responses_text.json"),
        2,
    ));
    out.extend(lines(
        EndpointKind::Responses,
        r#"{"model":"gpt-4.1","input":"How do I pick a lock?"}"#,
        include_str!("fixtures/dialects/responses_refusal.json"),
        3,
    ));
    out.extend(lines(
        EndpointKind::Responses,
        r#"{"model":"gpt-4.1","tools":[{"type":"web_search_preview"}],"input":"News of the day?"}"#,
        include_str!("fixtures/dialects/responses_text.json"),
        4,
    ));
    out
}

/// Messages records: a system string, thinking, and a tool loop with an image.
fn messages() -> Vec<RecordLine> {
    let mut out = lines(
        EndpointKind::Messages,
        r#"{"model":"claude-opus-4-6","max_tokens":64,"system":"Be kind.","messages":[{"role":"user","content":"Hello"}]}"#,
        include_str!("fixtures/dialects/messages_text.json"),
        5,
    );
    out.extend(lines(
        EndpointKind::Messages,
        r#"{"model":"claude-sonnet-4-5","max_tokens":1024,"system":[{"type":"text","text":"Be exact."}],"thinking":{"type":"enabled","budget_tokens":512},"messages":[{"role":"user","content":"What is 27 * 453?"}]}"#,
        include_str!("fixtures/dialects/messages_thinking.json"),
        6,
    ));
    out.extend(lines(
        EndpointKind::Messages,
        r#"{"model":"claude-opus-4-6","max_tokens":512,"tools":[{"name":"get_weather","description":"Weather","input_schema":{"type":"object","properties":{"location":{"type":"string"},"unit":{"type":"string"}},"required":["location"]}}],"messages":[
        {"role":"user","content":[{"type":"text","text":"Weather where this photo was taken?"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}}]},
        {"role":"assistant","content":[{"type":"tool_use","id":"toolu_0","name":"get_weather","input":{"location":"Nice"}}]},
        {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_0","content":"25C"},{"type":"text","text":"And in San Francisco?"}]}]}"#,
        include_str!("fixtures/dialects/messages_tools.json"),
        7,
    ));
    out
}

/// `export --format openai` over `records`: the lines and stderr.
fn export_openai(records: Vec<RecordLine>) -> (Vec<Value>, String) {
    let root = TempDir::new().expect("temp dir");
    let dir = records_support::write(root.path(), records);
    let output = Command::new(env!("CARGO_BIN_EXE_micromodel"))
        .args(["export", "--format", "openai", "--data-dir"])
        .arg(&dir)
        .env_remove("MICROMODEL_DATA_DIR")
        .output()
        .expect("binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    let lines = String::from_utf8(output.stdout)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    (lines, stderr)
}

fn roles(line: &Value) -> Vec<&str> {
    line["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["role"].as_str().expect("role"))
        .collect()
}

#[test]
fn openai_lines_of_responses_and_messages_records_follow_the_format_rules() {
    let mut records = responses();
    records.extend(messages());
    let (lines, stderr) = export_openai(records);
    assert_eq!(lines.len(), 6, "{stderr}");
    for line in &lines {
        openai_rules::assert_openai_line(line);
    }
    // The built-in tool has no place in the format: skipped and counted.
    assert!(
        stderr.contains(
            "format cannot express: a tool of type \"web_search_preview\" (only function tools): 1"
        ),
        "{stderr}"
    );

    let history = &lines[0];
    assert_eq!(
        roles(history),
        [
            "system",
            "system",
            "user",
            "assistant",
            "tool",
            "assistant",
            "user",
            "assistant"
        ]
    );
    assert_eq!(history["parallel_tool_calls"], true);
    assert_eq!(history["tools"][0]["function"]["name"], "get_weather");
    assert_eq!(
        history["messages"][3],
        json!({"role": "assistant", "content": null, "tool_calls": [{"id": "call_lyon",
            "type": "function", "function": {"name": "get_weather", "arguments": "{\"location\":\"Lyon\"}"}}]}),
        "the history's reasoning is dropped"
    );
    assert_eq!(
        history["messages"][4],
        json!({"role": "tool", "content": "21C", "tool_call_id": "call_lyon"})
    );
    assert_eq!(
        history["messages"][6]["content"][1],
        json!({"type": "image_url", "image_url": {"url": "https://example.com/map.png"}})
    );
    let calls = history["messages"][7]["tool_calls"]
        .as_array()
        .expect("calls");
    assert_eq!(calls.len(), 2);

    assert_eq!(roles(&lines[1]), ["user", "assistant"]);
    // A refusal-only answer: its one `refusal` part (content is required without calls).
    assert_eq!(
        lines[2]["messages"][1],
        json!({"role": "assistant", "content": [{"type": "refusal", "refusal": "I can't help with that."}]})
    );

    assert_eq!(
        lines[3]["messages"],
        json!([{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Hello"},
            {"role": "assistant", "content": "Hello!"}])
    );
    assert_eq!(lines[4]["messages"][2]["content"], "27 * 453 = 12,231");
    let tool_loop = &lines[5];
    assert_eq!(
        roles(tool_loop),
        ["user", "assistant", "tool", "user", "assistant"]
    );
    assert_eq!(
        tool_loop["messages"][0]["content"][1]["image_url"]["url"],
        "data:image/png;base64,iVBORw0KGgo="
    );
    assert_eq!(
        tool_loop["tools"][0]["function"]["parameters"]["required"],
        json!(["location"])
    );
    assert_eq!(
        tool_loop["messages"][4]["tool_calls"][0]["function"]["arguments"],
        "{\"location\":\"San Francisco, CA\",\"unit\":\"fahrenheit\"}"
    );
}

#[test]
fn what_breaks_the_format_rules_is_skipped_and_counted() {
    let chat = |request: &str, minute| {
        lines(
            EndpointKind::Chat,
            request,
            r#"{"id":"c","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]}"#,
            minute,
        )
    };
    let mut records = chat(
        r#"{"model":"m","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AAAA","format":"wav"}}]}]}"#,
        1,
    );
    records.extend(chat(
        r#"{"model":"m","messages":[{"role":"user","content":"q"},{"role":"assistant","content":null},{"role":"user","content":"again"}]}"#,
        2,
    ));
    records.extend(chat(
        r#"{"model":"m","messages":[{"role":"user","content":"q"},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","content":"r"}]}"#,
        3,
    ));
    // Kept: a tool message's `name` and a `weight` other than 0/1 are left out, not fatal.
    records.extend(chat(
        r#"{"model":"m","messages":[{"role":"user","content":"q"},{"role":"assistant","content":null,"weight":2,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","name":"f","tool_call_id":"c1","content":"r"},{"role":"assistant","content":"a","weight":0}]}"#,
        4,
    ));
    let (lines, stderr) = export_openai(records);
    assert_eq!(lines.len(), 1, "{stderr}");
    openai_rules::assert_openai_line(&lines[0]);
    assert_eq!(
        lines[0]["messages"][2],
        json!({"role": "tool", "content": "r", "tool_call_id": "c1"})
    );
    assert!(lines[0]["messages"][1].get("weight").is_none());
    assert_eq!(lines[0]["messages"][3]["weight"], 0);
    for why in [
        "format cannot express: a \"input_audio\" content part in a user message: 1",
        "format cannot express: an assistant message with neither content nor tool calls: 1",
        "format cannot express: a tool message without tool_call_id: 1",
    ] {
        assert!(stderr.contains(why), "{why}: {stderr}");
    }
}
