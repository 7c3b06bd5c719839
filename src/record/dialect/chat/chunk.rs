//! The JSON of one streamed chunk (`data:` of an SSE event): only what a record needs, and the
//! message of an `event: error` event.

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::record::dialect::common::{error_message, LenientString};

/// The message of an `event: error` event's data.
pub(super) fn error_text(data: &str) -> String {
    #[derive(Deserialize)]
    struct WithError<'a> {
        #[serde(borrow)]
        error: &'a RawValue,
    }
    if let Ok(w) = serde_json::from_str::<WithError<'_>>(data) {
        return error_message(w.error);
    }
    match serde_json::from_str::<&RawValue>(data) {
        Ok(raw) => error_message(raw),
        Err(_) => data.to_owned(),
    }
}

/// One `data:` chunk: only what the record needs.
#[derive(Deserialize)]
pub(super) struct Chunk<'a> {
    #[serde(default)]
    pub(super) id: Option<LenientString>,
    #[serde(default)]
    pub(super) choices: Option<Vec<ChunkChoice>>,
    #[serde(default)]
    pub(super) usage: Option<Box<RawValue>>,
    #[serde(default, borrow)]
    pub(super) error: Option<&'a RawValue>,
}

#[derive(Deserialize)]
pub(super) struct ChunkChoice {
    #[serde(default)]
    pub(super) index: Option<u32>,
    /// Chat.
    #[serde(default)]
    pub(super) delta: Option<Delta>,
    /// Completions.
    #[serde(default)]
    pub(super) text: Option<String>,
    #[serde(default)]
    pub(super) finish_reason: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct Delta {
    #[serde(default)]
    pub(super) role: Option<String>,
    #[serde(default)]
    pub(super) content: Option<String>,
    #[serde(default)]
    pub(super) refusal: Option<String>,
    #[serde(default)]
    pub(super) reasoning_content: Option<String>,
    #[serde(default)]
    pub(super) reasoning: Option<String>,
    #[serde(default)]
    pub(super) tool_calls: Option<Vec<ToolCallDelta>>,
}

#[derive(Deserialize)]
pub(super) struct ToolCallDelta {
    #[serde(default)]
    pub(super) index: Option<u32>,
    #[serde(default)]
    pub(super) id: Option<String>,
    #[serde(default, rename = "type")]
    pub(super) kind: Option<String>,
    #[serde(default)]
    pub(super) function: Option<FunctionDelta>,
}

#[derive(Deserialize)]
pub(super) struct FunctionDelta {
    #[serde(default)]
    pub(super) name: Option<String>,
    #[serde(default)]
    pub(super) arguments: Option<String>,
}
