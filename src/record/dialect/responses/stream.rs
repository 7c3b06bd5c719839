//! Assembling a streamed Responses answer from its typed SSE events as the bytes pass through.
//!
//! Deltas are gathered per `output_index`; an `response.output_item.done` item replaces what its
//! deltas built, and the terminal event's full `response` (when its `output` is not empty)
//! replaces everything, so the result is what [`parse_answer`](super::answer::parse_answer)
//! gives for the same response. There is no `[DONE]`: the terminal event ends the stream.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::answer::{build_answer, ResponseBody};
use super::items::{parse_item, Item, RawPart, REASONING_SEPARATOR};
use crate::record::dialect::common::error_message;
use crate::record::dialect::json::Part;
use crate::record::dialect::types::{DialectAnswer, DialectAnswerError, DialectIncomplete};
use crate::record::sse::{SseEvent, SseParser};

/// Captures one streamed Responses answer. See the [module docs](self).
#[derive(Debug, Default)]
pub struct ResponsesStream {
    /// The SSE parser the bytes go through.
    parser: SseParser,
    /// What the events built so far.
    state: Assembly,
}

/// What the events built so far (apart from the parser so both can be borrowed).
#[derive(Debug, Default)]
struct Assembly {
    /// The response `id`, from the first event that carried one.
    id: Option<String>,
    /// Output items by `output_index`.
    items: BTreeMap<u32, ItemAcc>,
    /// The terminal event's result, once seen.
    outcome: Option<Result<DialectAnswer, DialectIncomplete>>,
    /// Events whose data did not parse (skipped).
    malformed_events: u64,
}

/// One output item being assembled.
#[derive(Debug, Default)]
struct ItemAcc {
    /// The item as `response.output_item.added` announced it.
    added: Option<Item>,
    /// The item as `response.output_item.done` gave it (preferred).
    done: Option<Item>,
    /// `output_text` parts by `content_index`.
    text: BTreeMap<u32, String>,
    /// `refusal` parts by `content_index`.
    refusal: BTreeMap<u32, String>,
    /// Reasoning summary parts by `summary_index`.
    summary: BTreeMap<u32, String>,
    /// Reasoning text parts by `content_index`.
    reasoning_text: BTreeMap<u32, String>,
    /// Function call arguments, from deltas (or the `.done` event's full text).
    arguments: Option<String>,
}

impl ResponsesStream {
    /// A capture at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next bytes of the upstream's stream, split anywhere.
    pub fn feed(&mut self, bytes: &[u8]) {
        let state = &mut self.state;
        if state.outcome.is_some() {
            return;
        }
        self.parser.feed(bytes, |event| state.on_event(event));
    }

    /// Whether the terminal event (or an error) has been seen.
    pub fn is_done(&self) -> bool {
        self.state.outcome.is_some()
    }

    /// How many events had data that could not be parsed (skipped, not fatal).
    pub fn malformed_events(&self) -> u64 {
        self.state.malformed_events
    }

    /// Ends the capture: the answer when a terminal event was seen.
    pub fn finish(mut self) -> Result<DialectAnswer, DialectIncomplete> {
        let state = &mut self.state;
        if state.outcome.is_none() {
            self.parser.finish(|event| state.on_event(event));
        }
        let id = self.state.id;
        self.state
            .outcome
            .unwrap_or(Err(DialectIncomplete::NoTerminalEvent { id }))
    }
}

/// One event's data: only what assembly needs.
#[derive(Deserialize)]
struct Event<'a> {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    output_index: Option<u32>,
    #[serde(default)]
    content_index: Option<u32>,
    #[serde(default)]
    summary_index: Option<u32>,
    #[serde(default)]
    delta: Option<String>,
    #[serde(default)]
    arguments: Option<String>,
    #[serde(default, borrow)]
    item: Option<&'a RawValue>,
    #[serde(default)]
    part: Option<RawPart>,
    #[serde(default, borrow)]
    response: Option<&'a RawValue>,
    #[serde(default, borrow)]
    error: Option<&'a RawValue>,
}

