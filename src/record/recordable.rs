//! What the recorder refuses up front, so that every line it writes passes `micromodel
//! validate` (see `docs/capture-limits.md`).
//!
//! The proxy accepts any JSON a client or an upstream sends; the dataset tools read lines with
//! `serde_json` into values, which refuses some JSON that is valid text. Per case:
//!
//! - nested deeper than [`MAX_DEPTH`] (serde_json's recursion limit): refused, [`Unrecordable::TooDeep`];
//! - a number out of `f64` range (`1e400`): refused, [`Unrecordable::NumberOutOfRange`];
//! - a lone surrogate escape (`"\ud800"`): replaced by `\ufffd` (U+FFFD, the replacement
//!   character) in the stored copy, the rest of the line kept;
//! - a request message that is not an object with a string `role`, `tools` that is not an
//!   array, an answer whose role is not `assistant` or whose content is not a string, an array
//!   or null: refused.
//!
//! A `usage` that is not an object is left out of the line (see [`line`](super::line)).

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::Value;

use super::answer::AssistantMessage;

/// The deepest nesting (arrays and objects, the line's own object included) that serde_json
/// reads with its default recursion limit of 128.
pub const MAX_DEPTH: usize = 127;

/// Numbers at or above this magnitude are refused: `f64::MAX` is about 1.798e308, and parsers
/// may round a number near it either way.
const MAX_MAGNITUDE: f64 = 1.79e308;

/// Why a record line is not written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unrecordable {
    /// Arrays and objects nested deeper than [`MAX_DEPTH`].
    #[error("nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// A number that does not fit an `f64`.
    #[error("number out of range: {0}")]
    NumberOutOfRange(String),
    /// A request message that is not an object with a string `role`.
    #[error("messages[{0}] is not an object with a string \"role\"")]
    MessageWithoutRole(usize),
    /// The request's `tools` is not an array.
    #[error("\"tools\" is not an array")]
    ToolsNotArray,
    /// The answer's role is not `assistant`.
    #[error("the answer's role is {0:?}, not \"assistant\"")]
    AnswerRole(String),
    /// The answer's content is not a string, an array or null.
    #[error("the answer's content is not a string, an array or null")]
    AnswerContent,
}

impl Unrecordable {
    /// A short, bounded label for logs.
    pub fn label(&self) -> &'static str {
        match self {
            Unrecordable::TooDeep => "too_deep",
            Unrecordable::NumberOutOfRange(_) => "number_out_of_range",
            Unrecordable::MessageWithoutRole(_) => "message_without_role",
            Unrecordable::ToolsNotArray => "tools_not_array",
            Unrecordable::AnswerRole(_) => "answer_role",
            Unrecordable::AnswerContent => "answer_content",
        }
    }
}

/// Checks the request's `messages`: when an array, every element must be an object with a
/// string `role` (the last `role` key counts, as when the line is read back).
pub fn check_messages(messages: &RawValue) -> Result<(), Unrecordable> {
    if !messages.get().starts_with('[') {
        return Ok(());
    }
    let items: Vec<&RawValue> = serde_json::from_str(messages.get()).unwrap_or_default();
    for (i, item) in items.iter().enumerate() {
        let has_role = item.get().starts_with('{')
            && serde_json::Deserializer::from_str(item.get())
                .deserialize_map(RoleVisitor)
                .unwrap_or(false);
        if !has_role {
            return Err(Unrecordable::MessageWithoutRole(i));
        }
    }
    Ok(())
}

/// Checks the request's `tools` (present and not null): must be an array.
pub fn check_tools(tools: &RawValue) -> Result<(), Unrecordable> {
    match tools.get().starts_with('[') {
        true => Ok(()),
        false => Err(Unrecordable::ToolsNotArray),
    }
}

/// Checks the answer's message: role `assistant`, content a string, an array or null.
pub fn check_answer(message: &AssistantMessage) -> Result<(), Unrecordable> {
    if message.role != "assistant" {
        let role = message.role.chars().take(64).collect();
        return Err(Unrecordable::AnswerRole(role));
    }
    match &message.content {
        None | Some(Value::String(_) | Value::Array(_) | Value::Null) => Ok(()),
        Some(_) => Err(Unrecordable::AnswerContent),
    }
}

/// Checks a built line (valid JSON text) and returns it, with every lone surrogate escape
/// replaced by `\ufffd`: refused when nested deeper than [`MAX_DEPTH`] or holding a number
/// out of range.
pub fn check_line(line: String) -> Result<String, Unrecordable> {
    let bytes = line.as_bytes();
    let mut lone = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => i = skip_string(bytes, i + 1, &mut lone),
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(Unrecordable::TooDeep);
                }
                i += 1;
            }
            b']' | b'}' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i < bytes.len()
                    && matches!(bytes[i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
                {
                    i += 1;
                }
                check_number(&line[start..i])?;
            }
            _ => i += 1,
        }
    }
    if lone.is_empty() {
        return Ok(line);
    }
    let mut out = String::with_capacity(line.len());
    let mut from = 0;
    for at in lone {
        out.push_str(&line[from..at]);
        out.push_str("\\ufffd");
        from = at + 6;
    }
    out.push_str(&line[from..]);
    Ok(out)
}

