//! One record line (§4), parsed: the shape checks that `validate` reports and `export` skips
//! on, typed accessors, and the content hashes behind `--dedupe` and `--split`.
//!
//! Required: `messages` (a non-empty array of objects with a string `role`, the last one the
//! assistant's), `timestamp` (RFC 3339), `endpoint` (one of the four recorded), `model`,
//! `workflow_id` — the seed's five keys, so records of its first version still pass. The later
//! keys (`client`, `tools`, `finish_reason`, `usage`, `stream`, `latency_ms`, `request_id`, `params`,
//! `previous_response_id`, `partial`, `rebuildable`) are optional,
//! but must have their type when present. Unknown keys are allowed. The request's messages are
//! kept as the client sent them and only need a `role`; the recorded answer (the last message)
//! must have the normalised shape.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use xxhash_rust::xxh3::Xxh3Default;

use crate::record::EndpointKind;

/// A record line that passed the shape checks.
#[derive(Debug, Clone)]
pub struct Record {
    map: Map<String, Value>,
    timestamp: DateTime<Utc>,
}

/// The content hashes of a record (XXH3-128 over a canonical form: object keys sorted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hashes {
    /// `messages` without the answer, plus `tools`: the choices of one request (n > 1) and
    /// repeats of one prompt share it.
    pub prompt: u128,
    /// All of `messages` plus `tools`: identical conversations share it.
    pub conversation: u128,
}

impl Record {
    /// Parses and checks one line (without its newline); the error lists every problem.
    pub fn parse(line: &[u8]) -> Result<Record, String> {
        let (record, problems) = Record::check(line);
        match record {
            Some(record) if problems.is_empty() => Ok(record),
            _ => Err(problems.join("; ")),
        }
    }

    /// Parses and checks one line, returning every problem found (and the record when it is
    /// at least a JSON object with a valid timestamp).
    pub fn check(line: &[u8]) -> (Option<Record>, Vec<String>) {
        if line.iter().all(u8::is_ascii_whitespace) {
            return (None, vec!["empty line".to_owned()]);
        }
        let map = match serde_json::from_slice::<Value>(line) {
            Ok(Value::Object(map)) => map,
            Ok(_) => return (None, vec!["not a JSON object".to_owned()]),
            Err(e) => return (None, vec![format!("not valid JSON ({e})")]),
        };
        let mut problems = Vec::new();
        check_messages(&map, &mut problems);
        let timestamp = match map.get("timestamp") {
            None => {
                problems.push("missing \"timestamp\"".to_owned());
                None
            }
            Some(Value::String(s)) => match DateTime::parse_from_rfc3339(s) {
                Ok(t) => Some(t.with_timezone(&Utc)),
                Err(_) => {
                    problems.push(format!("\"timestamp\" {s:?} is not an RFC 3339 time"));
                    None
                }
            },
            Some(_) => {
                problems.push("\"timestamp\" is not a string".to_owned());
                None
            }
        };
        match map.get("endpoint") {
            None => problems.push("missing \"endpoint\"".to_owned()),
            Some(Value::String(s)) if EndpointKind::from_path(s).is_some() => {}
            Some(other) => {
                problems.push(format!("\"endpoint\" {other} is not a recorded endpoint"))
            }
        }
        for key in ["model", "workflow_id"] {
            match map.get(key) {
                None => problems.push(format!("missing \"{key}\"")),
                Some(Value::String(_)) => {}
                Some(_) => problems.push(format!("\"{key}\" is not a string")),
            }
        }
        check_optional(&map, &mut problems);
        let record = timestamp.map(|timestamp| Record { map, timestamp });
        (record, problems)
    }

    /// The whole line as a JSON object, keys in recorded order.
    pub fn map(&self) -> &Map<String, Value> {
        &self.map
    }

    /// `messages` (checked non-empty).
    pub fn messages(&self) -> &[Value] {
        match self.map.get("messages") {
            Some(Value::Array(messages)) => messages,
            _ => &[],
        }
    }

    /// `tools`, when present and not null.
    pub fn tools(&self) -> Option<&Value> {
        self.map.get("tools").filter(|t| !t.is_null())
    }

    /// When the answer completed.
    pub fn timestamp(&self) -> DateTime<Utc> {
        self.timestamp
    }

    /// `model`.
    pub fn model(&self) -> &str {
        self.str_field("model").unwrap_or("")
    }

    /// `workflow_id`.
    pub fn workflow_id(&self) -> &str {
        self.str_field("workflow_id").unwrap_or("")
    }

