//! The built-in upstream's Responses API (`POST /v1/responses`) and Anthropic Messages
//! (`POST /v1/messages`): the request is read as a chat request ([`as_chat_request`]), answered
//! by [`answers::chat`](super::answers::chat), and the answer given the dialect's published
//! shape, whole ([`whole`]) or as its typed SSE events ([`events`]).

use serde_json::{json, Map, Value};

use super::answers::{pieces, Answer, Reply};
use super::openai::Envelope;

/// Which dialect to read and answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// OpenAI Responses API.
    Responses,
    /// Anthropic Messages.
    Messages,
}

/// The request as the chat request [`answers::chat`](super::answers::chat) reads: `messages`
/// (role and text content), function `tools` in the chat shape, `max_tokens`, `model`,
/// `stream`.
pub(crate) fn as_chat_request(dialect: Dialect, request: &Value) -> Value {
    let mut messages = Vec::new();
    let tools: Vec<Value>;
    let limit;
    match dialect {
        Dialect::Responses => {
            if let Some(text) = request.get("instructions").and_then(Value::as_str) {
                messages.push(json!({"role": "system", "content": text}));
            }
            match request.get("input") {
                Some(Value::String(text)) => {
                    messages.push(json!({"role": "user", "content": text}));
                }
                Some(Value::Array(items)) => {
                    for item in items {
                        if item["type"] == "function_call_output" {
                            messages.push(json!({"role": "tool", "content": item["output"]}));
                        } else if item.get("role").is_some() {
                            messages
                                .push(json!({"role": item["role"], "content": item["content"]}));
                        }
                    }
                }
                _ => {}
            }
            tools = list(request, "tools")
                .filter(|t| t["type"] == "function")
                .map(|t| json!({"type": "function", "function": {"name": t["name"], "parameters": t["parameters"]}}))
                .collect();
            limit = request.get("max_output_tokens").cloned();
        }
        Dialect::Messages => {
            for message in list(request, "messages") {
                let blocks = message["content"].as_array().map(Vec::as_slice);
                let tool_result =
                    blocks.is_some_and(|b| b.iter().any(|b| b["type"] == "tool_result"));
                let role = if tool_result {
                    json!("tool")
                } else {
                    message["role"].clone()
                };
                let content = match blocks {
                    Some(blocks) => Value::Array(
                        blocks
                            .iter()
                            .map(|b| match &b["content"] {
                                Value::String(text) => json!({"text": text}),
                                _ => b.clone(),
                            })
                            .collect(),
                    ),
                    None => message["content"].clone(),
                };
                messages.push(json!({"role": role, "content": content}));
            }
            tools = list(request, "tools")
                .filter(|t| t.get("input_schema").is_some())
                .map(|t| json!({"type": "function", "function": {"name": t["name"], "parameters": t["input_schema"]}}))
                .collect();
            limit = request.get("max_tokens").cloned();
        }
    }
    let mut chat = Map::new();
    for key in ["model", "stream"] {
        if let Some(value) = request.get(key) {
            chat.insert(key.to_owned(), value.clone());
        }
    }
    chat.insert("messages".to_owned(), Value::Array(messages));
    if !tools.is_empty() {
        chat.insert("tools".to_owned(), Value::Array(tools));
    }
    if let Some(limit) = limit {
        chat.insert("max_tokens".to_owned(), limit);
    }
    Value::Object(chat)
}

fn list<'a>(request: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    request
        .get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// The whole (non-streamed) answer, first choice only (these APIs have no `n`).
pub(crate) fn whole(dialect: Dialect, answer: &Answer, envelope: &Envelope) -> Value {
    let Some(choice) = answer.choices.first() else {
        return Value::Null;
    };
    match dialect {
        Dialect::Responses => {
            let output: Vec<Value> = match &choice.reply {
                Reply::Text(text) => vec![json!({"type": "message", "id": format!("msg_{}", envelope.id),
                    "status": "completed", "role": "assistant",
                    "content": [{"type": "output_text", "text": text, "annotations": []}]})],
                Reply::Tools(calls) => calls
                    .iter()
                    .map(|c| json!({"type": "function_call", "id": format!("fc_{}", c.id), "call_id": c.id,
                        "name": c.name, "arguments": c.arguments, "status": "completed"}))
                    .collect(),
            };
            let incomplete = choice.finish_reason == "length";
            json!({
                "id": envelope.id, "object": "response", "created_at": envelope.created,
                "status": if incomplete { "incomplete" } else { "completed" },
                "error": null,
                "incomplete_details": if incomplete { json!({"reason": "max_output_tokens"}) } else { Value::Null },
                "model": answer.model, "output": output,
                "usage": {"input_tokens": answer.prompt_tokens, "output_tokens": answer.completion_tokens,
                          "total_tokens": answer.prompt_tokens + answer.completion_tokens},
            })
        }
        Dialect::Messages => {
            let content: Vec<Value> = match &choice.reply {
                Reply::Text(text) => vec![json!({"type": "text", "text": text})],
                Reply::Tools(calls) => calls
                    .iter()
                    .map(|c| {
                        let input: Value =
                            serde_json::from_str(&c.arguments).unwrap_or_else(|_| json!({}));
                        json!({"type": "tool_use", "id": c.id, "name": c.name, "input": input})
                    })
                    .collect(),
            };
            json!({
                "id": envelope.id, "type": "message", "role": "assistant", "model": answer.model,
                "content": content, "stop_reason": stop_reason(choice.finish_reason),
                "stop_sequence": null,
                "usage": {"input_tokens": answer.prompt_tokens, "output_tokens": answer.completion_tokens},
            })
        }
    }
}

