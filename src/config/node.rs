//! An order-preserving JSON tree that keeps duplicate object keys.
//!
//! `serde_json::Value` silently keeps only the last of two equal keys; a config with the same
//! workflow id (or field) twice must be rejected instead, so objects here are `Vec`s of entries.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// A parsed JSON value; objects keep every entry, in file order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<Node>),
    Object(Vec<(String, Node)>),
}

impl Node {
    /// The JSON type with an article, for messages (`an object`, `a string`, ...).
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Node::Null => "null",
            Node::Bool(_) => "a boolean",
            Node::Number(_) => "a number",
            Node::String(_) => "a string",
            Node::Array(_) => "an array",
            Node::Object(_) => "an object",
        }
    }

    /// Type and value for messages, e.g. `the string "3001"`, `the number 3001.0`. Long strings
    /// are shortened. Never use this for secrets.
    pub(crate) fn describe(&self) -> String {
        const MAX: usize = 60;
        match self {
            Node::Bool(b) => format!("the boolean {b}"),
            Node::Number(n) => format!("the number {n}"),
            // Mask URL credentials before shortening: a cut could drop the `@` that marks them.
            Node::String(s) => {
                let s = super::redact::redact_userinfo(s);
                if s.chars().count() > MAX {
                    let short: String = s.chars().take(MAX).collect();
                    format!("the string {short:?}...")
                } else {
                    format!("the string {s:?}")
                }
            }
            other => other.kind().to_string(),
        }
    }
}

/// Counts how often each key occurs, in order of first appearance; only keys seen twice or more.
pub(crate) fn repeated_keys<T>(entries: &[(String, T)]) -> Vec<(&str, usize)> {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for (key, _) in entries {
        match counts.iter_mut().find(|(k, _)| *k == key.as_str()) {
            Some((_, n)) => *n += 1,
            None => counts.push((key.as_str(), 1)),
        }
    }
    counts.retain(|(_, n)| *n > 1);
    counts
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Number(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        serde_json::Number::from_f64(v)
            .map(Node::Number)
            .ok_or_else(|| E::custom("number is not finite"))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(Node::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
        Ok(Node::String(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, Node>()? {
            entries.push((key, value));
        }
        Ok(Node::Object(entries))
    }
}
