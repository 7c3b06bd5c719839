//! Responses items (the `input` array and the `output` array share one item shape) and the
//! assistant turn a run of assistant items makes.

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::record::answer::{AssistantMessage, FunctionCall, ReasoningKey, ToolCall};
use crate::record::dialect::common::normalise_message;
use crate::record::dialect::json::{self, Part};

/// Reasoning texts of separate items or summary parts are joined with this.
pub const REASONING_SEPARATOR: &str = "\n\n";

/// One item, reduced to what ChatML can hold.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// A `message` item (also the typeless `{"role","content"}` shorthand).
    Message {
        /// `user`, `system`, `developer` or `assistant`.
        role: String,
        /// Its `input_text`/`output_text` and `input_image` parts, in order.
        parts: Vec<Part>,
        /// Its `refusal` parts, concatenated (`None` when it had none).
        refusal: Option<String>,
        /// Some part had no ChatML form (a file, an image by `file_id`, ...).
        dropped: bool,
    },
    /// A `function_call` item (`call_id` becomes the tool call's `id`).
    FunctionCall(ToolCall),
    /// A `function_call_output` item.
    FunctionOutput {
        /// Its `call_id`.
        call_id: String,
        /// Its `output`, as content JSON text.
        content_json: String,
    },
    /// A `reasoning` item: its reasoning text, else its summary (`None` when it has neither,
    /// e.g. only `encrypted_content`).
    Reasoning(Option<String>),
    /// Any other item type (built-in tool calls and outputs, item references): no ChatML form.
    Other,
}

#[derive(Deserialize)]
struct RawItem<'a> {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    role: Option<String>,
    #[serde(default, borrow)]
    content: Option<&'a RawValue>,
    #[serde(default)]
    call_id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    arguments: Option<String>,
    #[serde(default, borrow)]
    output: Option<&'a RawValue>,
    #[serde(default)]
    summary: Option<Vec<RawPart>>,
}

/// A content part (or a reasoning summary part).
#[derive(Deserialize)]
pub struct RawPart {
    /// Its `type`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// `input_text`, `output_text`, `summary_text`, `reasoning_text`: the text.
    #[serde(default)]
    pub text: Option<String>,
    /// `refusal`: the refusal text.
    #[serde(default)]
    pub refusal: Option<String>,
    /// `input_image`: the URL (or data URL).
    #[serde(default)]
    pub image_url: Option<String>,
    /// `input_image`: `detail`.
    #[serde(default)]
    pub detail: Option<String>,
}

/// Parses one item; an item that does not parse counts as [`Item::Other`].
pub fn parse_item(raw: &RawValue) -> Item {
    let Ok(item) = serde_json::from_str::<RawItem<'_>>(raw.get()) else {
        return Item::Other;
    };
    let kind = item
        .kind
        .as_deref()
        .unwrap_or(if item.role.is_some() { "message" } else { "" });
    match kind {
        "message" => {
            let (parts, refusal, dropped) = parse_content(item.content);
            Item::Message {
                role: item.role.unwrap_or_else(|| "user".to_owned()),
                parts,
                refusal,
                dropped,
            }
        }
        "function_call" => Item::FunctionCall(ToolCall {
            id: item.call_id.unwrap_or_default(),
            kind: "function".to_owned(),
            function: FunctionCall {
                name: item.name.unwrap_or_default(),
                arguments: item.arguments.unwrap_or_default(),
            },
        }),
        "function_call_output" => Item::FunctionOutput {
            call_id: item.call_id.unwrap_or_default(),
            content_json: output_content(item.output),
        },
        "reasoning" => {
            let text = item
                .content
                .and_then(|c| serde_json::from_str::<Vec<RawPart>>(c.get()).ok())
                .map(|parts| parts.into_iter().filter_map(|p| p.text).collect::<String>())
                .filter(|t| !t.is_empty());
            let summary = item.summary.map(|parts| {
                parts
                    .into_iter()
                    .filter_map(|p| p.text)
                    .collect::<Vec<_>>()
                    .join(REASONING_SEPARATOR)
            });
            Item::Reasoning(text.or(summary).filter(|t| !t.is_empty()))
        }
        _ => Item::Other,
    }
}

/// What a content part becomes in ChatML.
#[derive(Debug, Clone, PartialEq)]
pub enum Converted {
    /// A text or image part.
    Part(Part),
    /// A `refusal` part (its text goes to the message's `refusal`).
    Refusal,
    /// No ChatML form (a file, an image by `file_id`, an unknown type).
    NoForm,
}

/// A part as ChatML.
pub fn convert_part(part: RawPart) -> Converted {
    match part.kind.as_deref() {
        Some("input_text" | "output_text" | "text") => {
            Converted::Part(Part::Text(part.text.unwrap_or_default()))
        }
        Some("input_image") => match part.image_url {
            Some(url) => Converted::Part(Part::Image {
                url,
                detail: part.detail,
            }),
            None => Converted::NoForm,
        },
        Some("refusal") => Converted::Refusal,
        _ => Converted::NoForm,
    }
}

