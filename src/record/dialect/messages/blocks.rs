//! Anthropic content blocks, reduced to what ChatML can hold, and the assistant message a
//! list of assistant blocks makes (the same for a request's history and for an answer).

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::record::answer::{AssistantMessage, FunctionCall, ReasoningKey, ToolCall};
use crate::record::dialect::common::normalise_message;
use crate::record::dialect::json::{self, Part};

/// Separate `thinking` blocks are joined with this.
pub const THINKING_SEPARATOR: &str = "\n\n";

/// One content block.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A `text` block.
    Text(String),
    /// An `image` block: its image part, `None` for a source with no URL form (`file`).
    Image(Option<Part>),
    /// A `tool_use` block (`arguments` = the minified JSON text of `input`).
    ToolUse(ToolCall),
    /// A `tool_result` block.
    ToolResult {
        /// `tool_use_id`.
        tool_use_id: String,
        /// Its `content` as content JSON text.
        content_json: String,
        /// Some of its content had no ChatML form.
        dropped: bool,
    },
    /// A `thinking` block's text (its signature is dropped).
    Thinking(String),
    /// Any other block (`redacted_thinking`, `document`, server tool blocks, ...).
    Other,
}

#[derive(Deserialize)]
struct RawBlock<'a> {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    source: Option<RawSource>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default, borrow)]
    input: Option<&'a RawValue>,
    #[serde(default)]
    tool_use_id: Option<String>,
    #[serde(default, borrow)]
    content: Option<&'a RawValue>,
    #[serde(default)]
    thinking: Option<String>,
}

/// An image block's `source`.
#[derive(Deserialize)]
struct RawSource {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    data: Option<String>,
    #[serde(default)]
    url: Option<String>,
}

/// Parses one block; a block that does not parse counts as [`Block::Other`].
pub fn parse_block(raw: &RawValue) -> Block {
    let Ok(block) = serde_json::from_str::<RawBlock<'_>>(raw.get()) else {
        return Block::Other;
    };
    match block.kind.as_deref() {
        Some("text") => Block::Text(block.text.unwrap_or_default()),
        Some("image") => Block::Image(block.source.and_then(image_part)),
        Some("tool_use") => Block::ToolUse(ToolCall {
            id: block.id.unwrap_or_default(),
            kind: "function".to_owned(),
            function: FunctionCall {
                name: block.name.unwrap_or_default(),
                arguments: block.input.map_or_else(|| "{}".to_owned(), json::minified),
            },
        }),
        Some("tool_result") => {
            let (content_json, dropped) = tool_result_content(block.content);
            Block::ToolResult {
                tool_use_id: block.tool_use_id.unwrap_or_default(),
                content_json,
                dropped,
            }
        }
        Some("thinking") => Block::Thinking(block.thinking.unwrap_or_default()),
        _ => Block::Other,
    }
}

/// An image source as an image part: base64 → a `data:` URL, url → the URL.
fn image_part(source: RawSource) -> Option<Part> {
    let url = match source.kind.as_deref() {
        Some("base64") => format!(
            "data:{};base64,{}",
            source.media_type.unwrap_or_default(),
            source.data.unwrap_or_default()
        ),
        Some("url") => source.url?,
        _ => return None,
    };
    Some(Part::Image { url, detail: None })
}

/// A `tool_result`'s `content`: a string as it is, text (and image) blocks as content parts
/// (a string when text only). Missing: `""`.
fn tool_result_content(content: Option<&RawValue>) -> (String, bool) {
    let Some(content) = content.filter(|c| c.get() != "null") else {
        return ("\"\"".to_owned(), false);
    };
    if content.get().starts_with('"') {
        return (json::minified(content), false);
    }
    let Ok(blocks) = serde_json::from_str::<Vec<&RawValue>>(content.get()) else {
        return (json::minified(content), false);
    };
    let (parts, dropped) = user_parts(blocks.iter().map(|raw| parse_block(raw)));
    (json::content_text(&parts), dropped)
}

/// User-side blocks as content parts (text and images); `true` when some were left out.
pub fn user_parts(blocks: impl Iterator<Item = Block>) -> (Vec<Part>, bool) {
    let mut parts = Vec::new();
    let mut dropped = false;
    for block in blocks {
        match block {
            Block::Text(text) => parts.push(Part::Text(text)),
            Block::Image(Some(part)) => parts.push(part),
            _ => dropped = true,
        }
    }
    (parts, dropped)
}

/// An assistant message being built from assistant blocks.
#[derive(Debug, Default)]
pub struct AssistantBlocks {
    /// Text blocks concatenated; `None` until a text block was seen.
    content: Option<String>,
    /// `tool_use` blocks, in order.
    tool_calls: Vec<ToolCall>,
    /// `thinking` texts, one per block.
    thinking: Vec<String>,
    /// Some block had no ChatML form.
    pub partial: bool,
}

impl AssistantBlocks {
    /// Adds one block; blocks with no place in an assistant message mark it partial.
    pub fn add(&mut self, block: Block) {
        match block {
            Block::Text(text) => self.content.get_or_insert_with(String::new).push_str(&text),
            Block::ToolUse(call) => self.tool_calls.push(call),
            Block::Thinking(text) => self.thinking.push(text),
            Block::Image(_) | Block::ToolResult { .. } | Block::Other => self.partial = true,
        }
    }

    /// The assistant message, normalised as every recorded assistant message is.
    pub fn into_message(self) -> AssistantMessage {
        let thinking = self.thinking.join(THINKING_SEPARATOR);
        let mut message = AssistantMessage {
            content: self.content.map(Value::String),
            tool_calls: self.tool_calls,
            reasoning: Some((ReasoningKey::ReasoningContent, thinking)),
            ..AssistantMessage::default()
        };
        normalise_message(&mut message);
        message
    }
}
