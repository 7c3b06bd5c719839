//! Writing the ChatML side of a dialect as JSON text with keys in a fixed order, and the small
//! shared pieces of content (text and image parts) both dialects map to.
//!
//! Values copied from the client or upstream (tool schemas, tool inputs, `usage`) stay raw JSON
//! text, minified, so their key order is the one they were sent with.

use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::record::request::minify_json;

/// One typed stream event from an SSE `data` field, or `None` (counted in `malformed`, logged
/// at debug) when it does not parse: a dialect's stream skips such events.
pub fn stream_event<'a, T: serde::Deserialize<'a>>(
    data: &'a str,
    malformed: &mut u64,
    dialect: &'static str,
) -> Option<T> {
    match serde_json::from_str::<T>(data) {
        Ok(event) => Some(event),
        Err(_) => {
            *malformed += 1;
            tracing::debug!(
                malformed_events = *malformed,
                dialect,
                "skipping an unparseable stream event"
            );
            None
        }
    }
}

/// One JSON object being written: `{` on creation, members in call order, `}` on [`Obj::end`].
pub struct Obj<'a> {
    /// Where the text goes.
    out: &'a mut String,
    /// No member written yet (no comma needed).
    first: bool,
}

impl<'a> Obj<'a> {
    /// Starts an object at the end of `out`.
    pub fn new(out: &'a mut String) -> Self {
        out.push('{');
        Obj { out, first: true }
    }

    fn key(&mut self, key: &str) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        push_string(self.out, key);
        self.out.push(':');
    }

    /// A string member.
    pub fn str(&mut self, key: &str, value: &str) -> &mut Self {
        self.key(key);
        push_string(self.out, value);
        self
    }

    /// A member whose value is JSON text (minified while copied).
    pub fn raw(&mut self, key: &str, json: &str) -> &mut Self {
        self.key(key);
        minify_json(json, self.out);
        self
    }

    /// Closes the object.
    pub fn end(self) {
        self.out.push('}');
    }
}

/// Appends `value` as a JSON string literal.
pub fn push_string(out: &mut String, value: &str) {
    out.push_str(&serde_json::to_string(value).expect("a string serialises"));
}

/// JSON text built by this module as a [`RawValue`].
pub fn into_raw(json: String) -> Box<RawValue> {
    RawValue::from_string(json).expect("JSON text written by the dialect module is valid")
}

/// A raw value copied minified.
pub fn minified(raw: &RawValue) -> String {
    let mut out = String::with_capacity(raw.get().len());
    minify_json(raw.get(), &mut out);
    out
}

/// Several JSON values as one array text.
pub fn array_text(items: &[Box<RawValue>]) -> String {
    let mut out = String::with_capacity(items.iter().map(|i| i.get().len() + 1).sum::<usize>() + 2);
    out.push('[');
    for (position, item) in items.iter().enumerate() {
        if position > 0 {
            out.push(',');
        }
        out.push_str(item.get());
    }
    out.push(']');
    out
}

/// The members of a JSON object in order, `None` when `json` is not an object.
pub fn members(json: &str) -> Option<Vec<(String, &RawValue)>> {
    struct MembersVisitor;
    impl<'de> Visitor<'de> for MembersVisitor {
        type Value = Vec<(String, &'de RawValue)>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(key) = map.next_key::<String>()? {
                out.push((key, map.next_value::<&'de RawValue>()?));
            }
            Ok(out)
        }
    }
    let mut de = serde_json::Deserializer::from_str(json);
    de.deserialize_map(MembersVisitor).ok()
}

/// One part of a ChatML message's content.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    /// Text.
    Text(String),
    /// An image by URL (an `https:` URL or a `data:` URL), with the optional `detail`.
    Image {
        /// The URL.
        url: String,
        /// `detail` (`auto`, `low`, `high`), when the client gave one.
        detail: Option<String>,
    },
}

/// A content as JSON text: parts that are all text become one string (concatenated as they
/// are, no separator), otherwise an array of `{"type":"text","text"}` and
/// `{"type":"image_url","image_url":{"url","detail"}}` parts. No parts: `""`.
pub fn content_text(parts: &[Part]) -> String {
    let mut out = String::new();
    if parts.iter().all(|p| matches!(p, Part::Text(_))) {
        let text: String = parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => t.as_str(),
                Part::Image { .. } => "",
            })
            .collect();
        push_string(&mut out, &text);
        return out;
    }
    out.push('[');
    for (position, part) in parts.iter().enumerate() {
        if position > 0 {
            out.push(',');
        }
        let mut obj = Obj::new(&mut out);
        match part {
            Part::Text(text) => {
                obj.str("type", "text").str("text", text);
            }
            Part::Image { url, detail } => {
                obj.str("type", "image_url");
                let mut image = String::new();
                let mut inner = Obj::new(&mut image);
                inner.str("url", url);
                if let Some(detail) = detail {
                    inner.str("detail", detail);
                }
                inner.end();
                obj.raw("image_url", &image);
            }
        }
        obj.end();
    }
    out.push(']');
    out
}

/// A message `{"role","content"}` with the given content JSON text.
pub fn role_message(role: &str, content_json: &str) -> Box<RawValue> {
    let mut out = String::new();
    let mut obj = Obj::new(&mut out);
    obj.str("role", role).raw("content", content_json);
    obj.end();
    into_raw(out)
}

/// A tool message `{"role":"tool","tool_call_id","content"}`.
pub fn tool_message(tool_call_id: &str, content_json: &str) -> Box<RawValue> {
    let mut out = String::new();
    let mut obj = Obj::new(&mut out);
    obj.str("role", "tool")
        .str("tool_call_id", tool_call_id)
        .raw("content", content_json);
    obj.end();
    into_raw(out)
}

/// A chat-shaped function tool: `{"type":"function","function":{...}}` with the given members
/// (name, description, parameters, strict — those present, in that order).
pub fn function_tool(members: &[(&str, &RawValue)]) -> Box<RawValue> {
    let mut function = String::new();
    let mut inner = Obj::new(&mut function);
    for (key, value) in members {
        inner.raw(key, value.get());
    }
    inner.end();
    let mut out = String::new();
    let mut obj = Obj::new(&mut out);
    obj.str("type", "function").raw("function", &function);
    obj.end();
    into_raw(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_text_only_is_a_string_else_parts() {
        assert_eq!(
            content_text(&[Part::Text("a".into()), Part::Text("b\"".into())]),
            r#""ab\"""#
        );
        assert_eq!(content_text(&[]), r#""""#);
        assert_eq!(
            content_text(&[
                Part::Text("see".into()),
                Part::Image {
                    url: "data:image/png;base64,AA==".into(),
                    detail: Some("low".into())
                }
            ]),
            r#"[{"type":"text","text":"see"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AA==","detail":"low"}}]"#
        );
    }

    #[test]
    fn members_keep_order_and_raw_is_minified() {
        let m = members(r#"{"zeta": 1, "alpha": {"b": 2, "a": 1}}"#).expect("object");
        assert_eq!(m[0].0, "zeta");
        assert_eq!(m[1].0, "alpha");
        assert!(members("[1]").is_none());
        let mut out = String::new();
        let mut obj = Obj::new(&mut out);
        obj.raw("p", m[1].1.get());
        obj.end();
        assert_eq!(out, r#"{"p":{"b":2,"a":1}}"#);
    }
}
