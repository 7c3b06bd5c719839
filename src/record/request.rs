//! The parts of a recorded request that the proxy and the record need, from one parse of
//! the body. Values are kept as raw JSON text (never re-serialised); the only rewrite is
//! removing `workflow_id`, which rebuilds the object from the original bytes of every other
//! member.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

/// Why a recorded endpoint's body was refused (always a `400`).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RequestError {
    /// The body is not valid JSON.
    #[error("We could not parse the JSON body of your request: {0}")]
    InvalidJson(String),
    /// The body is JSON but not an object.
    #[error("The request body must be a JSON object.")]
    NotAnObject,
    /// `workflow_id` is present but not a string.
    #[error("'workflow_id' must be a string naming a workflow.")]
    WorkflowIdNotString,
}

/// One parsed request body. Borrows from the body bytes.
#[derive(Debug)]
pub struct RequestView<'a> {
    /// Every top-level member, in order, with the raw value text.
    members: Vec<(Cow<'a, str>, &'a RawValue)>,
    /// `workflow_id`, when given.
    pub workflow_id: Option<String>,
}

impl<'a> RequestView<'a> {
    /// Parses `body`, which must be a JSON object.
    pub fn parse(body: &'a [u8]) -> Result<Self, RequestError> {
        let first = body.iter().find(|b| !b.is_ascii_whitespace());
        if first.is_some_and(|b| *b != b'{') {
            // Still report invalid JSON as such rather than "not an object".
            return match serde_json::from_slice::<de::IgnoredAny>(body) {
                Ok(_) => Err(RequestError::NotAnObject),
                Err(error) => Err(RequestError::InvalidJson(error.to_string())),
            };
        }
        let mut de = serde_json::Deserializer::from_slice(body);
        let members = de
            .deserialize_map(MembersVisitor)
            .and_then(|m| de.end().map(|()| m))
            .map_err(|error| RequestError::InvalidJson(error.to_string()))?;
        let mut view = RequestView {
            members,
            workflow_id: None,
        };
        if let Some(raw) = view.get("workflow_id") {
            let id: String =
                serde_json::from_str(raw.get()).map_err(|_| RequestError::WorkflowIdNotString)?;
            view.workflow_id = Some(id);
        }
        Ok(view)
    }

    /// The raw value of a top-level member (the last one, when a key is repeated).
    pub fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.members
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| *v)
    }

    /// Every top-level member, in request order (a repeated key appears each time).
    pub fn members(&self) -> impl Iterator<Item = (&str, &'a RawValue)> + '_ {
        self.members.iter().map(|(k, v)| (k.as_ref(), *v))
    }

    /// A member's value unless absent or `null`.
    pub fn get_non_null(&self, key: &str) -> Option<&'a RawValue> {
        self.get(key).filter(|v| v.get() != "null")
    }

    /// `model` when it is a string.
    pub fn model(&self) -> Option<String> {
        self.get("model")
            .and_then(|raw| serde_json::from_str::<String>(raw.get()).ok())
    }

    /// `stream` is `true`.
    pub fn is_stream(&self) -> bool {
        self.get("stream").is_some_and(|v| v.get() == "true")
    }

    /// `n`, default 1 (a missing, null, zero or non-integer `n` counts as 1).
    pub fn n(&self) -> u32 {
        self.get("n")
            .and_then(|raw| raw.get().parse::<u32>().ok())
            .filter(|n| *n > 0)
            .unwrap_or(1)
    }

    /// The body without `workflow_id`: every other member's original bytes, in order.
    pub fn body_without_workflow_id(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            self.members
                .iter()
                .map(|(k, v)| k.len() + v.get().len() + 4)
                .sum::<usize>()
                + 2,
        );
        out.push(b'{');
        let mut first = true;
        for (key, value) in self.members.iter().filter(|(k, _)| k != "workflow_id") {
            if !first {
                out.push(b',');
            }
            first = false;
            // Serialising a &str to a Vec cannot fail.
            serde_json::to_writer(&mut out, key.as_ref()).expect("string key serialises");
            out.push(b':');
            out.extend_from_slice(value.get().as_bytes());
        }
        out.push(b'}');
        out
    }
}

struct MembersVisitor;

impl<'de> Visitor<'de> for MembersVisitor {
    type Value = Vec<(Cow<'de, str>, &'de RawValue)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members = Vec::with_capacity(map.size_hint().unwrap_or(8));
        while let Some(key) = map.next_key::<CowStr<'de>>()? {
            let value: &'de RawValue = map.next_value()?;
            members.push((key.0, value));
        }
        Ok(members)
    }
}

/// A key that borrows when it has no escapes.
struct CowStr<'a>(Cow<'a, str>);

impl<'de> de::Deserialize<'de> for CowStr<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = CowStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// Copies JSON text without insignificant whitespace, so a pretty-printed request still
/// gives a one-line record. Strings (the only place where whitespace matters) are copied
/// byte for byte; a raw newline cannot occur inside a valid JSON string.
pub fn minify_json(raw: &str, out: &mut String) {
    if !raw
        .bytes()
        .any(|b| matches!(b, b' ' | b'\n' | b'\r' | b'\t'))
    {
        out.push_str(raw);
        return;
    }
    let mut in_string = false;
    let mut escaped = false;
    for c in raw.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !matches!(c, ' ' | '\n' | '\r' | '\t') {
            out.push(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_members_in_order_and_strips_workflow_id() {
        let body = br#"{"model":"m", "workflow_id":"other","messages":[{"role":"user","content":"a \"b\""}],"x\u0041":1}"#;
        let view = RequestView::parse(body).expect("valid");
        assert_eq!(view.workflow_id.as_deref(), Some("other"));
        assert_eq!(view.model().as_deref(), Some("m"));
        let out = view.body_without_workflow_id();
        assert_eq!(
            std::str::from_utf8(&out).expect("utf8"),
            r#"{"model":"m","messages":[{"role":"user","content":"a \"b\""}],"xA":1}"#
        );
    }

    #[test]
    fn rejects_non_objects_and_bad_json() {
        assert_eq!(
            RequestView::parse(b"[1,2]").unwrap_err(),
            RequestError::NotAnObject
        );
        assert!(matches!(
            RequestView::parse(b"{\"a\":").unwrap_err(),
            RequestError::InvalidJson(_)
        ));
        assert!(matches!(
            RequestView::parse(b"").unwrap_err(),
            RequestError::InvalidJson(_)
        ));
        assert!(matches!(
            RequestView::parse(b"{} x").unwrap_err(),
            RequestError::InvalidJson(_)
        ));
        assert_eq!(
            RequestView::parse(br#"{"workflow_id":3}"#).unwrap_err(),
            RequestError::WorkflowIdNotString
        );
    }

    #[test]
    fn reads_n_and_stream() {
        let view = RequestView::parse(br#"{"n":2,"stream":true}"#).expect("valid");
        assert_eq!(view.n(), 2);
        assert!(view.is_stream());
        let view = RequestView::parse(br#"{"n":null}"#).expect("valid");
        assert_eq!(view.n(), 1);
        assert!(!view.is_stream());
    }

    #[test]
    fn minify_keeps_strings_exact() {
        let mut out = String::new();
        minify_json(
            "[ {\"a\" : \"x  y\\\" \\n\" ,\n \"b\": [1, 2] } ]",
            &mut out,
        );
        assert_eq!(out, r#"[{"a":"x  y\" \n","b":[1,2]}]"#);
    }
}
