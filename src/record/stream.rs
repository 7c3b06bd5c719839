//! Assembling a streamed (SSE) answer into an [`Answer`] as its bytes pass through (§4).
//!
//! [`StreamCapture`] is fed the upstream's bytes chunk by chunk (the same chunks that are passed
//! on to the client). It parses SSE events incrementally and accumulates, per choice index, only
//! the strings the record needs: content, refusal and reasoning concatenated, tool calls joined
//! by their `index`, role and finish reason. The stream is never buffered whole.
//!
//! The result equals what [`parse_answer`](super::parse_answer::parse_answer) gives for the
//! equivalent non-streamed body (both apply the same normalisation), except `extra`, which only
//! a non-streamed message can have.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::answer::{Answer, AssistantMessage, Choice, FunctionCall, ReasoningKey, ToolCall};
use super::parse_answer::{error_message, normalise_message, position_index, LenientString};
use super::sse::{SseEvent, SseParser};
use super::EndpointKind;

/// Why a stream does not make a record. Carries the upstream's `id` (when one was seen) for
/// logging.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Incomplete {
    /// No choice was seen, or a choice has no finish reason (client gone, upstream cut).
    #[error("stream ended without a finish reason (upstream id: {})", id.as_deref().unwrap_or("none"))]
    NoFinishReason {
        /// The upstream's `id`, when a chunk carried one.
        id: Option<String>,
    },
    /// The upstream sent an error event mid-stream.
    #[error("upstream sent an error mid-stream (upstream id: {}): {message}", id.as_deref().unwrap_or("none"))]
    UpstreamError {
        /// The upstream's `id`, when a chunk carried one.
        id: Option<String>,
        /// The error's `message`, or its JSON text.
        message: String,
    },
}

impl Incomplete {
    /// The upstream's `id`, when a chunk carried one.
    pub fn upstream_id(&self) -> Option<&str> {
        match self {
            Incomplete::NoFinishReason { id } | Incomplete::UpstreamError { id, .. } => {
                id.as_deref()
            }
        }
    }
}

/// Captures one streamed answer. See the [module docs](self).
#[derive(Debug)]
pub struct StreamCapture {
    parser: SseParser,
    state: Assembly,
}

impl StreamCapture {
    /// A capture for a stream of the given endpoint.
    pub fn new(kind: EndpointKind) -> Self {
        StreamCapture {
            parser: SseParser::new(),
            state: Assembly {
                kind,
                id: None,
                usage: None,
                choices: BTreeMap::new(),
                done: false,
                error: None,
                malformed_events: 0,
            },
        }
    }

    /// Feeds the next bytes of the upstream's stream, split anywhere.
    pub fn feed(&mut self, bytes: &[u8]) {
        let state = &mut self.state;
        if state.done {
            return;
        }
        self.parser.feed(bytes, |event| state.on_event(event));
    }

    /// The upstream's `id`, from the first chunk that carried one.
    pub fn upstream_id(&self) -> Option<&str> {
        self.state.id.as_deref()
    }

    /// How many events had data that could not be parsed (skipped, not fatal).
    pub fn malformed_events(&self) -> u64 {
        self.state.malformed_events
    }

    /// Whether `data: [DONE]` or an error ended the stream.
    pub fn is_done(&self) -> bool {
        self.state.done
    }

    /// Ends the capture: the assembled answer when at least one choice was seen and every
    /// choice has a finish reason.
    pub fn finish(mut self) -> Result<Answer, Incomplete> {
        let state = &mut self.state;
        if !state.done {
            self.parser.finish(|event| state.on_event(event));
        }
        let state = self.state;
        if let Some(message) = state.error {
            return Err(Incomplete::UpstreamError {
                id: state.id,
                message,
            });
        }
        if state.choices.is_empty() || state.choices.values().any(|c| c.finish_reason.is_none()) {
            return Err(Incomplete::NoFinishReason { id: state.id });
        }
        let kind = state.kind;
        let choices = state
            .choices
            .into_iter()
            .map(|(index, acc)| acc.into_choice(kind, index))
            .collect();
        Ok(Answer {
            id: state.id,
            choices,
            usage: state.usage,
        })
    }
}

/// What has been gathered so far (separate from the parser so that both can be borrowed).
#[derive(Debug)]
struct Assembly {
    kind: EndpointKind,
    id: Option<String>,
    usage: Option<Box<RawValue>>,
    choices: BTreeMap<u32, ChoiceAcc>,
    done: bool,
    error: Option<String>,
    malformed_events: u64,
}

/// One choice being assembled.
#[derive(Debug, Default)]
struct ChoiceAcc {
    role: Option<String>,
    /// `None` until a delta carried non-null content.
    content: Option<String>,
    refusal: Option<String>,
    /// The key of the first reasoning field seen, and the text under that key.
    reasoning: Option<(ReasoningKey, String)>,
    tool_calls: BTreeMap<u32, ToolAcc>,
    finish_reason: Option<String>,
}

/// One tool call being assembled.
#[derive(Debug, Default)]
struct ToolAcc {
    id: Option<String>,
    kind: Option<String>,
    name: Option<String>,
    arguments: String,
}

