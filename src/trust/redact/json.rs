//! Redacting the string values of a JSON text in place: everything else (structure, key
//! order, numbers, the spelling of untouched strings) is copied as it is.
//!
//! A string without a `\` is looked at as it stands in the text (its raw form is its value);
//! one with escapes is decoded first, so escapes cannot hide a find (`a\u0040b.example`,
//! `line\nuser@x.example`). A redacted string is written back JSON-encoded by serde_json.
//! Object keys are not redacted (they name fields; changing one could collide two).

/// `text` with `redact` applied to each string value; `None` when `redact` changed nothing.
/// `text` must be valid JSON (it comes from a parsed body or from serde_json).
pub(super) fn redact_strings(
    text: &str,
    mut redact: impl FnMut(&str) -> Option<String>,
) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'"' {
            i += 1;
            continue;
        }
        let start = i;
        let (end, escaped) = string_end(bytes, start + 1);
        i = end + 1;
        if is_key(bytes, i) {
            continue;
        }
        let raw = &text[start + 1..end];
        let redacted = if escaped {
            match serde_json::from_str::<String>(&text[start..=end]) {
                Ok(decoded) => redact(&decoded),
                // Not reachable for valid JSON; a string that does not decode is kept.
                Err(_) => None,
            }
        } else {
            redact(raw)
        };
        if let Some(new) = redacted {
            let buf = out.get_or_insert_with(|| String::with_capacity(text.len()));
            buf.push_str(&text[copied..start]);
            buf.push_str(&serde_json::to_string(&new).expect("a string serialises"));
            copied = end + 1;
        }
    }
    out.map(|mut buf| {
        buf.push_str(&text[copied..]);
        buf
    })
}

/// The index of the closing `"` of the string whose content starts at `from`, and whether
/// it holds escapes.
fn string_end(bytes: &[u8], from: usize) -> (usize, bool) {
    let mut escaped = false;
    let mut i = from;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => {
                escaped = true;
                i += 2;
            }
            b'"' => return (i, escaped),
            _ => i += 1,
        }
    }
    (bytes.len().saturating_sub(1).max(from), escaped)
}

/// Whether the string that ended before `after` is an object key (a `:` follows).
fn is_key(bytes: &[u8], after: usize) -> bool {
    bytes[after.min(bytes.len())..]
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| b == b':')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upper_x(s: &str) -> Option<String> {
        s.contains('x').then(|| s.replace('x', "X"))
    }

    #[test]
    fn values_change_keys_and_structure_do_not() {
        let text = r#"{"x":"axb","n":1,"l":["x",{"x":"y"}],"k":"none"}"#;
        let out = redact_strings(text, upper_x).unwrap();
        assert_eq!(out, r#"{"x":"aXb","n":1,"l":["X",{"x":"y"}],"k":"none"}"#);
        assert_eq!(redact_strings(r#"{"x":"y"}"#, upper_x), None);
    }

    #[test]
    fn escaped_strings_are_decoded_before_redaction() {
        let seen = std::cell::RefCell::new(Vec::new());
        let text = r#"["a\u0040b","q\"x\\","plain"]"#;
        let out = redact_strings(text, |s| {
            seen.borrow_mut().push(s.to_owned());
            upper_x(s)
        })
        .unwrap();
        assert_eq!(*seen.borrow(), ["a@b", "q\"x\\", "plain"]);
        assert_eq!(out, r#"["a\u0040b","q\"X\\","plain"]"#);
    }

    #[test]
    fn a_key_with_spaces_before_its_colon_is_a_key() {
        let text = "{\"x\" : \"x\"}";
        assert_eq!(redact_strings(text, upper_x).unwrap(), "{\"x\" : \"X\"}");
    }
}
