//! The recorded dialects, one module each: what to keep of a request, how to parse a
//! non-streamed answer and how to assemble a stream, each mapped to the §4 record's ChatML
//! shape.
//!
//! - [`chat`]: chat completions, `POST /v1/chat/completions` (and the `choices` format that
//!   completions answers share).
//! - [`completions`]: completions, `POST /v1/completions` (the request's `prompt`).
//! - [`responses`]: the OpenAI Responses API, `POST /v1/responses`.
//! - [`messages`]: Anthropic Messages, `POST /v1/messages`.
//! - [`types`]: what they all return ([`KeptRequest`], [`Parsed`], ...); [`common`]: what
//!   they share (message normalisation, error messages); [`json`]: writing JSON text with keys
//!   in a fixed order, values copied as raw text, never re-serialised.
//!
//! [`Dialect`] is the one dispatch: the record line ([`crate::record::line`]) and the capture
//! the proxy uses ([`crate::record::capture`]) go through it only, so adding a dialect is a
//! module here, a variant of [`Dialect`] (and of [`DialectStream`] for its stream) and an
//! [`EndpointKind`]. See docs/dialects.md for the mappings.

pub mod chat;
pub(crate) mod common;
pub mod completions;
pub mod json;
pub mod messages;
pub mod responses;
pub mod types;

#[cfg(test)]
mod test_support;

use std::sync::Arc;

use bytes::Bytes;

use self::chat::stream::StreamCapture;
use self::messages::stream::MessagesStream;
use self::responses::stream::ResponsesStream;
use super::endpoint::EndpointKind;
use super::request::RequestView;
use super::stream::{CaptureLimits, Incomplete};
use crate::trust::redact::{Counts, Redactor};

pub use self::types::{
    DialectAnswer, DialectAnswerError, DialectIncomplete, DialectRequest, KeptRequest, ParseError,
    Parsed,
};

/// The dialect a recorded endpoint speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// `POST /v1/chat/completions`.
    Chat,
    /// `POST /v1/completions`.
    Completions,
    /// `POST /v1/responses` (OpenAI Responses API).
    Responses,
    /// `POST /v1/messages` (Anthropic Messages).
    Messages,
}

impl Dialect {
    /// The recorded endpoint this dialect is spoken at (its path is [`EndpointKind::path`]).
    pub const fn endpoint(self) -> EndpointKind {
        match self {
            Dialect::Chat => EndpointKind::Chat,
            Dialect::Completions => EndpointKind::Completions,
            Dialect::Responses => EndpointKind::Responses,
            Dialect::Messages => EndpointKind::Messages,
        }
    }

    /// The dialect of a recorded endpoint.
    pub const fn of(kind: EndpointKind) -> Dialect {
        match kind {
            EndpointKind::Chat => Dialect::Chat,
            EndpointKind::Completions => Dialect::Completions,
            EndpointKind::Responses => Dialect::Responses,
            EndpointKind::Messages => Dialect::Messages,
        }
    }

    /// What a record keeps of the request (`body` is the bytes `view` was parsed from). Never
    /// fails: what has no ChatML form is left out and the result marked partial.
    pub fn keep_request(self, view: &RequestView<'_>, body: &Bytes) -> KeptRequest {
        match self {
            Dialect::Chat => chat::keep_request(view, body),
            Dialect::Completions => completions::keep_request(view, body),
            Dialect::Responses => responses::request::map_request(view).into_kept(),
            Dialect::Messages => messages::request::map_request(view).into_kept(),
        }
    }

    /// A non-streamed 2xx answer body → the answer (choices at or above `max_choices` left
    /// out and counted; the dialects without choices have one).
    pub fn parse_answer(self, body: &[u8], max_choices: u32) -> Result<Parsed, ParseError> {
        match self {
            Dialect::Chat | Dialect::Completions => {
                let (answer, left_out) =
                    chat::answer::parse_answer_limited(self.endpoint(), body, max_choices)?;
                Ok(Parsed {
                    answer,
                    left_out,
                    partial: false,
                })
            }
            Dialect::Responses => Ok(responses::answer::parse_answer(body)?.into()),
            Dialect::Messages => Ok(messages::answer::parse_answer(body)?.into()),
        }
    }

    /// A capture for a streamed answer of this dialect, bounded by `limits`.
    pub fn stream_capture(self, limits: CaptureLimits) -> DialectStream {
        match self {
            Dialect::Chat | Dialect::Completions => {
                DialectStream::Chat(StreamCapture::with_limits(self.endpoint(), limits))
            }
            Dialect::Responses => {
                DialectStream::Responses(ResponsesStream::new(), Budget::new(limits))
            }
            Dialect::Messages => {
                DialectStream::Messages(MessagesStream::new(), Budget::new(limits))
            }
        }
    }