impl Assembly {
    fn on_event(&mut self, event: SseEvent<'_>) {
        if self.done {
            return;
        }
        if event.event == Some("error") {
            self.fail(error_text(event.data));
            return;
        }
        if event.data.trim() == "[DONE]" {
            self.done = true;
            return;
        }
        match serde_json::from_str::<Chunk<'_>>(event.data) {
            Ok(chunk) => self.on_chunk(chunk),
            Err(_) => {
                self.malformed_events += 1;
                tracing::debug!(
                    malformed_events = self.malformed_events,
                    "skipping an unparseable stream event"
                );
            }
        }
    }

    fn fail(&mut self, message: String) {
        self.error = Some(message);
        self.done = true;
    }

    fn on_chunk(&mut self, chunk: Chunk<'_>) {
        if let Some(error) = chunk.error {
            self.fail(error_message(error));
            return;
        }
        if self.id.is_none() {
            self.id = chunk.id.map(|id| id.0);
        }
        if chunk.usage.is_some() {
            self.usage = chunk.usage;
        }
        for (position, choice) in chunk.choices.unwrap_or_default().into_iter().enumerate() {
            let index = choice.index.unwrap_or_else(|| position_index(position));
            let acc = self.choices.entry(index).or_default();
            if let Some(reason) = choice.finish_reason {
                acc.finish_reason = Some(reason);
            }
            match self.kind {
                EndpointKind::Completions => {
                    let content = acc.content.get_or_insert_with(String::new);
                    if let Some(text) = choice.text {
                        content.push_str(&text);
                    }
                }
                EndpointKind::Chat => {
                    if let Some(delta) = choice.delta {
                        acc.apply(delta);
                    }
                }
            }
        }
    }
}

impl ChoiceAcc {
    fn apply(&mut self, delta: Delta) {
        if self.role.is_none() {
            self.role = delta.role;
        }
        if let Some(text) = delta.content {
            self.content.get_or_insert_with(String::new).push_str(&text);
        }
        if let Some(text) = delta.refusal {
            self.refusal.get_or_insert_with(String::new).push_str(&text);
        }
        for (key, text) in [
            (ReasoningKey::ReasoningContent, delta.reasoning_content),
            (ReasoningKey::Reasoning, delta.reasoning),
        ] {
            let Some(text) = text else { continue };
            match &mut self.reasoning {
                None => self.reasoning = Some((key, text)),
                Some((first, acc)) if *first == key => acc.push_str(&text),
                // A second name for the same text (servers that send both): ignored.
                Some(_) => {}
            }
        }
        for call in delta.tool_calls.unwrap_or_default() {
            let slot = self.tool_slot(&call);
            let acc = self.tool_calls.entry(slot).or_default();
            if acc.id.is_none() {
                acc.id = call.id;
            }
            if acc.kind.is_none() {
                acc.kind = call.kind;
            }
            if let Some(function) = call.function {
                if acc.name.is_none() {
                    acc.name = function.name;
                }
                if let Some(arguments) = function.arguments {
                    acc.arguments.push_str(&arguments);
                }
            }
        }
    }

    /// Which call a tool-call delta belongs to: its `index`; without one (some servers send
    /// whole calls without `index`), the call with the same `id`, a new call for a new `id`, or
    /// the last call.
    fn tool_slot(&self, call: &ToolCallDelta) -> u32 {
        if let Some(index) = call.index {
            return index;
        }
        let next = self
            .tool_calls
            .keys()
            .next_back()
            .map_or(0, |last| last.saturating_add(1));
        match &call.id {
            Some(id) => self
                .tool_calls
                .iter()
                .find(|(_, acc)| acc.id.as_ref() == Some(id))
                .map_or(next, |(slot, _)| *slot),
            None => self.tool_calls.keys().next_back().copied().unwrap_or(0),
        }
    }

    fn into_choice(self, kind: EndpointKind, index: u32) -> Choice {
        let mut message = AssistantMessage {
            content: self.content.map(Value::String),
            tool_calls: self
                .tool_calls
                .into_values()
                .map(|t| ToolCall {
                    id: t.id.unwrap_or_default(),
                    kind: t.kind.unwrap_or_else(|| "function".to_owned()),
                    function: FunctionCall {
                        name: t.name.unwrap_or_default(),
                        arguments: t.arguments,
                    },
                })
                .collect(),
            refusal: self.refusal,
            reasoning: self.reasoning,
            ..AssistantMessage::default()
        };
        if let (EndpointKind::Chat, Some(role)) = (kind, self.role) {
            message.role = role;
        }
        normalise_message(&mut message);
        Choice {
            index,
            message,
            finish_reason: self.finish_reason,
        }
    }
}

/// The message of an `event: error` event's data.
fn error_text(data: &str) -> String {
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
struct Chunk<'a> {
    #[serde(default)]
    id: Option<LenientString>,
    #[serde(default)]
    choices: Option<Vec<ChunkChoice>>,
    #[serde(default)]
    usage: Option<Box<RawValue>>,
    #[serde(default, borrow)]
    error: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct ChunkChoice {
    #[serde(default)]
    index: Option<u32>,
    /// Chat.
    #[serde(default)]
    delta: Option<Delta>,
    /// Completions.
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Delta {
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
    #[serde(default)]
    reasoning_content: Option<String>,
    #[serde(default)]
    reasoning: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<ToolCallDelta>>,
}

#[derive(Deserialize)]
struct ToolCallDelta {
    #[serde(default)]
    index: Option<u32>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    function: Option<FunctionDelta>,
}

#[derive(Deserialize)]
struct FunctionDelta {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    arguments: Option<String>,
}
