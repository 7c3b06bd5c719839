//! What every dialect's answer parsing and writing shares: the normalisation of an assistant
//! message, an upstream's error message, lenient ids, and writing a ChatML history.

use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::record::answer::AssistantMessage;

/// The normalisation shared by streamed and non-streamed answers: an empty `content` next to
/// tool calls becomes `null` (the answer is only tool calls); an empty `refusal` or reasoning
/// text is dropped.
pub(crate) fn normalise_message(message: &mut AssistantMessage) {
    if !message.tool_calls.is_empty()
        && matches!(&message.content, Some(Value::String(s)) if s.is_empty())
    {
        message.content = None;
    }
    if message.refusal.as_deref() == Some("") {
        message.refusal = None;
    }
    if matches!(&message.reasoning, Some((_, text)) if text.is_empty()) {
        message.reasoning = None;
    }
}

/// A choice position as a `u32` index (saturating; no answer has 4 billion choices).
pub(crate) fn position_index(position: usize) -> u32 {
    u32::try_from(position).unwrap_or(u32::MAX)
}

/// A readable message out of an `error` value: its `message` when it is an object that has one,
/// else its JSON text.
pub(crate) fn error_message(error: &RawValue) -> String {
    #[derive(Deserialize)]
    struct WithMessage {
        message: String,
    }
    match serde_json::from_str::<WithMessage>(error.get()) {
        Ok(m) => m.message,
        Err(_) => match serde_json::from_str::<String>(error.get()) {
            Ok(s) => s,
            Err(_) => error.get().to_owned(),
        },
    }
}

/// A string, or any other JSON value as its JSON text (an `id` that is a number, say).
pub(crate) struct LenientString(pub(crate) String);

impl<'de> Deserialize<'de> for LenientString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Ok(LenientString(match value {
            Value::String(s) => s,
            other => other.to_string(),
        }))
    }
}

/// Writes a ChatML history (a JSON array text, already minified and redacted) as the first
/// elements of the record's `messages` array: its elements and a `,`, nothing when it is
/// empty or absent. Chat completions, and every dialect whose request maps to ChatML.
pub(crate) fn write_chatml_history(history: Option<&str>, out: &mut String) {
    if let Some(text) = history {
        let inner = text
            .strip_prefix('[')
            .and_then(|t| t.strip_suffix(']'))
            .unwrap_or("");
        if !inner.is_empty() {
            out.push_str(inner);
            out.push(',');
        }
    }
}
