//! What a record line keeps of the request body, read from its raw members: `params` (the
//! members a record holds nowhere else), minified slices.

use bytes::Bytes;
use serde_json::value::RawValue;

use super::request::{minify_json, RequestView};

/// The top-level members a record does not hold elsewhere: `params` keeps them.
const HELD_ELSEWHERE: [&str; 11] = [
    "model",
    "messages",
    "prompt",
    "input",
    "instructions",
    "system",
    "tools",
    "stream",
    "stream_options",
    "workflow_id",
    "previous_response_id",
];

/// `params`: the request's other top-level members, in request order, values minified (a
/// repeated key is kept once, with its last value, as JSON parsers read it); `None` when
/// there are none.
pub(super) fn params_text(view: &RequestView<'_>) -> Option<String> {
    let members: Vec<(&str, &RawValue)> = view.members().collect();
    let mut out = String::new();
    for (position, (key, value)) in members.iter().enumerate() {
        let repeated_later = members[position + 1..].iter().any(|(k, _)| k == key);
        if HELD_ELSEWHERE.contains(key) || repeated_later {
            continue;
        }
        out.push(if out.is_empty() { '{' } else { ',' });
        out.push_str(&serde_json::to_string(key).expect("a string key serialises"));
        out.push(':');
        minify_json(value.get(), &mut out);
    }
    (!out.is_empty()).then(|| {
        out.push('}');
        out
    })
}

/// A raw slice of the body, minified.
pub(super) fn minified(raw: &Bytes) -> String {
    let text = std::str::from_utf8(raw).expect("slices of a parsed JSON body are UTF-8");
    let mut out = String::with_capacity(text.len());
    minify_json(text, &mut out);
    out
}

/// `text` as a raw JSON value, `None` when it is not JSON.
pub(super) fn raw_value(text: &str) -> Option<&RawValue> {
    serde_json::from_str(text).ok()
}