fn stop_reason(finish_reason: &str) -> &'static str {
    match finish_reason {
        "tool_calls" => "tool_use",
        "length" => "max_tokens",
        _ => "end_turn",
    }
}

/// The answer as the dialect's typed SSE events (`event: <type>` and its `data`), text word
/// by word and tool arguments in pieces, ending with the terminal event.
pub(crate) fn events(dialect: Dialect, answer: &Answer, envelope: &Envelope) -> Vec<String> {
    let done = whole(dialect, answer, envelope);
    let mut out: Vec<Value> = Vec::new();
    match dialect {
        Dialect::Responses => {
            let mut started = done.clone();
            started["status"] = json!("in_progress");
            started["output"] = json!([]);
            started["usage"] = Value::Null;
            out.push(json!({"type": "response.created", "response": started}));
            for (index, item) in done["output"].as_array().into_iter().flatten().enumerate() {
                let mut added = item.clone();
                added["status"] = json!("in_progress");
                if item["type"] == "message" {
                    added["content"] = json!([]);
                }
                if item["type"] == "function_call" {
                    added["arguments"] = json!("");
                }
                out.push(json!({"type": "response.output_item.added", "output_index": index, "item": added}));
                if item["type"] == "message" {
                    let text = item["content"][0]["text"].as_str().unwrap_or_default();
                    let at =
                        json!({"item_id": item["id"], "output_index": index, "content_index": 0});
                    out.push(with(&at, json!({"type": "response.content_part.added", "part": {"type": "output_text", "text": "", "annotations": []}})));
                    for piece in pieces(text) {
                        out.push(with(
                            &at,
                            json!({"type": "response.output_text.delta", "delta": piece}),
                        ));
                    }
                    out.push(with(
                        &at,
                        json!({"type": "response.output_text.done", "text": text}),
                    ));
                    out.push(with(
                        &at,
                        json!({"type": "response.content_part.done", "part": item["content"][0]}),
                    ));
                } else {
                    let arguments = item["arguments"].as_str().unwrap_or_default();
                    let at = json!({"item_id": item["id"], "output_index": index});
                    for piece in pieces(arguments) {
                        out.push(with(&at, json!({"type": "response.function_call_arguments.delta", "delta": piece})));
                    }
                    out.push(with(&at, json!({"type": "response.function_call_arguments.done", "arguments": arguments})));
                }
                out.push(json!({"type": "response.output_item.done", "output_index": index, "item": item}));
            }
            let terminal = if done["status"] == "incomplete" {
                "response.incomplete"
            } else {
                "response.completed"
            };
            out.push(json!({"type": terminal, "response": done}));
            for (n, event) in out.iter_mut().enumerate() {
                event["sequence_number"] = json!(n);
            }
        }
        Dialect::Messages => {
            let mut started = done.clone();
            started["content"] = json!([]);
            started["stop_reason"] = Value::Null;
            started["usage"]["output_tokens"] = json!(1);
            out.push(json!({"type": "message_start", "message": started}));
            out.push(json!({"type": "ping"}));
            for (index, block) in done["content"].as_array().into_iter().flatten().enumerate() {
                if block["type"] == "text" {
                    out.push(json!({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}));
                    for piece in pieces(block["text"].as_str().unwrap_or_default()) {
                        out.push(json!({"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": piece}}));
                    }
                } else {
                    let mut start = block.clone();
                    start["input"] = json!({});
                    out.push(json!({"type": "content_block_start", "index": index, "content_block": start}));
                    let input = block["input"].to_string();
                    for piece in pieces(&input) {
                        out.push(json!({"type": "content_block_delta", "index": index, "delta": {"type": "input_json_delta", "partial_json": piece}}));
                    }
                }
                out.push(json!({"type": "content_block_stop", "index": index}));
            }
            out.push(json!({"type": "message_delta", "delta": {"stop_reason": done["stop_reason"], "stop_sequence": null},
                            "usage": {"output_tokens": done["usage"]["output_tokens"]}}));
            out.push(json!({"type": "message_stop"}));
        }
    }
    out.iter()
        .map(|event| {
            let name = event["type"].as_str().unwrap_or_default();
            format!("event: {name}\ndata: {event}\n\n")
        })
        .collect()
}

/// `event` with the members of `at` added.
fn with(at: &Value, mut event: Value) -> Value {
    if let (Some(event), Some(at)) = (event.as_object_mut(), at.as_object()) {
        for (key, value) in at {
            event.insert(key.clone(), value.clone());
        }
    }
    event
}

#[cfg(test)]
#[path = "dialects_tests.rs"]
mod tests;
