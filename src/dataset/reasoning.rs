//! `--reasoning keep|drop`: an assistant message's reasoning, recorded as `reasoning_content`
//! or `reasoning` (the upstream's own name), written as `reasoning_content` or not at all.
//!
//! Defaults ([`Reasoning::default_for`]): `keep` for `chatml` (the record as captured) and
//! `hf`, `drop` for `openai` (its format has
//! no such field) and `sharegpt` (LLaMA-Factory's ShareGPT has no reasoning column; `keep`
//! writes it inside the `gpt` value as `<think>\n...\n</think>\n\n`, as its reasoning
//! templates read it).

use serde_json::{Map, Value};

use super::format_kind::Reasoning;

/// The reasoning text of a message: `reasoning_content`, else `reasoning`, when a string.
pub fn reasoning_text(message: &Value) -> Option<&str> {
    ["reasoning_content", "reasoning"]
        .into_iter()
        .find_map(|key| message.get(key).and_then(Value::as_str))
}

/// A `chatml` record line with its assistant messages' reasoning normalised as `reasoning`
/// asks, or `None` when the line as captured already is (the common case: it is then copied
/// byte for byte). `keep`: a string `reasoning` becomes `reasoning_content` at its place
/// (and is removed when `reasoning_content` is also there); `drop`: both are removed.
pub fn chatml_line(raw: &[u8], reasoning: Reasoning) -> Result<Option<Vec<u8>>, String> {
    let needs = |m: &Map<String, Value>| match reasoning {
        Reasoning::Keep => m.get("reasoning").is_some_and(Value::is_string),
        Reasoning::Drop => m.contains_key("reasoning") || m.contains_key("reasoning_content"),
    };
    // A cheap look at the bytes first: most lines carry no reasoning at all.
    if !raw.windows(11).any(|w| w == b"\"reasoning\"")
        && !raw.windows(19).any(|w| w == b"\"reasoning_content\"")
    {
        return Ok(None);
    }
    let mut line: Value = serde_json::from_slice(raw).map_err(|e| e.to_string())?;
    let Some(Value::Array(messages)) = line.get_mut("messages") else {
        return Ok(None);
    };
    let mut changed = false;
    for message in messages.iter_mut() {
        let Value::Object(map) = message else {
            continue;
        };
        if map.get("role").and_then(Value::as_str) != Some("assistant") || !needs(map) {
            continue;
        }
        changed = true;
        *map = normalise(std::mem::take(map), reasoning);
    }
    if !changed {
        return Ok(None);
    }
    serde_json::to_vec(&line)
        .map(Some)
        .map_err(|e| e.to_string())
}

fn normalise(map: Map<String, Value>, reasoning: Reasoning) -> Map<String, Value> {
    let has_content = map.get("reasoning_content").is_some_and(Value::is_string);
    let mut out = Map::with_capacity(map.len());
    for (key, value) in map {
        match (key.as_str(), reasoning) {
            ("reasoning" | "reasoning_content", Reasoning::Drop) => {}
            ("reasoning", Reasoning::Keep) if has_content => {}
            ("reasoning", Reasoning::Keep) if value.is_string() => {
                out.insert("reasoning_content".to_owned(), value);
            }
            _ => {
                out.insert(key, value);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_renames_in_place_and_drop_removes() {
        let raw = br#"{"messages":[{"role":"user","content":"q","reasoning":"not mine"},{"role":"assistant","content":"a","reasoning":"r","z":1}],"timestamp":"t"}"#;
        let kept = chatml_line(raw, Reasoning::Keep).unwrap().unwrap();
        assert_eq!(
            String::from_utf8(kept).unwrap(),
            r#"{"messages":[{"role":"user","content":"q","reasoning":"not mine"},{"role":"assistant","content":"a","reasoning_content":"r","z":1}],"timestamp":"t"}"#
        );
        let dropped = chatml_line(raw, Reasoning::Drop).unwrap().unwrap();
        assert_eq!(
            String::from_utf8(dropped).unwrap(),
            r#"{"messages":[{"role":"user","content":"q","reasoning":"not mine"},{"role":"assistant","content":"a","z":1}],"timestamp":"t"}"#
        );
        let both =
            br#"{"messages":[{"role":"assistant","reasoning_content":"a","reasoning":"b"}]}"#;
        let kept = chatml_line(both, Reasoning::Keep).unwrap().unwrap();
        assert_eq!(
            String::from_utf8(kept).unwrap(),
            r#"{"messages":[{"role":"assistant","reasoning_content":"a"}]}"#
        );
        let plain = br#"{"messages":[{"role":"assistant","content":"a"}]}"#;
        assert_eq!(chatml_line(plain, Reasoning::Keep).unwrap(), None);
        assert_eq!(chatml_line(plain, Reasoning::Drop).unwrap(), None);
        let normal =
            br#"{"messages":[{"role":"assistant","content":"a","reasoning_content":"r"}]}"#;
        assert_eq!(chatml_line(normal, Reasoning::Keep).unwrap(), None);
    }
}