    /// `endpoint`.
    pub fn endpoint(&self) -> &str {
        self.str_field("endpoint").unwrap_or("")
    }

    /// `finish_reason`; `None` when null or missing.
    pub fn finish_reason(&self) -> Option<&str> {
        self.str_field("finish_reason")
    }

    /// `request_id`, when present.
    pub fn request_id(&self) -> Option<&str> {
        self.str_field("request_id")
    }

    /// `partial` (false when missing): part of the conversation was not captured.
    pub fn partial(&self) -> bool {
        self.map
            .get("partial")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// `params`, when present: the request's other top-level members, in request order.
    pub fn params(&self) -> Option<&Map<String, Value>> {
        self.map.get("params").and_then(Value::as_object)
    }

    /// `stream` (false when missing).
    pub fn stream(&self) -> bool {
        self.map
            .get("stream")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// `usage` as recorded, when present and not null.
    pub fn usage(&self) -> Option<&Value> {
        self.map.get("usage").filter(|u| !u.is_null())
    }

    /// `usage.<key>` as a count, when reported.
    pub fn usage_tokens(&self, key: &str) -> Option<u64> {
        self.map.get("usage")?.get(key)?.as_u64()
    }

    /// The answer (the last message) has tool calls.
    pub fn answer_has_tool_calls(&self) -> bool {
        self.messages()
            .last()
            .and_then(|m| m.get("tool_calls"))
            .and_then(Value::as_array)
            .is_some_and(|calls| !calls.is_empty())
    }

    /// The content hashes (see [`Hashes`]).
    pub fn hashes(&self) -> Hashes {
        let messages = self.messages();
        let (answer, prompt) = match messages.split_last() {
            Some((answer, prompt)) => (Some(answer), prompt),
            None => (None, messages),
        };
        let mut hasher = Xxh3Default::new();
        hasher.update(&(prompt.len() as u64).to_le_bytes());
        for message in prompt {
            feed(&mut hasher, message);
        }
        match self.tools() {
            Some(tools) => {
                hasher.update(b"T");
                feed(&mut hasher, tools);
            }
            None => hasher.update(b"-"),
        }
        let prompt_hash = hasher.digest128();
        if let Some(answer) = answer {
            hasher.update(b"A");
            feed(&mut hasher, answer);
        }
        Hashes {
            prompt: prompt_hash,
            conversation: hasher.digest128(),
        }
    }

    fn str_field(&self, key: &str) -> Option<&str> {
        self.map.get(key).and_then(Value::as_str)
    }
}

fn check_messages(map: &Map<String, Value>, problems: &mut Vec<String>) {
    let messages = match map.get("messages") {
        None => return problems.push("missing \"messages\"".to_owned()),
        Some(Value::Array(m)) if m.is_empty() => {
            return problems.push("\"messages\" is empty".to_owned())
        }
        Some(Value::Array(m)) => m,
        Some(_) => return problems.push("\"messages\" is not an array".to_owned()),
    };
    for (i, message) in messages.iter().enumerate() {
        match message.get("role") {
            _ if !message.is_object() => problems.push(format!("messages[{i}] is not an object")),
            Some(Value::String(_)) => {}
            _ => problems.push(format!("messages[{i}] has no string \"role\"")),
        }
    }
    let last = messages.len() - 1;
    let Some(answer) = messages[last].as_object() else {
        return;
    };
    if answer.get("role").and_then(Value::as_str) != Some("assistant") {
        problems.push(format!(
            "messages[{last}] (the answer) is not the assistant's"
        ));
    }
    match answer.get("content") {
        None => problems.push(format!("messages[{last}] (the answer) has no \"content\"")),
        Some(Value::String(_) | Value::Null | Value::Array(_)) => {}
        Some(_) => problems.push(format!(
            "messages[{last}].content is not a string, an array or null"
        )),
    }
    match answer.get("tool_calls") {
        None => {}
        Some(Value::Array(calls)) => {
            for (j, call) in calls.iter().enumerate() {
                let function = call.get("function");
                let ok = call.get("id").is_some_and(Value::is_string)
                    && call.get("type").is_some_and(Value::is_string)
                    && function
                        .and_then(|f| f.get("name"))
                        .is_some_and(Value::is_string)
                    && function
                        .and_then(|f| f.get("arguments"))
                        .is_some_and(Value::is_string);
                if !ok {
                    problems.push(format!(
                        "messages[{last}].tool_calls[{j}] is not {{\"id\",\"type\",\"function\":{{\"name\",\"arguments\"}}}} with strings"
                    ));
                }
            }
        }
        Some(_) => problems.push(format!("messages[{last}].tool_calls is not an array")),
    }
}

/// An optional key, what it must be, and the test.
type OptionalCheck = (&'static str, &'static str, fn(&Value) -> bool);

fn check_optional(map: &Map<String, Value>, problems: &mut Vec<String>) {
    let checks: [OptionalCheck; 11] = [
        ("client", "a string", Value::is_string),
        ("tools", "an array", Value::is_array),
        ("finish_reason", "a string or null", |v| {
            v.is_string() || v.is_null()
        }),
        ("usage", "an object", Value::is_object),
        ("stream", "a boolean", Value::is_boolean),
        ("latency_ms", "a non-negative integer", Value::is_u64),
        ("request_id", "a string", Value::is_string),
        ("params", "an object", Value::is_object),
        ("previous_response_id", "a string", Value::is_string),
        ("partial", "a boolean", Value::is_boolean),
        ("rebuildable", "a boolean", Value::is_boolean),
    ];
    for (key, what, ok) in checks {
        if let Some(value) = map.get(key) {
            if !ok(value) {
                problems.push(format!("\"{key}\" is not {what}"));
            }
        }
    }
}

/// Feeds a canonical encoding of `value` (type-tagged, lengths prefixed, object keys sorted).
fn feed(hasher: &mut Xxh3Default, value: &Value) {
    fn text(hasher: &mut Xxh3Default, s: &str) {
        hasher.update(&(s.len() as u64).to_le_bytes());
        hasher.update(s.as_bytes());
    }
    match value {
        Value::Null => hasher.update(b"n"),
        Value::Bool(true) => hasher.update(b"t"),
        Value::Bool(false) => hasher.update(b"f"),
        Value::Number(n) => {
            hasher.update(b"#");
            text(hasher, &n.to_string());
        }
        Value::String(s) => {
            hasher.update(b"s");
            text(hasher, s);
        }
        Value::Array(items) => {
            hasher.update(b"[");
            hasher.update(&(items.len() as u64).to_le_bytes());
            for item in items {
                feed(hasher, item);
            }
        }
        Value::Object(map) => {
            hasher.update(b"{");
            hasher.update(&(map.len() as u64).to_le_bytes());
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            for (key, item) in entries {
                text(hasher, key);
                feed(hasher, item);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}],"timestamp":"2025-08-24T10:30:00.000Z","endpoint":"/v1/chat/completions","model":"m","workflow_id":"w","finish_reason":"stop","stream":false,"latency_ms":3}"#;

    #[test]
    fn good_line_parses() {
        let record = Record::parse(GOOD.as_bytes()).unwrap();
        assert_eq!(record.model(), "m");
        assert_eq!(record.finish_reason(), Some("stop"));
        assert!(!record.answer_has_tool_calls());
    }

    #[test]
    fn problems_are_all_listed() {
        let (_, problems) = Record::check(
            br#"{"messages":[],"timestamp":"yesterday","endpoint":"/x","stream":"no"}"#,
        );
        assert_eq!(
            problems,
            vec![
                "\"messages\" is empty",
                "\"timestamp\" \"yesterday\" is not an RFC 3339 time",
                "\"endpoint\" \"/x\" is not a recorded endpoint",
                "missing \"model\"",
                "missing \"workflow_id\"",
                "\"stream\" is not a boolean",
            ]
        );
        assert_eq!(Record::check(b"  ").1, vec!["empty line"]);
        assert!(Record::check(b"[1]").1[0].contains("not a JSON object"));
        assert!(Record::check(b"{\"a\":").1[0].starts_with("not valid JSON"));
    }

    #[test]
    fn hashes_ignore_key_order_and_metadata() {
        let a = Record::parse(GOOD.as_bytes()).unwrap();
        let reordered = GOOD
            .replace(
                r#"{"role":"user","content":"hi"}"#,
                r#"{"content":"hi","role":"user"}"#,
            )
            .replace("\"model\":\"m\"", "\"model\":\"other\"");
        let b = Record::parse(reordered.as_bytes()).unwrap();
        assert_eq!(a.hashes(), b.hashes());
        let answer = GOOD.replace("hello", "hey");
        let c = Record::parse(answer.as_bytes()).unwrap();
        assert_eq!(a.hashes().prompt, c.hashes().prompt);
        assert_ne!(a.hashes().conversation, c.hashes().conversation);
    }
}
