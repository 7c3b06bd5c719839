//! An [`Answer`] in OpenAI's shapes: `chat.completion` and `text_completion` objects, and
//! their stream chunks (`chat.completion.chunk`, `text_completion`) as SSE events ending
//! with `data: [DONE]`.

use serde_json::{json, Value};

use super::answers::{pieces, Answer, Choice, Reply};

/// Which OpenAI endpoint answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// `/v1/chat/completions`.
    Chat,
    /// `/v1/completions`.
    Completions,
}

/// What every object of one answer shares.
#[derive(Debug, Clone)]
pub(crate) struct Envelope {
    /// `id` (unique per answer).
    pub id: String,
    /// `created`, Unix seconds.
    pub created: i64,
}

/// `system_fingerprint` of every answer.
const FINGERPRINT: &str = "micromodel-demo";

fn usage(answer: &Answer) -> Value {
    json!({
        "prompt_tokens": answer.prompt_tokens,
        "completion_tokens": answer.completion_tokens,
        "total_tokens": answer.prompt_tokens + answer.completion_tokens,
    })
}

fn tool_calls(reply: &Reply) -> Option<Value> {
    match reply {
        Reply::Text(_) => None,
        Reply::Tools(calls) => Some(
            calls
                .iter()
                .map(|c| {
                    json!({"id": c.id, "type": "function",
                           "function": {"name": c.name, "arguments": c.arguments}})
                })
                .collect(),
        ),
    }
}

fn text(reply: &Reply) -> Option<&str> {
    match reply {
        Reply::Text(text) => Some(text),
        Reply::Tools(_) => None,
    }
}

/// The whole (non-streamed) answer.
pub(crate) fn whole(shape: Shape, answer: &Answer, envelope: &Envelope) -> Value {
    let choices: Vec<Value> = answer
        .choices
        .iter()
        .map(|choice| match shape {
            Shape::Chat => {
                let mut message = json!({"role": "assistant", "content": text(&choice.reply),
                                         "refusal": null});
                if let Some(calls) = tool_calls(&choice.reply) {
                    message["tool_calls"] = calls;
                }
                json!({"index": choice.index, "message": message, "logprobs": null,
                       "finish_reason": choice.finish_reason})
            }
            Shape::Completions => json!({"text": text(&choice.reply).unwrap_or_default(),
                "index": choice.index, "logprobs": null, "finish_reason": choice.finish_reason}),
        })
        .collect();
    let object = match shape {
        Shape::Chat => "chat.completion",
        Shape::Completions => "text_completion",
    };
    json!({
        "id": envelope.id,
        "object": object,
        "created": envelope.created,
        "model": answer.model,
        "system_fingerprint": FINGERPRINT,
        "choices": choices,
        "usage": usage(answer),
    })
}

/// The answer as SSE events: for chat a role delta, then the content word by word (tool
/// call arguments in two halves), then the finish reason; for completions the text word by
/// word, then the finish reason. With `include_usage`, a last chunk with empty `choices`
/// carries `usage`. Then `data: [DONE]`.
pub(crate) fn events(shape: Shape, answer: &Answer, envelope: &Envelope) -> Vec<String> {
    let mut chunks: Vec<Value> = Vec::new();
    let chunk = |choices: Vec<Value>| {
        let object = match shape {
            Shape::Chat => "chat.completion.chunk",
            Shape::Completions => "text_completion",
        };
        let mut chunk = json!({"id": envelope.id, "object": object, "created": envelope.created,
            "model": answer.model, "system_fingerprint": FINGERPRINT, "choices": choices});
        if answer.stream_usage {
            chunk["usage"] = Value::Null;
        }
        chunk
    };
    for choice in &answer.choices {
        for delta in deltas(shape, choice) {
            chunks.push(chunk(vec![delta]));
        }
    }
    if answer.stream_usage {
        let mut last = chunk(Vec::new());
        last["usage"] = usage(answer);
        chunks.push(last);
    }
    let mut events: Vec<String> = chunks
        .iter()
        .map(|chunk| format!("data: {chunk}\n\n"))
        .collect();
    events.push("data: [DONE]\n\n".to_owned());
    events
}

/// One choice's stream entries, in order.
fn deltas(shape: Shape, choice: &Choice) -> Vec<Value> {
    let index = choice.index;
    let finish = choice.finish_reason;
    match shape {
        Shape::Completions => {
            let text = text(&choice.reply).unwrap_or_default();
            let entry = |text: &str, finish: Option<&str>| json!({"text": text, "index": index, "logprobs": null, "finish_reason": finish});
            let mut out: Vec<Value> = pieces(text).map(|p| entry(p, None)).collect();
            out.push(entry("", Some(finish)));
            out
        }
        Shape::Chat => {
            let entry = |delta: Value, finish: Option<&str>| json!({"index": index, "delta": delta, "logprobs": null, "finish_reason": finish});
            let mut out = Vec::new();
            match &choice.reply {
                Reply::Text(text) => {
                    out.push(entry(json!({"role": "assistant", "content": ""}), None));
                    out.extend(pieces(text).map(|p| entry(json!({"content": p}), None)));
                }
                Reply::Tools(calls) => {
                    out.push(entry(json!({"role": "assistant", "content": null}), None));
                    for (i, call) in calls.iter().enumerate() {
                        let (head, tail) = split_half(&call.arguments);
                        out.push(entry(
                            json!({"tool_calls": [{"index": i, "id": call.id, "type": "function",
                                "function": {"name": call.name, "arguments": head}}]}),
                            None,
                        ));
                        out.push(entry(
                            json!({"tool_calls": [{"index": i, "function": {"arguments": tail}}]}),
                            None,
                        ));
                    }
                }
            }
            out.push(entry(json!({}), Some(finish)));
            out
        }
    }
}

/// `text` cut in two at a character boundary near its middle.
fn split_half(text: &str) -> (&str, &str) {
    let mut middle = text.len() / 2;
    while !text.is_char_boundary(middle) {
        middle += 1;
    }
    text.split_at(middle)
}
