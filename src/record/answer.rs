//! The upstream's answer, normalised: what a non-streamed body and an assembled stream both
//! become before a record line is written (§4).

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;

/// Everything of one 2xx answer that a record needs.
#[derive(Debug, Default)]
pub struct Answer {
    /// The upstream's `id` (becomes `request_id`).
    pub id: Option<String>,
    /// One entry per choice, in the order of their `index`.
    pub choices: Vec<Choice>,
    /// The upstream's `usage` object, when it reported one.
    pub usage: Option<Box<RawValue>>,
}

/// One choice of an answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    /// The choice's `index` (used to pick the prompt of a completions request).
    pub index: u32,
    /// The assistant message (for completions: `content` holds the choice's `text`).
    pub message: AssistantMessage,
    /// `finish_reason`; `None` when the upstream gave none (or null).
    pub finish_reason: Option<String>,
}

/// Which name the upstream used for reasoning text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReasoningKey {
    /// `reasoning_content` (DeepSeek, vLLM, llama.cpp).
    ReasoningContent,
    /// `reasoning` (Ollama, OpenRouter).
    Reasoning,
}

impl ReasoningKey {
    /// The JSON key.
    pub fn as_str(self) -> &'static str {
        match self {
            ReasoningKey::ReasoningContent => "reasoning_content",
            ReasoningKey::Reasoning => "reasoning",
        }
    }
}

/// The assistant message of a choice, normalised the same way for streamed and
/// non-streamed answers. Serialises with keys in this order: `role`, `content`, then only when
/// present `tool_calls`, `refusal`, the reasoning field, then `extra`.
///
/// Equality compares `extra` values by their JSON text (`RawValue` has no `PartialEq`).
#[derive(Debug, Clone)]
pub struct AssistantMessage {
    /// `role`, normally `"assistant"`.
    pub role: String,
    /// `content`: `None` serialises as `null` (an answer that is only tool calls).
    pub content: Option<Value>,
    /// `tool_calls`, omitted when empty.
    pub tool_calls: Vec<ToolCall>,
    /// `refusal`, omitted when `None`.
    pub refusal: Option<String>,
    /// Reasoning text under the upstream's own key, omitted when `None`.
    pub reasoning: Option<(ReasoningKey, String)>,
    /// Other non-null fields of a non-streamed message, kept as given, in the given order.
    pub extra: Vec<(String, Box<RawValue>)>,
}

impl PartialEq for AssistantMessage {
    fn eq(&self, other: &Self) -> bool {
        self.role == other.role
            && self.content == other.content
            && self.tool_calls == other.tool_calls
            && self.refusal == other.refusal
            && self.reasoning == other.reasoning
            && self.extra.len() == other.extra.len()
            && self
                .extra
                .iter()
                .zip(&other.extra)
                .all(|((ka, va), (kb, vb))| ka == kb && va.get() == vb.get())
    }
}

/// Equality compares `usage` by its JSON text (`RawValue` has no `PartialEq`).
impl PartialEq for Answer {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
            && self.choices == other.choices
            && self.usage.as_ref().map(|u| u.get()) == other.usage.as_ref().map(|u| u.get())
    }
}

impl Default for AssistantMessage {
    fn default() -> Self {
        AssistantMessage {
            role: "assistant".to_owned(),
            content: None,
            tool_calls: Vec::new(),
            refusal: None,
            reasoning: None,
            extra: Vec::new(),
        }
    }
}

/// One tool call, `{"id","type","function":{"name","arguments"}}` (no stream `index`).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ToolCall {
    /// The call's id.
    pub id: String,
    /// Always `"function"` today.
    #[serde(rename = "type")]
    pub kind: String,
    /// Function name and arguments.
    pub function: FunctionCall,
}

/// The function part of a tool call.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct FunctionCall {
    /// Function name.
    pub name: String,
    /// Arguments, a JSON text as the model wrote it.
    pub arguments: String,
}

impl Serialize for AssistantMessage {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("role", &self.role)?;
        map.serialize_entry("content", &self.content)?;
        if !self.tool_calls.is_empty() {
            map.serialize_entry("tool_calls", &self.tool_calls)?;
        }
        if let Some(refusal) = &self.refusal {
            map.serialize_entry("refusal", refusal)?;
        }
        if let Some((key, text)) = &self.reasoning {
            map.serialize_entry(key.as_str(), text)?;
        }
        for (key, value) in &self.extra {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}
