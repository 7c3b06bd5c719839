//! `validate --redact-check`: the lines of a data folder in which a built-in `REDACT`
//! detector still finds something (written before `REDACT` was set, or by a workflow
//! without it, or a detector the workflow does not use), reported as
//! `file:line: redact-check: email (2), phone (1)`.
//!
//! The strings looked at are the ones `REDACT` masks: every string value of `messages`,
//! `tools` and `params`. Placeholders (`[EMAIL]`, ...) are never finds.

use serde_json::Value;

use crate::trust::redact::{Counts, Redactor};

/// The record's parts that `REDACT` covers.
const COVERED: [&str; 3] = ["messages", "tools", "params"];

/// What every built-in detector finds in one record line (empty when nothing, or when the
/// line is not a JSON object: `validate` reports that on its own).
pub(crate) fn finds(redactor: &Redactor, line: &[u8]) -> Counts {
    let mut counts = Counts::default();
    let Ok(Value::Object(record)) = serde_json::from_slice::<Value>(line) else {
        return counts;
    };
    for key in COVERED {
        if let Some(value) = record.get(key) {
            scan(redactor, value, &mut counts);
        }
    }
    counts
}

fn scan(redactor: &Redactor, value: &Value, counts: &mut Counts) {
    match value {
        Value::String(text) => redactor.scan(text, counts),
        Value::Array(items) => items.iter().for_each(|v| scan(redactor, v, counts)),
        Value::Object(members) => members.values().for_each(|v| scan(redactor, v, counts)),
        _ => {}
    }
}

/// `email (2), phone (1)`.
pub(crate) fn describe(counts: &Counts) -> String {
    let parts: Vec<String> = counts
        .iter()
        .map(|(name, n)| format!("{name} ({n})"))
        .collect();
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_in_covered_parts_only() {
        let redactor = Redactor::builtins();
        let line = br#"{"messages":[{"role":"user","content":"a@b.example, 10.0.0.1"}],"params":{"user":"c@d.example"},"model":"e@f.example","request_id":"10.0.0.2"}"#;
        assert_eq!(describe(&finds(&redactor, line)), "email (2), ipv4 (1)");
        let masked = br#"{"messages":[{"role":"user","content":"[EMAIL], [IP]"}]}"#;
        assert!(finds(&redactor, masked).is_empty());
        assert!(finds(&redactor, b"not json").is_empty());
    }
}