impl Assembly {
    fn on_event(&mut self, sse: SseEvent<'_>) {
        if self.outcome.is_some() {
            return;
        }
        let Some(event) = crate::record::dialect::json::stream_event::<Event<'_>>(
            sse.data,
            &mut self.malformed_events,
            "responses",
        ) else {
            return;
        };
        let kind = event.kind.as_deref().or(sse.event).unwrap_or_default();
        let slot = event.output_index.unwrap_or(0);
        let content = event.content_index.unwrap_or(0);
        match kind {
            "response.created" | "response.in_progress" | "response.queued" => {
                if let Some(raw) = event.response {
                    self.note_id(raw);
                }
            }
            "response.output_item.added" => {
                if let Some(raw) = event.item {
                    self.items.entry(slot).or_default().added = Some(parse_item(raw));
                }
            }
            "response.output_item.done" => {
                if let Some(raw) = event.item {
                    self.items.entry(slot).or_default().done = Some(parse_item(raw));
                }
            }
            "response.content_part.added" => {
                let acc = self.items.entry(slot).or_default();
                match event.part.as_ref().and_then(|p| p.kind.as_deref()) {
                    Some("output_text") => {
                        acc.text.entry(content).or_default();
                    }
                    Some("refusal") => {
                        acc.refusal.entry(content).or_default();
                    }
                    _ => {}
                }
            }
            "response.output_text.delta" => {
                push(
                    &mut self.items.entry(slot).or_default().text,
                    content,
                    event.delta,
                );
            }
            "response.refusal.delta" => {
                push(
                    &mut self.items.entry(slot).or_default().refusal,
                    content,
                    event.delta,
                );
            }
            "response.reasoning_summary_text.delta" => {
                let index = event.summary_index.unwrap_or(0);
                push(
                    &mut self.items.entry(slot).or_default().summary,
                    index,
                    event.delta,
                );
            }
            "response.reasoning_text.delta" => {
                let acc = self.items.entry(slot).or_default();
                push(&mut acc.reasoning_text, content, event.delta);
            }
            "response.function_call_arguments.delta" => {
                let acc = self.items.entry(slot).or_default();
                let arguments = acc.arguments.get_or_insert_with(String::new);
                arguments.push_str(event.delta.as_deref().unwrap_or_default());
            }
            "response.function_call_arguments.done" => {
                if let Some(full) = event.arguments {
                    self.items.entry(slot).or_default().arguments = Some(full);
                }
            }
            "response.completed" | "response.incomplete" | "response.failed" => {
                let status = kind.trim_start_matches("response.");
                self.terminal(status, event.response);
            }
            "error" => {
                let message = match event.error {
                    Some(error) => error_message(error),
                    None => raw_message(sse.data),
                };
                self.outcome = Some(Err(DialectIncomplete::UpstreamError {
                    id: self.id.clone(),
                    message,
                }));
            }
            _ => {}
        }
    }

    fn note_id(&mut self, response: &RawValue) {
        #[derive(Deserialize)]
        struct WithId {
            #[serde(default)]
            id: Option<String>,
        }
        if self.id.is_none() {
            self.id = serde_json::from_str::<WithId>(response.get())
                .ok()
                .and_then(|w| w.id);
        }
    }

    /// `response.completed`, `.incomplete` or `.failed`, with the full response when given.
    fn terminal(&mut self, status: &str, response: Option<&RawValue>) {
        let mut body = response
            .and_then(|raw| serde_json::from_str::<ResponseBody<'_>>(raw.get()).ok())
            .unwrap_or(ResponseBody {
                id: None,
                status: None,
                incomplete_details: None,
                output: None,
                usage: None,
                error: None,
            });
        if body.id.is_none() {
            body.id = self.id.clone();
        } else if self.id.is_none() {
            self.id = body.id.clone();
        }
        if body.status.is_none() {
            body.status = Some(status.to_owned());
        }
        if status == "failed" || body.status.as_deref() == Some("failed") {
            let message = body
                .error
                .filter(|e| e.get() != "null")
                .map_or_else(|| "response failed".to_owned(), error_message);
            self.outcome = Some(Err(DialectIncomplete::UpstreamError {
                id: body.id,
                message,
            }));
            return;
        }
        let items = match body.output.as_deref() {
            Some(output) if !output.is_empty() => {
                output.iter().map(|raw| parse_item(raw)).collect()
            }
            _ => std::mem::take(&mut self.items)
                .into_values()
                .map(ItemAcc::into_item)
                .collect(),
        };
        self.outcome = Some(build_answer(&body, items).map_err(|error| {
            let message = match error {
                DialectAnswerError::NotRecorded { status } => format!("response status {status}"),
                other => other.to_string(),
            };
            DialectIncomplete::UpstreamError {
                id: body.id.clone(),
                message,
            }
        }));
    }
}

fn push(parts: &mut BTreeMap<u32, String>, index: u32, delta: Option<String>) {
    parts
        .entry(index)
        .or_default()
        .push_str(delta.as_deref().unwrap_or_default());
}

/// An `error` event's `message`, or its data as given.
fn raw_message(data: &str) -> String {
    match serde_json::from_str::<&RawValue>(data) {
        Ok(raw) => error_message(raw),
        Err(_) => data.to_owned(),
    }
}

impl ItemAcc {
    /// The item: as `.done` gave it, else built from the announced item and the deltas.
    fn into_item(self) -> Item {
        if let Some(done) = self.done {
            return done;
        }
        match self.added {
            Some(Item::Message { role, dropped, .. }) => Item::Message {
                role,
                parts: self.text.into_values().map(Part::Text).collect(),
                refusal: (!self.refusal.is_empty()).then(|| self.refusal.into_values().collect()),
                dropped,
            },
            Some(Item::FunctionCall(mut call)) => {
                if let Some(arguments) = self.arguments {
                    call.function.arguments = arguments;
                }
                Item::FunctionCall(call)
            }
            Some(Item::Reasoning(given)) => {
                let text: String = self.reasoning_text.into_values().collect();
                let summary: Vec<String> = self.summary.into_values().collect();
                let built = if text.is_empty() {
                    summary.join(REASONING_SEPARATOR)
                } else {
                    text
                };
                Item::Reasoning(Some(built).filter(|t| !t.is_empty()).or(given))
            }
            Some(other) => other,
            None => Item::Other,
        }
    }
}
