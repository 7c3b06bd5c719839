//! A non-streamed Messages answer → the assistant message; the `stop_reason` mapping the
//! stream shares.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::blocks::{parse_block, AssistantBlocks, Block};
use crate::record::answer::{Answer, Choice};
use crate::record::dialect::common::error_message;
use crate::record::dialect::json;
use crate::record::dialect::types::{DialectAnswer, DialectAnswerError};

#[derive(Deserialize)]
struct MessageBody<'a> {
    #[serde(default)]
    id: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default, borrow)]
    content: Option<Vec<&'a RawValue>>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default, borrow)]
    usage: Option<&'a RawValue>,
    #[serde(default, borrow)]
    error: Option<&'a RawValue>,
}

/// Parses a non-streamed 2xx body.
pub fn parse_answer(body: &[u8]) -> Result<DialectAnswer, DialectAnswerError> {
    let message: MessageBody<'_> = serde_json::from_slice(body)?;
    if let Some(error) = message.error.filter(|e| e.get() != "null") {
        return Err(DialectAnswerError::UpstreamError(error_message(error)));
    }
    if message.kind.as_deref() == Some("error") {
        return Err(DialectAnswerError::UpstreamError("error".to_owned()));
    }
    let blocks = message
        .content
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|raw| parse_block(raw))
        .collect();
    let usage = message
        .usage
        .filter(|u| u.get() != "null")
        .map(|u| json::into_raw(json::minified(u)));
    Ok(build_answer(
        message.id,
        blocks,
        message.stop_reason.as_deref(),
        usage,
    ))
}

/// The answer from its parts (shared with the stream).
pub fn build_answer(
    id: Option<String>,
    blocks: Vec<Block>,
    stop_reason: Option<&str>,
    usage: Option<Box<RawValue>>,
) -> DialectAnswer {
    let mut assistant = AssistantBlocks::default();
    for block in blocks {
        assistant.add(block);
    }
    let partial = assistant.partial;
    DialectAnswer {
        answer: Answer {
            id,
            choices: vec![Choice {
                index: 0,
                message: assistant.into_message(),
                finish_reason: stop_reason.map(finish_reason),
            }],
            usage,
        },
        partial,
    }
}

/// `stop_reason` → `finish_reason`: `end_turn`/`stop_sequence` → `stop`, `tool_use` →
/// `tool_calls`, `max_tokens` and `model_context_window_exceeded` → `length`, `refusal` →
/// `content_filter`; any other (`pause_turn`, ...) kept as given.
pub fn finish_reason(stop_reason: &str) -> String {
    match stop_reason {
        "end_turn" | "stop_sequence" => "stop",
        "tool_use" => "tool_calls",
        "max_tokens" | "model_context_window_exceeded" => "length",
        "refusal" => "content_filter",
        other => other,
    }
    .to_owned()
}
