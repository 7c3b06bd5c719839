//! Helpers shared by the dialect tests: fixtures, split feeding, short views of an answer.

use super::messages::stream::MessagesStream;
use super::responses::stream::ResponsesStream;
use super::types::{DialectAnswer, DialectAnswerError, DialectIncomplete, DialectRequest};
use super::{messages, responses};
use crate::record::request::RequestView;

/// A typed-event dialect, driven through its own mapping, parser and assembler (not the
/// [`Dialect`](super::Dialect) dispatch, which wraps them).
#[derive(Debug, Clone, Copy)]
pub enum Typed {
    /// OpenAI Responses.
    Responses,
    /// Anthropic Messages.
    Messages,
}

impl Typed {
    /// The request mapped to ChatML.
    pub fn map_request(self, view: &RequestView<'_>) -> DialectRequest {
        match self {
            Typed::Responses => responses::request::map_request(view),
            Typed::Messages => messages::request::map_request(view),
        }
    }

    /// A non-streamed body parsed.
    pub fn parse_answer(self, body: &[u8]) -> Result<DialectAnswer, DialectAnswerError> {
        match self {
            Typed::Responses => responses::answer::parse_answer(body),
            Typed::Messages => messages::answer::parse_answer(body),
        }
    }

    /// A new stream assembler.
    pub fn stream_capture(self) -> TypedStream {
        match self {
            Typed::Responses => TypedStream::Responses(ResponsesStream::new()),
            Typed::Messages => TypedStream::Messages(MessagesStream::new()),
        }
    }
}

/// A stream assembler of a [`Typed`] dialect.
#[derive(Debug)]
pub enum TypedStream {
    /// Responses.
    Responses(ResponsesStream),
    /// Messages.
    Messages(MessagesStream),
}

impl TypedStream {
    /// Feeds the next bytes.
    pub fn feed(&mut self, bytes: &[u8]) {
        match self {
            TypedStream::Responses(s) => s.feed(bytes),
            TypedStream::Messages(s) => s.feed(bytes),
        }
    }

    /// Whether the terminal event (or an error) has been seen.
    pub fn is_done(&self) -> bool {
        match self {
            TypedStream::Responses(s) => s.is_done(),
            TypedStream::Messages(s) => s.is_done(),
        }
    }

    /// Ends the capture.
    pub fn finish(self) -> Result<DialectAnswer, DialectIncomplete> {
        match self {
            TypedStream::Responses(s) => s.finish(),
            TypedStream::Messages(s) => s.finish(),
        }
    }
}

/// A fixture file of tests/fixtures/dialects.
pub fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/dialects/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}

/// Feeds `bytes` to a new capture in pieces cut at `cuts` (sorted, deduplicated here).
pub fn capture(
    dialect: Typed,
    bytes: &[u8],
    cuts: &[usize],
) -> Result<DialectAnswer, DialectIncomplete> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| (*c).min(bytes.len())).collect();
    cuts.sort_unstable();
    cuts.dedup();
    let mut stream = dialect.stream_capture();
    let mut start = 0;
    for cut in cuts {
        stream.feed(&bytes[start..cut]);
        start = cut;
    }
    stream.feed(&bytes[start..]);
    stream.finish()
}

/// Each fixture stream `<name>.sse`, cut once at every byte, assembles the same answer as the
/// whole stream.
pub fn assert_every_split_point_agrees(dialect: Typed, fixtures: &[&str]) {
    for name in fixtures {
        let sse = fixture(&format!("{name}.sse"));
        let whole = capture(dialect, sse.as_bytes(), &[]).expect(name);
        for cut in 0..=sse.len() {
            assert_eq!(
                capture(dialect, sse.as_bytes(), &[cut]).as_ref(),
                Ok(&whole),
                "{name} at {cut}"
            );
        }
    }
}

/// The non-streamed answer of a fixture.
pub fn parse(dialect: Typed, body: &str) -> DialectAnswer {
    dialect
        .parse_answer(body.as_bytes())
        .expect("fixture parses")
}

/// The assistant message of an answer as its record JSON.
pub fn message_json(answer: &DialectAnswer) -> String {
    serde_json::to_string(&answer.answer.choices[0].message).expect("serialises")
}

/// The finish reason of an answer.
pub fn finish(answer: &DialectAnswer) -> Option<&str> {
    answer.answer.choices[0].finish_reason.as_deref()
}

/// The usage text of an answer.
pub fn usage(answer: &DialectAnswer) -> Option<&str> {
    answer.answer.usage.as_ref().map(|u| u.get())
}

/// Removes every SSE event whose data has `"type":"<kind>"` (for delta-only variants).
pub fn without_events(stream: &str, kind: &str) -> String {
    let needle = format!("\"type\":\"{kind}\"");
    stream
        .split("\n\n")
        .filter(|event| !event.contains(&needle))
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// Replaces the JSON value following the first `"<key>":` after `after` with `with`.
pub fn replace_value(text: &str, after: &str, key: &str, with: &str) -> String {
    let start = text.find(after).expect("marker present");
    let needle = format!("\"{key}\":");
    let at = start + text[start..].find(&needle).expect("key present") + needle.len();
    let mut values =
        serde_json::Deserializer::from_str(&text[at..]).into_iter::<&serde_json::value::RawValue>();
    let value = values.next().expect("a value").expect("valid value");
    let end = at + text[at..].find(value.get()).expect("value text") + value.get().len();
    format!("{}{}{}", &text[..at], with, &text[end..])
}
