//! Assembling a streamed Messages answer (`message_start`, `content_block_start/delta/stop`,
//! `message_delta`, `message_stop`, `ping`, `error`) as the bytes pass through.
//!
//! Blocks are gathered by `index`: text and thinking concatenated, a tool's `partial_json`
//! concatenated and minified (so it equals the non-streamed `input`'s JSON text), signatures
//! dropped. `usage`: the `message_start` usage, with each member of a `message_delta` usage
//! replacing the member of the same name in place (Anthropic's delta counts are cumulative) or,
//! when new, appended; a `null` in a delta does not replace a number. Only `message_stop`
//! makes a record.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::answer::build_answer;
use super::blocks::{parse_block, Block};
use crate::record::dialect::common::error_message;
use crate::record::dialect::json::{self, Obj};
use crate::record::dialect::types::{DialectAnswer, DialectIncomplete};
use crate::record::sse::{SseEvent, SseParser};

/// Captures one streamed Messages answer. See the [module docs](self).
#[derive(Debug, Default)]
pub struct MessagesStream {
    /// The SSE parser the bytes go through.
    parser: SseParser,
    /// What the events built so far.
    state: Assembly,
}

/// What the events built so far.
#[derive(Debug, Default)]
struct Assembly {
    /// The message `id`, from `message_start`.
    id: Option<String>,
    /// Usage members in order, values as minified JSON text.
    usage: Option<Vec<(String, String)>>,
    /// The latest `stop_reason`.
    stop_reason: Option<String>,
    /// Content blocks by `index`.
    blocks: BTreeMap<u32, BlockAcc>,
    /// `message_stop` or `error` seen.
    done: bool,
    /// The `error` event's message.
    error: Option<String>,
    /// Events whose data did not parse (skipped).
    malformed_events: u64,
}

/// One content block being assembled.
#[derive(Debug)]
struct BlockAcc {
    /// The block as `content_block_start` gave it.
    start: Block,
    /// `text_delta` texts.
    text: String,
    /// `thinking_delta` texts.
    thinking: String,
    /// `input_json_delta` fragments; `None` when none came (the start's `input` stands).
    json: Option<String>,
}

impl MessagesStream {
    /// A capture at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next bytes of the upstream's stream, split anywhere.
    pub fn feed(&mut self, bytes: &[u8]) {
        let state = &mut self.state;
        if state.done {
            return;
        }
        self.parser.feed(bytes, |event| state.on_event(event));
    }

    /// Whether `message_stop` (or an error) has been seen.
    pub fn is_done(&self) -> bool {
        self.state.done
    }

    /// How many events had data that could not be parsed (skipped, not fatal).
    pub fn malformed_events(&self) -> u64 {
        self.state.malformed_events
    }

    /// Ends the capture: the answer when `message_stop` was seen.
    pub fn finish(mut self) -> Result<DialectAnswer, DialectIncomplete> {
        let state = &mut self.state;
        if !state.done {
            self.parser.finish(|event| state.on_event(event));
        }
        let state = self.state;
        if let Some(message) = state.error {
            return Err(DialectIncomplete::UpstreamError {
                id: state.id,
                message,
            });
        }
        if !state.done {
            return Err(DialectIncomplete::NoTerminalEvent { id: state.id });
        }
        let usage = state.usage.map(|members| {
            let mut out = String::new();
            let mut obj = Obj::new(&mut out);
            for (key, value) in &members {
                obj.raw(key, value);
            }
            obj.end();
            json::into_raw(out)
        });
        let blocks = state
            .blocks
            .into_values()
            .map(BlockAcc::into_block)
            .collect();
        Ok(build_answer(
            state.id,
            blocks,
            state.stop_reason.as_deref(),
            usage,
        ))
    }
}

