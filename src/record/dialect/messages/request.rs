//! A Messages request → ChatML messages and chat-shaped tools (docs/dialects.md).

use serde::Deserialize;
use serde_json::value::RawValue;

use super::blocks::{parse_block, user_parts, AssistantBlocks, Block};
use crate::record::dialect::json;
use crate::record::dialect::types::DialectRequest;
use crate::record::request::RequestView;

#[derive(Deserialize)]
struct RawMessage<'a> {
    #[serde(default)]
    role: Option<String>,
    #[serde(default, borrow)]
    content: Option<&'a RawValue>,
}

/// Maps `system`, `messages` and `tools`.
pub fn map_request(view: &RequestView<'_>) -> DialectRequest {
    let mut out = DialectRequest::default();
    if let Some(raw) = view.get_non_null("system") {
        let (content, dropped) = text_or_blocks(raw);
        out.partial |= dropped;
        out.messages.push(json::role_message("system", &content));
    }
    if let Some(raw) = view.get_non_null("messages") {
        match serde_json::from_str::<Vec<RawMessage<'_>>>(raw.get()) {
            Ok(messages) => {
                for message in messages {
                    map_message(message, &mut out);
                }
            }
            Err(_) => out.partial = true,
        }
    }
    if let Some(raw) = view.get_non_null("tools") {
        if let Ok(tools) = serde_json::from_str::<Vec<&RawValue>>(raw.get()) {
            out.tools = tools.into_iter().map(map_tool).collect();
        }
    }
    out
}

/// `system`: a string, or text blocks (concatenated); other blocks are left out.
fn text_or_blocks(raw: &RawValue) -> (String, bool) {
    if raw.get().starts_with('"') {
        return (json::minified(raw), false);
    }
    match serde_json::from_str::<Vec<&RawValue>>(raw.get()) {
        Ok(blocks) => {
            let (parts, dropped) = user_parts(blocks.iter().map(|b| parse_block(b)));
            (json::content_text(&parts), dropped)
        }
        Err(_) => ("\"\"".to_owned(), true),
    }
}

fn map_message(message: RawMessage<'_>, out: &mut DialectRequest) {
    let role = message.role.unwrap_or_else(|| "user".to_owned());
    let Some(content) = message.content.filter(|c| c.get() != "null") else {
        out.messages.push(json::role_message(&role, "\"\""));
        return;
    };
    if content.get().starts_with('"') {
        out.messages
            .push(json::role_message(&role, &json::minified(content)));
        return;
    }
    let Ok(raw_blocks) = serde_json::from_str::<Vec<&RawValue>>(content.get()) else {
        out.partial = true;
        return;
    };
    let blocks = raw_blocks.iter().map(|raw| parse_block(raw));
    if role == "assistant" {
        let mut assistant = AssistantBlocks::default();
        for block in blocks {
            assistant.add(block);
        }
        out.partial |= assistant.partial;
        let text =
            serde_json::to_string(&assistant.into_message()).expect("assistant message serialises");
        out.messages.push(json::into_raw(text));
        return;
    }
    // tool_result blocks become tool messages, in order, before the rest of the user turn.
    let mut rest = Vec::new();
    let mut tool_results = 0;
    for block in blocks {
        match block {
            Block::ToolResult {
                tool_use_id,
                content_json,
                dropped,
            } => {
                out.partial |= dropped;
                tool_results += 1;
                out.messages
                    .push(json::tool_message(&tool_use_id, &content_json));
            }
            other => rest.push(other),
        }
    }
    if rest.is_empty() && tool_results > 0 {
        return;
    }
    let (parts, dropped) = user_parts(rest.into_iter());
    out.partial |= dropped;
    out.messages
        .push(json::role_message(&role, &json::content_text(&parts)));
}

/// A custom tool (`{name, description, input_schema}`) in the chat shape, `parameters` =
/// `input_schema`; server tools (`web_search_…`, `bash_…`, ...) as given.
fn map_tool(raw: &RawValue) -> Box<RawValue> {
    let Some(members) = json::members(raw.get()) else {
        return json::into_raw(json::minified(raw));
    };
    let get = |key: &str| {
        members
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| *v)
    };
    let custom = get("type").map_or(true, |t| t.get() == "\"custom\"");
    let Some(schema) = get("input_schema").filter(|_| custom) else {
        return json::into_raw(json::minified(raw));
    };
    let mut picked: Vec<(&str, &RawValue)> = Vec::new();
    for key in ["name", "description"] {
        if let Some(value) = get(key) {
            picked.push((key, value));
        }
    }
    picked.push(("parameters", schema));
    json::function_tool(&picked)
}
