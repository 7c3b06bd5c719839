//! The rules of OpenAI's chat fine-tuning format, checked on one `export --format openai` line.
//! Included by path (`#[path = "records_support/openai_rules.rs"] mod openai_rules;`) by the
//! test files that check openai exports.
//!
//! Source: the format's reference, `FineTuneChatRequestInput` ("the per-line training example
//! of a fine-tuning input file for chat models using the supervised method") in OpenAI's OpenAPI
//! description, github.com/openai/openai-openapi `openapi.yaml` version 2.3.0 (commit 498c71d,
//! the last one that spells the line out; the current one keeps
//! `FineTuneChatCompletionRequestAssistantMessage` with `weight` 0 or 1), and the message
//! schemas it references:
//! - line: `messages` (at least one), `tools` (`ChatCompletionTool`: `{"type":"function",
//!   "function":{name, description, parameters, strict}}`), `parallel_tool_calls` (boolean) and
//!   the deprecated `functions` (never written by export, so not allowed here);
//! - system and user messages: `role`, `content`, `name`;
//! - assistant: `role`, `content` ("required unless `tool_calls` or `function_call` is
//!   specified"; a string, text parts, or exactly one `refusal` part), `refusal`, `name`,
//!   `audio`, `tool_calls`, `function_call`, and `weight` (0 or 1);
//! - tool: `role`, `content` (required; string or text parts), `tool_call_id` (required);
//! - function (legacy): `role`, `content`, `name`.
//!   Fine-tuning input messages "may contain text or image content only": user parts are
//!   `text` or `image_url`.

use serde_json::Value;

/// Keys of `value` (an object) outside `allowed`, for the failure message.
fn unknown<'a>(value: &'a Value, allowed: &[&str]) -> Vec<&'a str> {
    value
        .as_object()
        .unwrap_or_else(|| panic!("an object: {value}"))
        .keys()
        .map(String::as_str)
        .filter(|k| !allowed.contains(k))
        .collect()
}

/// The part types of an array content, or `None` for a string.
fn part_types(content: &Value) -> Option<Vec<&str>> {
    let parts = content.as_array()?;
    assert!(!parts.is_empty(), "an empty content array");
    Some(
        parts
            .iter()
            .map(|p| {
                p["type"]
                    .as_str()
                    .unwrap_or_else(|| panic!("part type: {p}"))
            })
            .collect(),
    )
}

/// Panics, naming the rule and the line, when `line` breaks a rule of the format.
pub fn assert_openai_line(line: &Value) {
    let extra = unknown(line, &["messages", "tools", "parallel_tool_calls"]);
    assert!(extra.is_empty(), "line keys {extra:?}: {line}");
    let messages = line["messages"].as_array().expect("messages is an array");
    assert!(!messages.is_empty(), "no messages: {line}");
    if let Some(tools) = line.get("tools") {
        let tools = tools.as_array().expect("tools is an array");
        assert!(!tools.is_empty(), "empty tools: {line}");
        for tool in tools {
            assert!(unknown(tool, &["type", "function"]).is_empty(), "{tool}");
            assert_eq!(tool["type"], "function", "only function tools: {tool}");
            let function = &tool["function"];
            let extra = unknown(function, &["name", "description", "parameters", "strict"]);
            assert!(extra.is_empty(), "function keys {extra:?}: {tool}");
            assert!(function["name"].is_string(), "{tool}");
        }
    }
    if let Some(parallel) = line.get("parallel_tool_calls") {
        assert!(parallel.is_boolean(), "parallel_tool_calls: {line}");
    }
    for message in messages {
        let role = message["role"].as_str().expect("role is a string");
        let allowed: &[&str] = match role {
            "system" | "user" | "function" => &["role", "content", "name"],
            "assistant" => &[
                "role",
                "content",
                "refusal",
                "name",
                "audio",
                "tool_calls",
                "function_call",
                "weight",
            ],
            "tool" => &["role", "content", "tool_call_id"],
            other => panic!("role {other:?}: {line}"),
        };
        let extra = unknown(message, allowed);
        assert!(extra.is_empty(), "{role} message keys {extra:?}: {message}");
        if let Some(name) = message.get("name") {
            assert!(name.is_string(), "{message}");
        }
        let content = &message["content"];
        let calls = message.get("tool_calls");
        match role {
            "assistant" => {
                if content.is_null() {
                    assert!(
                        calls.is_some(),
                        "content null without tool_calls: {message}"
                    );
                } else if let Some(types) = part_types(content) {
                    assert!(
                        types.iter().all(|t| *t == "text") || types == ["refusal"],
                        "assistant parts {types:?}: {message}"
                    );
                }
                if let Some(weight) = message.get("weight") {
                    assert!(matches!(weight.as_u64(), Some(0 | 1)), "{message}");
                }
                for call in calls.map_or(&[][..], |c| c.as_array().expect("calls")) {
                    assert!(
                        unknown(call, &["id", "type", "function"]).is_empty(),
                        "{call}"
                    );
                    assert!(call["id"].is_string(), "{call}");
                    assert_eq!(call["type"], "function", "{call}");
                    let function = &call["function"];
                    assert!(
                        unknown(function, &["name", "arguments"]).is_empty(),
                        "{call}"
                    );
                    assert!(function["name"].is_string(), "{call}");
                    assert!(function["arguments"].is_string(), "arguments text: {call}");
                }
            }
            "function" => {}
            _ => {
                let types = match content {
                    Value::String(_) => None,
                    _ => Some(part_types(content).unwrap_or_else(|| {
                        panic!("{role} content must be a string or parts: {message}")
                    })),
                };
                let allowed: &[&str] = if role == "user" {
                    &["text", "image_url"]
                } else {
                    &["text"]
                };
                for kind in types.unwrap_or_default() {
                    assert!(allowed.contains(&kind), "{role} part {kind:?}: {message}");
                }
                if role == "tool" {
                    assert!(message["tool_call_id"].is_string(), "{message}");
                }
            }
        }
    }
}
