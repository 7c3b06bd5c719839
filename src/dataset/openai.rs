//! The `openai` format: one training line of OpenAI's chat fine-tuning format per record.
//!
//! The rules are those of the format's reference, `FineTuneChatRequestInput` in OpenAI's
//! OpenAPI description (github.com/openai/openai-openapi, `openapi.yaml` 2.3.0, the last one
//! that spells out the line; the current one still has the assistant message with `weight`):
//! a line is `messages` plus the optional `tools` (function tools, `ChatCompletionTool`) and
//! `parallel_tool_calls` (a boolean); each message one of
//! - system / user: `role`, `content`, `name`;
//! - assistant (with `weight`, 0 or 1): `role`, `content` ("required unless `tool_calls` ...
//!   is specified"; text parts, or exactly one `refusal` part), `name`, `tool_calls`
//!   (`refusal`, `audio` and `function_call` are never written here);
//! - tool: `role`, `content` (required; text parts only), `tool_call_id` (required);
//! - function (legacy): `role`, `content`, `name`.
//!
//! Fine-tuning input messages "may contain text or image content only" (the same reference):
//! user content parts are `text` or `image_url`. Whatever breaks a rule (a built-in tool, an
//! audio or file part, a message without its required content) makes the record not
//! expressible: skipped and counted. Recorder-only fields (`reasoning_content`, `reasoning`,
//! `refusal` beside text, ...) are dropped, except that `--reasoning keep` writes
//! `reasoning_content` on assistant messages (not a field of OpenAI's format: for other
//! trainers); an assistant message that is only a refusal gets it as its one `refusal` part.
//! The `developer` role becomes `system`.
//!
//! Key order: a message's own keys are the format's, in the order of [`OpenAiMessage`]; the
//! values copied into it (content parts, tool schemas, `arguments`) keep their recorded order.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::{json, Value};

use super::format_kind::Reasoning;
use super::message_parts::{role, tool_calls, OpenAiToolCall};
use super::reasoning::reasoning_text;
use super::record::Record;

#[derive(Serialize)]
pub(super) struct OpenAiLine<'a> {
    messages: Vec<OpenAiMessage<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tools: Option<&'a Value>,
    /// The request's `parallel_tool_calls` (from `params`), when it was a boolean.
    #[serde(skip_serializing_if = "Option::is_none")]
    parallel_tool_calls: Option<&'a Value>,
}

#[derive(Serialize)]
struct OpenAiMessage<'a> {
    role: &'a str,
    content: Cow<'a, Value>,
    /// `--reasoning keep`: the assistant's reasoning (`reasoning_content` or `reasoning`).
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_content: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_calls: Vec<OpenAiToolCall<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_call_id: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    weight: Option<&'a Value>,
}

/// The `openai` line of `record`; an error says which rule of the format it would break.
pub(super) fn openai(record: &Record, reasoning: Reasoning) -> Result<OpenAiLine<'_>, String> {
    let mut messages = Vec::with_capacity(record.messages().len());
    for message in record.messages() {
        let role = match role(message) {
            "developer" | "system" => "system",
            r @ ("user" | "assistant" | "tool" | "function") => r,
            other => return Err(format!("role {other:?}")),
        };
        let assistant = role == "assistant";
        let calls = if assistant {
            tool_calls(message)?
        } else {
            Vec::new()
        };
        let tool_call_id = message.get("tool_call_id").filter(|id| id.is_string());
        if role == "tool" && tool_call_id.is_none() {
            return Err("a tool message without tool_call_id".to_owned());
        }
        messages.push(OpenAiMessage {
            role,
            content: content(message, role, !calls.is_empty())?,
            reasoning_content: match reasoning {
                Reasoning::Keep if assistant => reasoning_text(message),
                _ => None,
            },
            name: message
                .get("name")
                .filter(|n| n.is_string() && role != "tool"),
            tool_calls: calls,
            tool_call_id: tool_call_id.filter(|_| role == "tool"),
            weight: message
                .get("weight")
                .filter(|w| assistant && matches!(w.as_u64(), Some(0 | 1))),
        });
    }
    let tools = record
        .tools()
        .filter(|t| t.as_array().is_some_and(|a| !a.is_empty()));
    if let Some(tools) = tools.and_then(Value::as_array) {
        if let Some(other) = tools.iter().find(|t| !is_function_tool(t)) {
            let kind = other.get("type").and_then(Value::as_str).unwrap_or("?");
            return Err(format!("a tool of type {kind:?} (only function tools)"));
        }
    }
    let parallel_tool_calls = record
        .params()
        .and_then(|p| p.get("parallel_tool_calls"))
        .filter(|v| v.is_boolean());
    Ok(OpenAiLine {
        messages,
        tools,
        parallel_tool_calls,
    })
}

/// `{"type":"function","function":{"name":...}}`, the one tool shape of the format.
fn is_function_tool(tool: &Value) -> bool {
    tool.get("type").and_then(Value::as_str) == Some("function")
        && tool
            .get("function")
            .and_then(|f| f.get("name"))
            .is_some_and(Value::is_string)
}

/// A message's `content` as the format takes it for `role`: a string or parts of the kinds the
/// role allows; an assistant's may be null when it has tool calls, and is its one `refusal`
/// part when it is only a refusal.
fn content<'a>(message: &'a Value, role: &str, has_calls: bool) -> Result<Cow<'a, Value>, String> {
    let allowed: &[&str] = match role {
        "user" => &["text", "image_url"],
        _ => &["text"],
    };
    // An empty array is no content (the format wants at least one part).
    let given = message
        .get("content")
        .filter(|c| !c.is_null() && c.as_array().map_or(true, |a| !a.is_empty()));
    match given {
        Some(text @ Value::String(_)) => Ok(Cow::Borrowed(text)),
        Some(parts @ Value::Array(items)) => {
            for part in items {
                let kind = part.get("type").and_then(Value::as_str).unwrap_or("?");
                if !allowed.contains(&kind) {
                    return Err(format!("a {kind:?} content part in a {role} message"));
                }
            }
            Ok(Cow::Borrowed(parts))
        }
        None if role == "assistant" => match message.get("refusal").and_then(Value::as_str) {
            _ if has_calls => Ok(Cow::Owned(Value::Null)),
            Some(refusal) => Ok(Cow::Owned(json!([{"type": "refusal", "refusal": refusal}]))),
            None => Err("an assistant message with neither content nor tool calls".to_owned()),
        },
        None if role == "function" => Ok(Cow::Owned(Value::Null)),
        _ => Err(format!("a {role} message without content")),
    }
}
