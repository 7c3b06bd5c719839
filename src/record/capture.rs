//! The one dispatch from a recorded endpoint to how its answer is read: a non-streamed body
//! ([`parse_for`]) and a stream ([`AnswerStream`]). Chat completions and completions go to
//! [`parse_answer`](super::parse_answer) and [`StreamCapture`]; the other dialects to
//! [`Dialect`]. The proxy only talks to this module, so adding a dialect touches `record/`
//! only.

use super::answer::Answer;
use super::dialect::{Dialect, DialectAnswerError, DialectIncomplete, DialectStream};
use super::endpoint::EndpointKind;
use super::parse_answer::{parse_answer_limited, AnswerError};
use super::stream::{CaptureLimits, Incomplete, StreamCapture};

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

/// A non-streamed 2xx body of endpoint `kind` → the answer (choices at or above
/// `max_choices` left out and counted).
pub fn parse_for(kind: EndpointKind, body: &[u8], max_choices: u32) -> Result<Parsed, ParseError> {
    match Dialect::of(kind) {
        None => {
            let (answer, left_out) = parse_answer_limited(kind, body, max_choices)?;
            Ok(Parsed {
                answer,
                left_out,
                partial: false,
            })
        }
        Some(dialect) => {
            let parsed = dialect.parse_answer(body)?;
            Ok(Parsed {
                answer: parsed.answer,
                left_out: 0,
                partial: parsed.partial,
            })
        }
    }
}

/// A streamed answer of any recorded endpoint, captured as it passes.
#[derive(Debug)]
pub enum AnswerStream {
    /// Chat completions or completions chunks.
    Chat(Box<StreamCapture>),
    /// Another dialect's typed events.
    Dialect {
        /// The dialect's assembler.
        stream: Box<DialectStream>,
        /// Bytes fed so far: what the assembler can hold is bounded by it.
        fed: usize,
        /// `--max-record-bytes`: past it the capture is given up.
        max_bytes: usize,
    },
}

impl AnswerStream {
    /// A capture for a stream of endpoint `kind`, bounded by `limits`.
    pub fn new(kind: EndpointKind, limits: CaptureLimits) -> Self {
        match Dialect::of(kind) {
            None => AnswerStream::Chat(Box::new(StreamCapture::with_limits(kind, limits))),
            Some(dialect) => AnswerStream::Dialect {
                stream: Box::new(dialect.stream_capture()),
                fed: 0,
                max_bytes: limits.max_bytes,
            },
        }
    }

    /// Feeds the next bytes of the upstream's stream, split anywhere.
    pub fn feed(&mut self, bytes: &[u8]) {
        match self {
            AnswerStream::Chat(capture) => capture.feed(bytes),
            AnswerStream::Dialect {
                stream,
                fed,
                max_bytes,
            } => {
                if stream.is_done() {
                    return;
                }
                *fed = fed.saturating_add(bytes.len());
                if *fed <= *max_bytes {
                    stream.feed(bytes);
                }
            }
        }
    }

    /// The capture went past `--max-record-bytes` and holds nothing more.
    ///
    /// A dialect stream is bounded by the bytes of the stream before its terminal event (a
    /// Responses stream repeats the answer in its terminal event, so this is about twice the
    /// record's size; decision: simple and safe, see docs/dialects.md).
    pub fn too_large(&self) -> bool {
        match self {
            AnswerStream::Chat(capture) => capture.too_large(),
            AnswerStream::Dialect { fed, max_bytes, .. } => fed > max_bytes,
        }
    }

    /// Whether the stream's end (its terminal event, or an error) was seen.
    pub fn is_done(&self) -> bool {
        match self {
            AnswerStream::Chat(capture) => capture.is_done(),
            AnswerStream::Dialect { stream, .. } => stream.is_done(),
        }
    }

    /// The upstream's `id`, when a chunk carried one (chat streams only, before the end).
    pub fn upstream_id(&self) -> Option<&str> {
        match self {
            AnswerStream::Chat(capture) => capture.upstream_id(),
            AnswerStream::Dialect { .. } => None,
        }
    }

    /// Ends the capture: the answer when the stream completed.
    pub fn finish(self) -> Result<Parsed, Incomplete> {
        match self {
            AnswerStream::Chat(capture) => {
                let left_out = capture.unexpected_choices();
                let answer = capture.finish()?;
                Ok(Parsed {
                    answer,
                    left_out,
                    partial: false,
                })
            }
            AnswerStream::Dialect {
                stream,
                fed,
                max_bytes,
            } => {
                if fed > max_bytes {
                    return Err(Incomplete::TooLarge {
                        id: None,
                        limit: max_bytes,
                    });
                }
                match stream.finish() {
                    Ok(parsed) => Ok(Parsed {
                        answer: parsed.answer,
                        left_out: 0,
                        partial: parsed.partial,
                    }),
                    Err(DialectIncomplete::NoTerminalEvent { id }) => {
                        Err(Incomplete::NoFinishReason { id })
                    }
                    Err(DialectIncomplete::UpstreamError { id, message }) => {
                        Err(Incomplete::UpstreamError { id, message })
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RESPONSES_CUT: &str = "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\",\"status\":\"in_progress\",\"output\":[]}}\n\n";

    #[test]
    fn a_dialect_stream_without_terminal_event_is_incomplete() {
        let mut s = AnswerStream::new(EndpointKind::Responses, CaptureLimits::default());
        s.feed(RESPONSES_CUT.as_bytes());
        assert!(!s.is_done());
        assert!(matches!(
            s.finish(),
            Err(Incomplete::NoFinishReason { id: Some(id) }) if id == "resp_1"
        ));
    }

    #[test]
    fn a_dialect_stream_past_the_limit_is_too_large() {
        let limits = CaptureLimits {
            max_bytes: 10,
            max_choices: 1,
        };
        let mut s = AnswerStream::new(EndpointKind::Messages, limits);
        s.feed(b"event: ping\ndata: {\"type\":\"ping\"}\n\n");
        assert!(s.too_large());
        assert!(matches!(
            s.finish(),
            Err(Incomplete::TooLarge { limit: 10, .. })
        ));
    }

    #[test]
    fn chat_bodies_still_go_through_parse_answer() {
        let body = br#"{"id":"c1","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}"#;
        let parsed = parse_for(EndpointKind::Chat, body, 1).expect("parses");
        assert_eq!(parsed.answer.id.as_deref(), Some("c1"));
        assert!(!parsed.partial);
        assert!(parse_for(EndpointKind::Messages, b"not json", 1).is_err());
    }
}