/// A message's `content`: a string is one text part; an array is its parts.
fn parse_content(content: Option<&RawValue>) -> (Vec<Part>, Option<String>, bool) {
    let Some(content) = content else {
        return (Vec::new(), None, false);
    };
    if let Ok(text) = serde_json::from_str::<String>(content.get()) {
        return (vec![Part::Text(text)], None, false);
    }
    let Ok(raw_parts) = serde_json::from_str::<Vec<RawPart>>(content.get()) else {
        return (Vec::new(), None, true);
    };
    let mut parts = Vec::new();
    let mut refusal: Option<String> = None;
    let mut dropped = false;
    for part in raw_parts {
        let refusal_text = part.refusal.clone();
        match convert_part(part) {
            Converted::Part(p) => parts.push(p),
            Converted::Refusal => refusal
                .get_or_insert_with(String::new)
                .push_str(&refusal_text.unwrap_or_default()),
            Converted::NoForm => dropped = true,
        }
    }
    (parts, refusal, dropped)
}

/// A `function_call_output`'s `output` as content JSON text: a string as it is, an array of
/// parts like a message's content, anything else as its JSON text.
fn output_content(output: Option<&RawValue>) -> String {
    let Some(output) = output else {
        return "\"\"".to_owned();
    };
    if output.get().starts_with('"') {
        return json::minified(output);
    }
    match serde_json::from_str::<Vec<RawPart>>(output.get()) {
        Ok(raw_parts) => {
            let parts: Vec<Part> = raw_parts
                .into_iter()
                .filter_map(|p| match convert_part(p) {
                    Converted::Part(part) => Some(part),
                    Converted::Refusal | Converted::NoForm => None,
                })
                .collect();
            json::content_text(&parts)
        }
        Err(_) => json::minified(output),
    }
}

/// One assistant turn being built from consecutive assistant items (the whole `output` of an
/// answer, or a run of assistant `message`, `reasoning` and `function_call` input items).
#[derive(Debug, Default)]
pub struct AssistantTurn {
    /// `output_text` parts concatenated; `None` until a message item contributed text.
    content: Option<String>,
    /// `refusal` parts concatenated.
    refusal: Option<String>,
    /// Reasoning texts, one per reasoning item that had one.
    reasoning: Vec<String>,
    /// Function calls, in order.
    tool_calls: Vec<ToolCall>,
    /// Something was left out (non-text parts, non-assistant items).
    pub partial: bool,
}

impl AssistantTurn {
    /// Nothing was added yet.
    pub fn is_empty(&self) -> bool {
        self.content.is_none()
            && self.refusal.is_none()
            && self.reasoning.is_empty()
            && self.tool_calls.is_empty()
    }

    /// The turn already has an answer (text, refusal or calls), so a new assistant message or
    /// reasoning item starts the next turn.
    pub fn has_output(&self) -> bool {
        self.content.is_some() || self.refusal.is_some() || !self.tool_calls.is_empty()
    }

    /// Whether the turn has function calls (the `tool_calls` finish reason).
    pub fn has_tool_calls(&self) -> bool {
        !self.tool_calls.is_empty()
    }

    /// Adds one item; items with no place in an assistant turn mark it partial.
    pub fn add(&mut self, item: Item) {
        match item {
            Item::Message {
                role,
                parts,
                refusal,
                dropped,
            } if role == "assistant" => {
                self.partial |= dropped;
                for part in parts {
                    match part {
                        Part::Text(text) => {
                            self.content.get_or_insert_with(String::new).push_str(&text)
                        }
                        Part::Image { .. } => self.partial = true,
                    }
                }
                if let Some(text) = refusal {
                    self.refusal.get_or_insert_with(String::new).push_str(&text);
                }
            }
            Item::FunctionCall(call) => self.tool_calls.push(call),
            Item::Reasoning(text) => self.reasoning.extend(text),
            Item::Message { .. } | Item::FunctionOutput { .. } | Item::Other => self.partial = true,
        }
    }

    /// The turn as an assistant message, normalised as every recorded assistant message is.
    pub fn into_message(self) -> AssistantMessage {
        let mut message = AssistantMessage {
            content: self.content.map(Value::String),
            tool_calls: self.tool_calls,
            refusal: self.refusal,
            reasoning: (!self.reasoning.is_empty()).then(|| {
                (
                    ReasoningKey::ReasoningContent,
                    self.reasoning.join(REASONING_SEPARATOR),
                )
            }),
            ..AssistantMessage::default()
        };
        normalise_message(&mut message);
        message
    }
}
