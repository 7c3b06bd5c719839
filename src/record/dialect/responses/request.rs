//! A Responses request → ChatML messages and chat-shaped tools (docs/dialects.md).

use serde::Deserialize;
use serde_json::value::RawValue;

use super::items::{parse_item, AssistantTurn, Item};
use crate::record::dialect::json;
use crate::record::dialect::types::DialectRequest;
use crate::record::request::RequestView;

/// Maps `instructions`, `input`, `tools`, `previous_response_id` and `conversation`.
pub fn map_request(view: &RequestView<'_>) -> DialectRequest {
    let mut out = DialectRequest::default();
    if let Some(raw) = view.get_non_null("instructions") {
        match serde_json::from_str::<String>(raw.get()) {
            Ok(text) => {
                let mut content = String::new();
                json::push_string(&mut content, &text);
                out.messages.push(json::role_message("system", &content));
            }
            Err(_) => out.partial = true,
        }
    }
    if let Some(raw) = view.get_non_null("input") {
        map_input(raw, &mut out);
    }
    if let Some(raw) = view.get_non_null("previous_response_id") {
        // The link alone does not make the turn partial (export follows it); a link that is
        // not a string cannot be followed.
        out.previous_response_id = serde_json::from_str::<String>(raw.get()).ok();
        out.partial |= out.previous_response_id.is_none();
    }
    if let Some(raw) = view.get_non_null("conversation") {
        out.conversation = conversation_id(raw);
        out.partial = true;
    }
    if let Some(raw) = view.get_non_null("tools") {
        if let Ok(tools) = serde_json::from_str::<Vec<&RawValue>>(raw.get()) {
            out.tools = tools.into_iter().map(map_tool).collect();
        }
    }
    out
}

/// `conversation`: a string id, or an object's `id`.
fn conversation_id(raw: &RawValue) -> Option<String> {
    #[derive(Deserialize)]
    struct WithId {
        id: String,
    }
    serde_json::from_str::<String>(raw.get())
        .ok()
        .or_else(|| serde_json::from_str::<WithId>(raw.get()).ok().map(|w| w.id))
}

/// `input`: a string is one user message; an array is items.
fn map_input(raw: &RawValue, out: &mut DialectRequest) {
    if let Ok(text) = serde_json::from_str::<String>(raw.get()) {
        let mut content = String::new();
        json::push_string(&mut content, &text);
        out.messages.push(json::role_message("user", &content));
        return;
    }
    let Ok(items) = serde_json::from_str::<Vec<&RawValue>>(raw.get()) else {
        out.partial = true;
        return;
    };
    let mut turn = AssistantTurn::default();
    for item in items.into_iter().map(parse_item) {
        match item {
            Item::Message { ref role, .. } if role == "assistant" => {
                if turn.has_output() {
                    flush(&mut turn, out);
                }
                turn.add(item);
            }
            Item::Reasoning(_) => {
                if turn.has_output() {
                    flush(&mut turn, out);
                }
                turn.add(item);
            }
            Item::FunctionCall(_) => turn.add(item),
            Item::Message {
                role,
                parts,
                dropped,
                ..
            } => {
                flush(&mut turn, out);
                out.partial |= dropped;
                out.messages
                    .push(json::role_message(&role, &json::content_text(&parts)));
            }
            Item::FunctionOutput {
                call_id,
                content_json,
            } => {
                flush(&mut turn, out);
                out.messages
                    .push(json::tool_message(&call_id, &content_json));
            }
            Item::Other => out.partial = true,
        }
    }
    flush(&mut turn, out);
}

/// Writes the pending assistant turn, if any, as one assistant message.
fn flush(turn: &mut AssistantTurn, out: &mut DialectRequest) {
    let turn = std::mem::take(turn);
    out.partial |= turn.partial;
    if turn.is_empty() {
        return;
    }
    let text = serde_json::to_string(&turn.into_message()).expect("assistant message serialises");
    out.messages.push(json::into_raw(text));
}

/// A function tool in the chat shape; any other tool as given.
fn map_tool(raw: &RawValue) -> Box<RawValue> {
    let Some(members) = json::members(raw.get()) else {
        return json::into_raw(json::minified(raw));
    };
    let is_function = members
        .iter()
        .any(|(k, v)| k == "type" && v.get() == "\"function\"");
    if !is_function {
        return json::into_raw(json::minified(raw));
    }
    let picked: Vec<(&str, &RawValue)> = ["name", "description", "parameters", "strict"]
        .into_iter()
        .filter_map(|key| {
            members
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, v)| (key, *v))
        })
        .collect();
    json::function_tool(&picked)
}