#[derive(Deserialize)]
struct Event<'a> {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    index: Option<u32>,
    #[serde(default)]
    message: Option<StartMessage<'a>>,
    #[serde(default, borrow)]
    content_block: Option<&'a RawValue>,
    #[serde(default)]
    delta: Option<Delta>,
    #[serde(default, borrow)]
    usage: Option<&'a RawValue>,
    #[serde(default, borrow)]
    error: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct StartMessage<'a> {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default, borrow)]
    usage: Option<&'a RawValue>,
}

/// A `content_block_delta`'s or `message_delta`'s `delta`.
#[derive(Deserialize)]
struct Delta {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    partial_json: Option<String>,
    #[serde(default)]
    thinking: Option<String>,
    #[serde(default)]
    stop_reason: Option<String>,
}

impl Assembly {
    fn on_event(&mut self, sse: SseEvent<'_>) {
        if self.done {
            return;
        }
        let Some(event) = crate::record::dialect::json::stream_event::<Event<'_>>(
            sse.data,
            &mut self.malformed_events,
            "messages",
        ) else {
            return;
        };
        let kind = event.kind.as_deref().or(sse.event).unwrap_or_default();
        let index = event.index.unwrap_or(0);
        match kind {
            "message_start" => {
                if let Some(message) = event.message {
                    self.id = self.id.take().or(message.id);
                    self.stop_reason = message.stop_reason.or(self.stop_reason.take());
                    if let Some(usage) = message.usage {
                        self.merge_usage(usage);
                    }
                }
            }
            "content_block_start" => {
                let start = event.content_block.map_or(Block::Other, parse_block);
                self.blocks.insert(
                    index,
                    BlockAcc {
                        start,
                        text: String::new(),
                        thinking: String::new(),
                        json: None,
                    },
                );
            }
            "content_block_delta" => {
                let (Some(delta), Some(acc)) = (event.delta, self.blocks.get_mut(&index)) else {
                    return;
                };
                match delta.kind.as_deref() {
                    Some("text_delta") => acc.text.push_str(&delta.text.unwrap_or_default()),
                    Some("thinking_delta") => {
                        acc.thinking.push_str(&delta.thinking.unwrap_or_default())
                    }
                    Some("input_json_delta") => acc
                        .json
                        .get_or_insert_with(String::new)
                        .push_str(&delta.partial_json.unwrap_or_default()),
                    // signature_delta, citations_delta, ...: nothing ChatML keeps.
                    _ => {}
                }
            }
            "message_delta" => {
                if let Some(reason) = event.delta.and_then(|d| d.stop_reason) {
                    self.stop_reason = Some(reason);
                }
                if let Some(usage) = event.usage {
                    self.merge_usage(usage);
                }
            }
            "message_stop" => self.done = true,
            "error" => {
                self.error = Some(match event.error {
                    Some(error) => error_message(error),
                    None => sse.data.to_owned(),
                });
                self.done = true;
            }
            // ping, content_block_stop and unknown events change nothing.
            _ => {}
        }
    }

    /// Merges a usage object in (see the [module docs](self)).
    fn merge_usage(&mut self, usage: &RawValue) {
        let Some(members) = json::members(usage.get()) else {
            return;
        };
        let merged = self.usage.get_or_insert_with(Vec::new);
        for (key, value) in members {
            let text = json::minified(value);
            match merged.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) if text != "null" => slot.1 = text,
                Some(_) => {}
                None => merged.push((key, text)),
            }
        }
    }
}

impl BlockAcc {
    fn into_block(self) -> Block {
        match self.start {
            Block::Text(start) => Block::Text(start + &self.text),
            Block::Thinking(start) => Block::Thinking(start + &self.thinking),
            Block::ToolUse(mut call) => {
                if let Some(fragments) = self.json.filter(|j| !j.trim().is_empty()) {
                    let mut minified = String::with_capacity(fragments.len());
                    crate::record::request::minify_json(&fragments, &mut minified);
                    call.function.arguments = minified;
                }
                Block::ToolUse(call)
            }
            other => other,
        }
    }
}
