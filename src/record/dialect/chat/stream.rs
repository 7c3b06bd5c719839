//! Assembling a streamed (SSE) answer into an [`Answer`] as its bytes pass through (§4).
//!
//! [`StreamCapture`] is fed the upstream's bytes chunk by chunk (the same chunks that are passed
//! on to the client). It parses SSE events incrementally and accumulates, per choice index, only
//! the strings the record needs: content, refusal and reasoning concatenated, tool calls joined
//! by their `index`, role and finish reason. The stream is never buffered whole.
//!
//! [`CaptureLimits`] bound what a hostile or broken upstream can make it hold: a line, an event
//! or the assembled answer larger than `max_bytes` stops the capture ([`StreamCapture::too_large`],
//! buffers freed), and choices whose `index` is not below `max_choices` (the request's `n` times
//! its prompts) are ignored and counted ([`StreamCapture::unexpected_choices`]).
//!
//! The result equals what [`parse_answer`](super::answer::parse_answer) gives for the
//! equivalent non-streamed body (both apply the same normalisation), except `extra`, which only
//! a non-streamed message can have.

use std::collections::BTreeMap;

use serde_json::value::RawValue;

use super::choice_acc::{ChoiceAcc, ENTRY_COST};
use super::chunk::{error_text, Chunk};
use crate::record::answer::Answer;
use crate::record::dialect::common::{error_message, position_index};
use crate::record::endpoint::EndpointKind;
use crate::record::sse::{SseEvent, SseParser};
use crate::record::stream::{CaptureLimits, Incomplete};

/// Captures one streamed answer. See the [module docs](self).
#[derive(Debug)]
pub struct StreamCapture {
    /// The SSE parser, bounded by `max_bytes`.
    parser: SseParser,
    /// What was assembled so far.
    state: Assembly,
}

impl StreamCapture {
    /// A capture for a stream of the given endpoint, without limits.
    pub fn new(kind: EndpointKind) -> Self {
        Self::with_limits(kind, CaptureLimits::default())
    }

    /// A capture for a stream of the given endpoint, bounded by `limits`.
    pub fn with_limits(kind: EndpointKind, limits: CaptureLimits) -> Self {
        StreamCapture {
            parser: SseParser::with_limit(limits.max_bytes),
            state: Assembly {
                kind,
                limits,
                id: None,
                usage: None,
                choices: BTreeMap::new(),
                done: false,
                error: None,
                malformed_events: 0,
                held: 0,
                too_large: false,
                unexpected_choices: 0,
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
        if self.parser.overflowed() {
            state.stop_too_large();
        }
    }

    /// Whether the capture stopped because a line, an event or the answer went past
    /// `max_bytes` (it holds nothing any more).
    pub fn too_large(&self) -> bool {
        self.state.too_large
    }

    /// Choices ignored because their `index` is not below `max_choices` (each counted once,
    /// when its finish reason arrives).
    pub fn unexpected_choices(&self) -> u64 {
        self.state.unexpected_choices
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
        if state.too_large {
            return Err(Incomplete::TooLarge {
                id: state.id,
                limit: state.limits.max_bytes,
            });
        }
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
    /// Which endpoint's chunks these are.
    kind: EndpointKind,
    /// The bounds of this capture.
    limits: CaptureLimits,
    /// The upstream's `id`.
    id: Option<String>,
    /// The last `usage` reported.
    usage: Option<Box<RawValue>>,
    /// The choices so far, by `index`.
    choices: BTreeMap<u32, ChoiceAcc>,
    /// `[DONE]`, an error or the limit ended the capture.
    done: bool,
    /// The upstream's error message, when it sent one.
    error: Option<String>,
    /// Events whose data did not parse.
    malformed_events: u64,
    /// Bytes held in `choices` (texts plus [`ENTRY_COST`] per entry), `usage` aside.
    held: usize,
    /// The answer grew past `max_bytes`: everything was freed.
    too_large: bool,
    /// Choices ignored for an `index` at or above `max_choices`.
    unexpected_choices: u64,
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

    /// Ends the capture for its size and frees what it held.
    fn stop_too_large(&mut self) {
        self.too_large = true;
        self.done = true;
        self.choices = BTreeMap::new();
        self.usage = None;
        self.held = 0;
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
            if index >= self.limits.max_choices {
                if choice.finish_reason.is_some() {
                    self.unexpected_choices += 1;
                }
                continue;
            }
            let mut added = 0;
            let acc = self.choices.entry(index).or_insert_with(|| {
                added += ENTRY_COST;
                ChoiceAcc::default()
            });
            if let Some(reason) = choice.finish_reason {
                added += reason.len();
                acc.finish_reason = Some(reason);
            }
            match self.kind {
                EndpointKind::Completions => {
                    let content = acc.content.get_or_insert_with(String::new);
                    if let Some(text) = choice.text {
                        added += text.len();
                        content.push_str(&text);
                    }
                }
                // Chat; the other dialects are assembled by `dialect`, never here.
                _ => {
                    if let Some(delta) = choice.delta {
                        added += acc.apply(delta);
                    }
                }
            }
            self.held = self.held.saturating_add(added);
            let usage = self.usage.as_ref().map_or(0, |u| u.get().len());
            if self.held.saturating_add(usage) > self.limits.max_bytes {
                return self.stop_too_large();
            }
        }
    }
}