    /// Writes what comes before the assistant message in a record's `messages` array, each
    /// element followed by a `,`: the request's ChatML `history` (already minified and
    /// redacted), or for completions the `user` message of the `prompt` choice `index` answers
    /// (redacted here with `redact`, counted into `counts`).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn write_history(
        self,
        history: Option<&str>,
        prompt: Option<&Bytes>,
        n: u32,
        index: u32,
        redact: &[Arc<Redactor>],
        counts: &mut Counts,
        out: &mut String,
    ) {
        match self {
            Dialect::Completions => {
                completions::write_prompt(prompt, n, index, redact, counts, out)
            }
            Dialect::Chat | Dialect::Responses | Dialect::Messages => {
                common::write_chatml_history(history, out)
            }
        }
    }
}

/// A streamed answer being captured, whichever the dialect.
#[derive(Debug)]
pub enum DialectStream {
    /// Chat completions or completions chunks (the endpoint's kind is inside); bounded by the
    /// capture's own [`CaptureLimits`].
    Chat(StreamCapture),
    /// A Responses stream, bounded by the bytes fed.
    Responses(ResponsesStream, Budget),
    /// A Messages stream, bounded by the bytes fed.
    Messages(MessagesStream, Budget),
}

impl DialectStream {
    /// Feeds the next bytes of the upstream's stream, split anywhere.
    pub fn feed(&mut self, bytes: &[u8]) {
        match self {
            DialectStream::Chat(s) => s.feed(bytes),
            DialectStream::Responses(s, budget) => {
                if !s.is_done() && budget.admit(bytes.len()) {
                    s.feed(bytes);
                }
            }
            DialectStream::Messages(s, budget) => {
                if !s.is_done() && budget.admit(bytes.len()) {
                    s.feed(bytes);
                }
            }
        }
    }

    /// The capture went past `--max-record-bytes` and holds nothing more.
    ///
    /// A typed-event stream is bounded by the bytes of the stream before its terminal event
    /// (a Responses stream repeats the answer in its terminal event, so this is about twice
    /// the record's size; decision: simple and safe, see docs/dialects.md).
    pub fn too_large(&self) -> bool {
        match self {
            DialectStream::Chat(s) => s.too_large(),
            DialectStream::Responses(_, budget) | DialectStream::Messages(_, budget) => {
                budget.exceeded()
            }
        }
    }

    /// Whether the stream's end (its terminal event, or an error) was seen.
    pub fn is_done(&self) -> bool {
        match self {
            DialectStream::Chat(s) => s.is_done(),
            DialectStream::Responses(s, _) => s.is_done(),
            DialectStream::Messages(s, _) => s.is_done(),
        }
    }

    /// The upstream's `id`, when a chunk carried one (chat streams only, before the end).
    pub fn upstream_id(&self) -> Option<&str> {
        match self {
            DialectStream::Chat(s) => s.upstream_id(),
            DialectStream::Responses(..) | DialectStream::Messages(..) => None,
        }
    }

    /// Ends the capture: the answer when the stream completed.
    pub fn finish(self) -> Result<Parsed, Incomplete> {
        match self {
            DialectStream::Chat(s) => {
                let left_out = s.unexpected_choices();
                let answer = s.finish()?;
                Ok(Parsed {
                    answer,
                    left_out,
                    partial: false,
                })
            }
            DialectStream::Responses(s, budget) => {
                budget.check()?;
                Ok(s.finish()?.into())
            }
            DialectStream::Messages(s, budget) => {
                budget.check()?;
                Ok(s.finish()?.into())
            }
        }
    }
}

/// The bytes a typed-event stream was fed, against `--max-record-bytes`: past it the capture
/// is given up.
#[derive(Debug)]
pub struct Budget {
    /// Bytes fed so far: what the assembler can hold is bounded by it.
    fed: usize,
    /// `--max-record-bytes`.
    max_bytes: usize,
}

impl Budget {
    fn new(limits: CaptureLimits) -> Self {
        Budget {
            fed: 0,
            max_bytes: limits.max_bytes,
        }
    }

    /// Counts `len` more bytes; whether they are still within the limit.
    fn admit(&mut self, len: usize) -> bool {
        self.fed = self.fed.saturating_add(len);
        self.fed <= self.max_bytes
    }

    fn exceeded(&self) -> bool {
        self.fed > self.max_bytes
    }

    /// `TooLarge` when the limit was passed.
    fn check(&self) -> Result<(), Incomplete> {
        if self.exceeded() {
            return Err(Incomplete::TooLarge {
                id: None,
                limit: self.max_bytes,
            });
        }
        Ok(())
    }
}
