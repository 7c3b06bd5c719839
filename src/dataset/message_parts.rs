//! Pieces of a recorded message that several formats read the same way: its role, its content
//! as text, its tool calls in OpenAI's shape. A leaf, so `formats` (`openai`, `sharegpt`) and
//! `hf` share them without importing each other.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::Value;

/// A message's `role`, `""` when missing or not a string.
pub(super) fn role(message: &Value) -> &str {
    message.get("role").and_then(Value::as_str).unwrap_or("")
}

/// A tool call as OpenAI's chat format writes it: `{"id","type","function":{"name","arguments"}}`.
#[derive(Serialize)]
pub(super) struct OpenAiToolCall<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    function: OpenAiFunction<'a>,
}

#[derive(Serialize)]
struct OpenAiFunction<'a> {
    name: &'a str,
    arguments: Cow<'a, str>,
}

/// An assistant message's tool calls in OpenAI's shape (`arguments` as a JSON string: a string
/// as recorded, an object or array as its JSON text with keys in recorded order, `{}` when
/// missing or null); an error when a call lacks `id` or function name.
pub(super) fn tool_calls(message: &Value) -> Result<Vec<OpenAiToolCall<'_>>, String> {
    let Some(calls) = message.get("tool_calls").and_then(Value::as_array) else {
        return Ok(Vec::new());
    };
    calls
        .iter()
        .map(|call| {
            let function = call.get("function");
            let name = function.and_then(|f| f.get("name")).and_then(Value::as_str);
            let (Some(id), Some(name)) = (call.get("id").and_then(Value::as_str), name) else {
                return Err("a tool call without id or function name".to_owned());
            };
            let arguments = match function.and_then(|f| f.get("arguments")) {
                Some(Value::String(s)) => Cow::Borrowed(s.as_str()),
                None | Some(Value::Null) => Cow::Borrowed("{}"),
                Some(other) => Cow::Owned(other.to_string()),
            };
            Ok(OpenAiToolCall {
                id,
                kind: call
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("function"),
                function: OpenAiFunction { name, arguments },
            })
        })
        .collect()
}

/// A message's content as text: a string, `""` for null or missing, the text parts of an
/// array joined; other content (images, audio, token ids) is an error.
pub(super) fn text(message: &Value) -> Result<String, String> {
    match message.get("content") {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Array(parts)) => {
            let mut out = String::new();
            for part in parts {
                match (part.get("type").and_then(Value::as_str), part.get("text")) {
                    (Some("text"), Some(Value::String(t))) => out.push_str(t),
                    _ => return Err("content that is not text".to_owned()),
                }
            }
            Ok(out)
        }
        Some(_) => Err("content that is not text".to_owned()),
    }
}
