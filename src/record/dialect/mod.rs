//! Dialects other than chat/completions: how to keep a request's conversation, how to parse a
//! non-streamed answer and how to assemble a stream, each mapped to the §4 record's ChatML shape.
//!
//! - [`responses`]: the OpenAI Responses API, `POST /v1/responses`.
//! - [`messages`]: Anthropic Messages, `POST /v1/messages`.
//! - [`json`]: writing JSON text with keys in a fixed order, values copied as raw text: the
//!   record's own objects get the record format's key order, and what a client or upstream
//!   sent is copied byte for byte (minified), never re-serialised.
//!
//! [`Dialect`] is the one entry point the proxy needs; see docs/dialects.md for the mapping.

pub mod json;
pub mod messages;
pub mod responses;

#[cfg(test)]
mod test_support;

use serde_json::value::RawValue;

use super::answer::Answer;
use super::endpoint::EndpointKind;
use super::request::RequestView;

/// A recorded endpoint that speaks a dialect other than chat completions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// `POST /v1/responses` (OpenAI Responses API).
    Responses,
    /// `POST /v1/messages` (Anthropic Messages).
    Messages,
}

impl Dialect {
    /// The recorded endpoint this dialect is spoken at (its path is [`EndpointKind::path`]).
    pub const fn endpoint(self) -> EndpointKind {
        match self {
            Dialect::Responses => EndpointKind::Responses,
            Dialect::Messages => EndpointKind::Messages,
        }
    }

    /// The dialect of a recorded endpoint; `None` for chat completions and completions,
    /// which [`parse_answer`](super::parse_answer) and [`StreamCapture`](super::StreamCapture)
    /// handle.
    pub const fn of(kind: EndpointKind) -> Option<Dialect> {
        match kind {
            EndpointKind::Responses => Some(Dialect::Responses),
            EndpointKind::Messages => Some(Dialect::Messages),
            EndpointKind::Chat | EndpointKind::Completions => None,
        }
    }

    /// The request's conversation in ChatML form (never fails: what has no ChatML form is
    /// left out and the result marked partial).
    pub fn map_request(self, view: &RequestView<'_>) -> DialectRequest {
        match self {
            Dialect::Responses => responses::request::map_request(view),
            Dialect::Messages => messages::request::map_request(view),
        }
    }

    /// A non-streamed 2xx answer body → the assistant message.
    pub fn parse_answer(self, body: &[u8]) -> Result<DialectAnswer, DialectAnswerError> {
        match self {
            Dialect::Responses => responses::answer::parse_answer(body),
            Dialect::Messages => messages::answer::parse_answer(body),
        }
    }

    /// A capture for a streamed answer of this dialect.
    pub fn stream_capture(self) -> DialectStream {
        match self {
            Dialect::Responses => {
                DialectStream::Responses(responses::stream::ResponsesStream::new())
            }
            Dialect::Messages => DialectStream::Messages(messages::stream::MessagesStream::new()),
        }
    }
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

/// A streamed answer being captured, whichever the dialect.
#[derive(Debug)]
pub enum DialectStream {
    /// A Responses stream.
    Responses(responses::stream::ResponsesStream),
    /// A Messages stream.
    Messages(messages::stream::MessagesStream),
}

impl DialectStream {
    /// Feeds the next bytes of the upstream's stream, split anywhere.
    pub fn feed(&mut self, bytes: &[u8]) {
        match self {
            DialectStream::Responses(s) => s.feed(bytes),
            DialectStream::Messages(s) => s.feed(bytes),
        }
    }

    /// Whether the terminal event (or an error) has been seen.
    pub fn is_done(&self) -> bool {
        match self {
            DialectStream::Responses(s) => s.is_done(),
            DialectStream::Messages(s) => s.is_done(),
        }
    }

    /// Ends the capture: the assembled answer when the terminal event was seen.
    pub fn finish(self) -> Result<DialectAnswer, DialectIncomplete> {
        match self {
            DialectStream::Responses(s) => s.finish(),
            DialectStream::Messages(s) => s.finish(),
        }
    }
}
