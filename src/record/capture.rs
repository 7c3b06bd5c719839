//! The capture the proxy uses: a non-streamed body ([`parse_for`]) and a stream
//! ([`AnswerStream`]) of any recorded endpoint, each handed to its [`Dialect`]. The proxy only
//! talks to this module, so adding a dialect touches `record/` only.

use super::dialect::{Dialect, DialectStream};
use super::endpoint::EndpointKind;
use super::stream::{CaptureLimits, Incomplete};

pub use super::dialect::types::{ParseError, Parsed};

/// A non-streamed 2xx body of endpoint `kind` → the answer (choices at or above
/// `max_choices` left out and counted).
pub fn parse_for(kind: EndpointKind, body: &[u8], max_choices: u32) -> Result<Parsed, ParseError> {
    Dialect::of(kind).parse_answer(body, max_choices)
}

/// A streamed answer of any recorded endpoint, captured as it passes.
#[derive(Debug)]
pub struct AnswerStream(Box<DialectStream>);

impl AnswerStream {
    /// A capture for a stream of endpoint `kind`, bounded by `limits`.
    pub fn new(kind: EndpointKind, limits: CaptureLimits) -> Self {
        AnswerStream(Box::new(Dialect::of(kind).stream_capture(limits)))
    }

    /// Feeds the next bytes of the upstream's stream, split anywhere.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.0.feed(bytes);
    }

    /// The capture went past `--max-record-bytes` and holds nothing more (see
    /// [`DialectStream::too_large`]).
    pub fn too_large(&self) -> bool {
        self.0.too_large()
    }

    /// Whether the stream's end (its terminal event, or an error) was seen.
    pub fn is_done(&self) -> bool {
        self.0.is_done()
    }

    /// The upstream's `id`, when a chunk carried one (chat streams only, before the end).
    pub fn upstream_id(&self) -> Option<&str> {
        self.0.upstream_id()
    }

    /// Ends the capture: the answer when the stream completed.
    pub fn finish(self) -> Result<Parsed, Incomplete> {
        self.0.finish()
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
