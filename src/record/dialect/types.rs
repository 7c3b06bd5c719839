//! The types every dialect shares: what a record keeps of a request ([`KeptRequest`]; a mapped
//! dialect's [`DialectRequest`] first), a parsed answer ([`Parsed`], a mapped dialect's
//! [`DialectAnswer`]) and why an answer or a stream makes no record. A leaf: the dialects use
//! it, it uses none of them but chat's [`AnswerError`].

use bytes::Bytes;
use serde_json::value::RawValue;

use super::chat::answer::AnswerError;
use super::json;
use crate::record::answer::Answer;
use crate::record::recordable::{self, Unrecordable};
use crate::record::request_members::raw_value;
use crate::record::stream::Incomplete;

/// What a record line keeps of the request's side, whichever the dialect: slices of the
/// original body (chat, completions) or the request mapped to ChatML (the other dialects).
#[derive(Debug, Clone)]
pub struct KeptRequest {
    /// Chat: the request's `messages` array (raw text); another dialect: its request's
    /// conversation mapped to ChatML messages (a JSON array text).
    pub messages: Option<Bytes>,
    /// Completions: the request's `prompt` (raw text).
    pub prompt: Option<Bytes>,
    /// The request's `tools` (raw text; another dialect's mapped to the chat shape), when
    /// present and not null.
    pub tools: Option<Bytes>,
    /// Something of the conversation has no ChatML form or lives where export cannot follow
    /// it: the record gets `"partial": true` (and no `rebuildable`).
    pub partial: bool,
    /// Responses: the `previous_response_id` this turn continues.
    pub previous_response_id: Option<String>,
    /// The request's `n` (default 1).
    pub n: u32,
    /// Completions: how many prompts the request has (1 for chat).
    pub prompts: u32,
    /// Why the request's side cannot be recorded (checked once for every choice).
    pub refused: Option<Unrecordable>,
}

/// What a record keeps of a dialect's request, already in ChatML form.
#[derive(Debug, Default)]
pub struct DialectRequest {
    /// The conversation as ChatML messages, in order, each one minified JSON object whose keys
    /// are in the order written by the mapping (docs/dialects.md).
    pub messages: Vec<Box<RawValue>>,
    /// The tools in the chat shape, in request order (empty when the request has none).
    pub tools: Vec<Box<RawValue>>,
    /// Something of the conversation has no ChatML form or lives where export cannot follow
    /// it (dropped input items or blocks, `conversation`): the record gets `"partial": true`.
    /// A `previous_response_id` alone does not set it (the record is partial but
    /// `rebuildable`, see [`crate::record::line`]).
    pub partial: bool,
    /// Responses: the `previous_response_id` this turn continues, for export to follow.
    pub previous_response_id: Option<String>,
    /// Responses: the server-side `conversation` id (`conversation` as a string, or its `id`).
    pub conversation: Option<String>,
}

impl DialectRequest {
    /// `messages` as one JSON array text.
    pub fn messages_json(&self) -> String {
        json::array_text(&self.messages)
    }

    /// `tools` as one JSON array text, `None` when there are none.
    pub fn tools_json(&self) -> Option<String> {
        (!self.tools.is_empty()).then(|| json::array_text(&self.tools))
    }

    /// What the record keeps: the mapped messages and tools as JSON texts, checked once.
    pub fn into_kept(self) -> KeptRequest {
        let messages = self.messages_json();
        let tools = self.tools_json();
        let refused = raw_value(&messages)
            .and_then(|m| recordable::check_messages(m).err())
            .or_else(|| {
                tools
                    .as_deref()
                    .and_then(raw_value)
                    .and_then(|t| recordable::check_tools(t).err())
            });
        KeptRequest {
            messages: Some(Bytes::from(messages)),
            prompt: None,
            tools: tools.map(Bytes::from),
            partial: self.partial,
            previous_response_id: self.previous_response_id,
            // One record per answer: these APIs have no `n`.
            n: 1,
            prompts: 1,
            refused,
        }
    }
}

/// A dialect's answer, normalised: one choice (index 0), the upstream's `id` and `usage`.
#[derive(Debug, PartialEq)]
pub struct DialectAnswer {
    /// The answer in the shape chat answers have.
    pub answer: Answer,
    /// Part of the answer (built-in tool calls, redacted thinking, ...) has no ChatML form and
    /// was left out: the record gets `"partial": true`.
    pub partial: bool,
}

/// Why a non-streamed 2xx body makes no record.
#[derive(Debug, thiserror::Error)]
pub enum DialectAnswerError {
    /// Not JSON, or a field the record needs has the wrong type.
    #[error("answer body is not a valid answer of this API: {0}")]
    Invalid(#[from] serde_json::Error),
    /// The body is an error object despite the 2xx status.
    #[error("upstream answered with an error: {0}")]
    UpstreamError(String),
    /// A Responses answer whose `status` is not `completed` or `incomplete` (`failed`,
    /// `cancelled`, `in_progress`, `queued`): nothing finished to record.
    #[error("response status is {status}, not recorded")]
    NotRecorded {
        /// The response's `status`.
        status: String,
    },
}

/// Why a stream makes no record. Carries the upstream's `id` (when one was seen) for logging.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialectIncomplete {
    /// The stream ended before its terminal event (`response.completed`/`.incomplete`,
    /// `message_stop`): client gone or upstream cut.
    #[error("stream ended without a terminal event (upstream id: {})", id.as_deref().unwrap_or("none"))]
    NoTerminalEvent {
        /// The upstream's `id`, when an event carried one.
        id: Option<String>,
    },
    /// The upstream sent an `error` event, or `response.failed`.
    #[error("upstream sent an error mid-stream (upstream id: {}): {message}", id.as_deref().unwrap_or("none"))]
    UpstreamError {
        /// The upstream's `id`, when an event carried one.
        id: Option<String>,
        /// The error's `message`, or its JSON text.
        message: String,
    },
}

impl DialectIncomplete {
    /// The upstream's `id`, when an event carried one.
    pub fn upstream_id(&self) -> Option<&str> {
        match self {
            DialectIncomplete::NoTerminalEvent { id }
            | DialectIncomplete::UpstreamError { id, .. } => id.as_deref(),
        }
    }
}

/// A normalised answer and what the record needs to know about how it was read.
#[derive(Debug)]
pub struct Parsed {
    /// The answer, one choice per record line.
    pub answer: Answer,
    /// Choices whose `index` was at or above the request's `n` × prompts (left out).
    pub left_out: u64,
    /// Part of the answer has no ChatML form and was left out: the record gets
    /// `"partial": true`.
    pub partial: bool,
}

impl From<DialectAnswer> for Parsed {
    fn from(parsed: DialectAnswer) -> Self {
        Parsed {
            answer: parsed.answer,
            left_out: 0,
            partial: parsed.partial,
        }
    }
}

/// Why a non-streamed 2xx body makes no record.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// A chat completions or completions body.
    #[error(transparent)]
    Chat(#[from] AnswerError),
    /// A body of another dialect.
    #[error(transparent)]
    Dialect(#[from] DialectAnswerError),
}

impl From<DialectIncomplete> for Incomplete {
    fn from(why: DialectIncomplete) -> Self {
        match why {
            DialectIncomplete::NoTerminalEvent { id } => Incomplete::NoFinishReason { id },
            DialectIncomplete::UpstreamError { id, message } => {
                Incomplete::UpstreamError { id, message }
            }
        }
    }
}