/// Skips a string whose opening quote is before `i`; returns the index after its closing quote.
/// Notes the byte offset of every `\uXXXX` escape that is a lone surrogate.
fn skip_string(bytes: &[u8], mut i: usize, lone: &mut Vec<usize>) -> usize {
    while i < bytes.len() {
        match bytes[i] {
            b'"' => return i + 1,
            b'\\' if bytes.get(i + 1) == Some(&b'u') => {
                let Some(unit) = hex4(bytes, i + 2) else {
                    i += 2;
                    continue;
                };
                match unit {
                    0xD800..=0xDBFF => {
                        let pair = bytes.get(i + 6) == Some(&b'\\')
                            && bytes.get(i + 7) == Some(&b'u')
                            && hex4(bytes, i + 8).is_some_and(|u| (0xDC00..=0xDFFF).contains(&u));
                        if pair {
                            i += 12;
                        } else {
                            lone.push(i);
                            i += 6;
                        }
                    }
                    0xDC00..=0xDFFF => {
                        lone.push(i);
                        i += 6;
                    }
                    _ => i += 6,
                }
            }
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
    i
}

/// The 16-bit unit of four hex digits at `at`.
fn hex4(bytes: &[u8], at: usize) -> Option<u16> {
    let digits = std::str::from_utf8(bytes.get(at..at + 4)?).ok()?;
    u16::from_str_radix(digits, 16).ok()
}

fn check_number(text: &str) -> Result<(), Unrecordable> {
    match text.parse::<f64>() {
        Ok(n) if n.is_finite() && n.abs() < MAX_MAGNITUDE => Ok(()),
        _ => {
            let shown = text.chars().take(40).collect();
            Err(Unrecordable::NumberOutOfRange(shown))
        }
    }
}

/// Whether an object's last `role` key holds a string. Keys are read as bytes, so a key with
/// a lone surrogate does not fail the check.
struct RoleVisitor;

impl<'de> Visitor<'de> for RoleVisitor {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a message object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let mut role_is_string = false;
        while let Some(is_role) = map.next_key_seed(IsRoleKey)? {
            let value: &'de RawValue = map.next_value()?;
            if is_role {
                role_is_string = value.get().starts_with('"');
            }
        }
        Ok(role_is_string)
    }
}

/// A map key, compared with `role`.
struct IsRoleKey;

impl<'de> DeserializeSeed<'de> for IsRoleKey {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_bytes(self)
    }
}

impl<'de> Visitor<'de> for IsRoleKey {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<bool, E> {
        Ok(v == b"role")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        Ok(v == "role")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(depth: usize) -> String {
        format!("{}{}", "[".repeat(depth), "]".repeat(depth))
    }

    #[test]
    fn max_depth_is_what_serde_json_reads() {
        assert!(serde_json::from_str::<Value>(&nested(MAX_DEPTH)).is_ok());
        assert!(serde_json::from_str::<Value>(&nested(MAX_DEPTH + 1)).is_err());
        assert!(check_line(nested(MAX_DEPTH)).is_ok());
        assert_eq!(
            check_line(nested(MAX_DEPTH + 1)),
            Err(Unrecordable::TooDeep)
        );
        // Brackets inside strings do not count.
        let line = format!("{{\"a\":\"{}\"}}", "[".repeat(500));
        assert!(check_line(line).is_ok());
    }

    #[test]
    fn lone_surrogates_are_replaced_and_pairs_kept() {
        let line =
            r#"{"a":"x\ud800y","b":"\ud83d\ude00","c":"\udc00\ud800\u0041","d\ud800":"\\ud800"}"#;
        let out = check_line(line.to_owned()).expect("recordable");
        assert_eq!(
            out,
            r#"{"a":"x\ufffdy","b":"\ud83d\ude00","c":"\ufffd\ufffd\u0041","d\ufffd":"\\ud800"}"#
        );
        let value: Value = serde_json::from_str(&out).expect("reads back");
        assert_eq!(value["b"], "\u{1f600}");
        assert!(serde_json::from_str::<Value>(line).is_err());
    }

    #[test]
    fn numbers_out_of_range_are_refused() {
        for bad in ["1e400", "-1E+309", &"9".repeat(400)] {
            let line = format!("{{\"n\":[{bad}]}}");
            assert!(serde_json::from_str::<Value>(&line).is_err(), "{bad}");
            assert!(matches!(
                check_line(line),
                Err(Unrecordable::NumberOutOfRange(_))
            ));
        }
        for good in [
            "1e-400",
            "0e999",
            "-0.5",
            "12345678901234567890123",
            "1.7e308",
        ] {
            let line = format!("{{\"n\":{good}}}");
            assert!(serde_json::from_str::<Value>(&line).is_ok(), "{good}");
            assert!(check_line(line).is_ok(), "{good}");
        }
    }

    #[test]
    fn messages_need_a_string_role() {
        let raw = |t: &str| {
            serde_json::from_str::<&RawValue>(t)
                .expect("raw")
                .to_owned()
        };
        assert!(check_messages(&raw(r#"[{"role":"user"},{"r\u006fle":"x","d\ud800":1}]"#)).is_ok());
        assert_eq!(
            check_messages(&raw(r#"[{"role":"user"},{"content":"x"}]"#)),
            Err(Unrecordable::MessageWithoutRole(1))
        );
        assert_eq!(
            check_messages(&raw(r#"[{"role":3}]"#)),
            Err(Unrecordable::MessageWithoutRole(0))
        );
        assert_eq!(
            check_messages(&raw(r#"[{"role":"a","role":null}]"#)),
            Err(Unrecordable::MessageWithoutRole(0))
        );
        assert_eq!(
            check_messages(&raw("[1]")),
            Err(Unrecordable::MessageWithoutRole(0))
        );
        assert!(check_messages(&raw(r#""not an array""#)).is_ok());
        assert_eq!(check_tools(&raw("{}")), Err(Unrecordable::ToolsNotArray));
        assert!(check_tools(&raw("[]")).is_ok());
    }
}
