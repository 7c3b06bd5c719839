//! One choice of a streamed answer being assembled from its deltas (§4): texts concatenated,
//! tool calls joined by `index`, then turned into a normalised [`Choice`].

use std::collections::BTreeMap;

use serde_json::Value;

use super::chunk::{Delta, ToolCallDelta};
use crate::record::answer::{AssistantMessage, Choice, FunctionCall, ReasoningKey, ToolCall};
use crate::record::dialect::common::normalise_message;
use crate::record::endpoint::EndpointKind;

/// What an assembled choice or tool call costs in the byte budget besides its text (its
/// bookkeeping), so that many empty ones cannot grow without bound either.
pub(super) const ENTRY_COST: usize = 128;

/// One choice being assembled.
#[derive(Debug, Default)]
pub(super) struct ChoiceAcc {
    pub(super) role: Option<String>,
    /// `None` until a delta carried non-null content.
    pub(super) content: Option<String>,
    pub(super) refusal: Option<String>,
    /// The key of the first reasoning field seen, and the text under that key.
    pub(super) reasoning: Option<(ReasoningKey, String)>,
    pub(super) tool_calls: BTreeMap<u32, ToolAcc>,
    pub(super) finish_reason: Option<String>,
}

/// One tool call being assembled.
#[derive(Debug, Default)]
pub(super) struct ToolAcc {
    id: Option<String>,
    kind: Option<String>,
    name: Option<String>,
    arguments: String,
}

impl ChoiceAcc {
    /// Applies one delta; returns the bytes it added (texts, plus [`ENTRY_COST`] per new call).
    pub(super) fn apply(&mut self, delta: Delta) -> usize {
        let mut added = 0;
        if self.role.is_none() {
            added += delta.role.as_ref().map_or(0, String::len);
            self.role = delta.role;
        }
        if let Some(text) = delta.content {
            added += text.len();
            self.content.get_or_insert_with(String::new).push_str(&text);
        }
        if let Some(text) = delta.refusal {
            added += text.len();
            self.refusal.get_or_insert_with(String::new).push_str(&text);
        }
        for (key, text) in [
            (ReasoningKey::ReasoningContent, delta.reasoning_content),
            (ReasoningKey::Reasoning, delta.reasoning),
        ] {
            let Some(text) = text else { continue };
            added += text.len();
            match &mut self.reasoning {
                None => self.reasoning = Some((key, text)),
                Some((first, acc)) if *first == key => acc.push_str(&text),
                // A second name for the same text (servers that send both): ignored.
                Some(_) => {}
            }
        }
        for call in delta.tool_calls.unwrap_or_default() {
            let slot = self.tool_slot(&call);
            let acc = self.tool_calls.entry(slot).or_insert_with(|| {
                added += ENTRY_COST;
                ToolAcc::default()
            });
            if acc.id.is_none() {
                added += call.id.as_ref().map_or(0, String::len);
                acc.id = call.id;
            }
            if acc.kind.is_none() {
                added += call.kind.as_ref().map_or(0, String::len);
                acc.kind = call.kind;
            }
            if let Some(function) = call.function {
                if acc.name.is_none() {
                    added += function.name.as_ref().map_or(0, String::len);
                    acc.name = function.name;
                }
                if let Some(arguments) = function.arguments {
                    added += arguments.len();
                    acc.arguments.push_str(&arguments);
                }
            }
        }
        added
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

    pub(super) fn into_choice(self, kind: EndpointKind, index: u32) -> Choice {
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
