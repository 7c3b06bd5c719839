//! Finding the upstream's `id` of an answer in its first bytes, for the
//! `x-micromodel-request-id` header: the top-level `id` of a JSON answer (read as far as that
//! key, not the whole body), or the id in the first event of an SSE stream (`id` for chat and
//! completions, `response.id` of `response.created`, `message.id` of `message_start`).

use serde_json::Value;

/// What the bytes seen so far tell.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Found {
    /// The id.
    Id(String),
    /// It is not there (the first event or the object ended without one, or the bytes are
    /// not what was expected): stop looking.
    Absent,
    /// More bytes are needed.
    More,
}

/// Looks at the first bytes of an SSE stream: the first event (ended by a blank line) is
/// where the id is, or it is absent. A block without `data:` (a `: keep-alive` comment, as
/// some gateways send while the model starts) is no event (the SSE rules dispatch nothing for
/// it) and is looked past.
pub(super) fn in_first_event(buf: &[u8]) -> Found {
    let mut data: Vec<u8> = Vec::new();
    let mut has_data = false;
    let mut rest = buf;
    loop {
        // One complete line (ended by CRLF, LF or CR), or wait for more.
        let Some(end) = rest.iter().position(|&b| b == b'\n' || b == b'\r') else {
            return Found::More;
        };
        let line = &rest[..end];
        if line.is_empty() && has_data {
            // A blank line ends the event, whatever ends the blank line itself.
            return id_of_event(&data);
        }
        let skip = if rest[end] == b'\r' {
            match rest.get(end + 1) {
                Some(b'\n') => 2,
                Some(_) => 1,
                // A CR at the end of what was seen may be the start of a CRLF.
                None => return Found::More,
            }
        } else {
            1
        };
        rest = &rest[end + skip..];
        if line.is_empty() {
            continue;
        }
        if let Some(value) = line.strip_prefix(b"data:") {
            let value = value.strip_prefix(b" ").unwrap_or(value);
            if has_data {
                data.push(b'\n');
            }
            has_data = true;
            data.extend_from_slice(value);
        }
    }
}

/// The id in an event's data: `id`, `response.id` or `message.id`.
fn id_of_event(data: &[u8]) -> Found {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return Found::Absent;
    };
    let id = value
        .get("id")
        .or_else(|| value.get("response").and_then(|r| r.get("id")))
        .or_else(|| value.get("message").and_then(|m| m.get("id")));
    match id.and_then(Value::as_str) {
        Some(id) => Found::Id(id.to_owned()),
        None => Found::Absent,
    }
}

/// Looks for the top-level `"id"` string of a JSON object in its first bytes, skipping the
/// values of the keys before it.
pub(super) fn in_json_prefix(buf: &[u8]) -> Found {
    let mut at = skip_ws(buf, 0);
    match buf.get(at) {
        None => return Found::More,
        Some(b'{') => at += 1,
        Some(_) => return Found::Absent,
    }
    loop {
        at = skip_ws(buf, at);
        match buf.get(at) {
            None => return Found::More,
            Some(b'"') => {}
            Some(_) => return Found::Absent,
        }
        let Some(key_end) = string_end(buf, at) else {
            return Found::More;
        };
        let key = &buf[at..key_end];
        at = skip_ws(buf, key_end);
        match buf.get(at) {
            None => return Found::More,
            Some(b':') => at = skip_ws(buf, at + 1),
            Some(_) => return Found::Absent,
        }
        if serde_json::from_slice::<String>(key).is_ok_and(|k| k == "id") {
            return match buf.get(at) {
                None => Found::More,
                Some(b'"') => match string_end(buf, at) {
                    None => Found::More,
                    Some(end) => serde_json::from_slice::<String>(&buf[at..end])
                        .map_or(Found::Absent, Found::Id),
                },
                Some(_) => Found::Absent,
            };
        }
        let Some(end) = value_end(buf, at) else {
            return Found::More;
        };
        at = skip_ws(buf, end);
        match buf.get(at) {
            None => return Found::More,
            Some(b',') => at += 1,
            Some(_) => return Found::Absent,
        }
    }
}

fn skip_ws(buf: &[u8], mut at: usize) -> usize {
    while buf.get(at).is_some_and(|b| b" \t\r\n".contains(b)) {
        at += 1;
    }
    at
}

/// The offset just past the string starting at `buf[at] == '"'`; `None` when it is not
/// complete yet.
fn string_end(buf: &[u8], at: usize) -> Option<usize> {
    let mut i = at + 1;
    while i < buf.len() {
        match buf[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// The offset just past the value starting at `at` (a string, an object or array with
/// everything in it, or a scalar); `None` when it is not complete yet.
fn value_end(buf: &[u8], at: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = at;
    while i < buf.len() {
        match buf[i] {
            b'"' => {
                i = string_end(buf, i)?;
                if depth == 0 {
                    return Some(i);
                }
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n' if depth == 0 => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> Found {
        Found::Id(s.to_owned())
    }

    #[test]
    fn json_top_level_id_in_any_prefix() {
        let body = br#"{"object":"x","nested":{"id":"no","a":[1,{"id":"no"}]},"n":-1.5e3,"ok":true,"s":"a\"}","id":"chatcmpl-\u0031","more":1}"#;
        assert_eq!(in_json_prefix(body), id("chatcmpl-1"));
        let at = body
            .windows(6)
            .position(|w| w == b"\"more\"")
            .expect("more");
        for cut in 0..at {
            let found = in_json_prefix(&body[..cut]);
            assert!(
                found == Found::More || found == id("chatcmpl-1"),
                "cut {cut}: {found:?}"
            );
        }
        assert_eq!(in_json_prefix(br#" {"id": "first", "x": 1}"#), id("first"));
        assert_eq!(in_json_prefix(br#"{"a":1}"#), Found::Absent);
        assert_eq!(in_json_prefix(br#"{"id":7}"#), Found::Absent);
        assert_eq!(in_json_prefix(b"[1]"), Found::Absent);
        assert_eq!(in_json_prefix(b"{}"), Found::Absent);
    }

    #[test]
    fn first_event_of_each_dialect() {
        assert_eq!(
            in_first_event(b"data: {\"id\":\"chatcmpl-1\",\"choices\":[]}\n\ndata: x"),
            id("chatcmpl-1")
        );
        assert_eq!(
            in_first_event(b"event: response.created\r\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\"}}\r\n\r\n"),
            id("resp_1")
        );
        assert_eq!(
            in_first_event(b"\nevent: message_start\ndata: {\"type\":\"message_start\",\n\n"),
            Found::Absent
        );
        assert_eq!(
            in_first_event(b"event: message_start\ndata: {\"type\":\"message_start\",\ndata: \"message\":{\"id\":\"msg_1\"}}\n\n"),
            id("msg_1")
        );
        assert_eq!(in_first_event(b"data: {\"id\":\"a\"}\n"), Found::More);
        assert_eq!(in_first_event(b"data: {\"id\":\"a\"}\r"), Found::More);
        assert_eq!(in_first_event(b"data: {\"id\":\"a\"}\r\r"), id("a"));
        // Comments and data-less blocks are no event; the first event is the one with data.
        assert_eq!(
            in_first_event(b": keep-alive\n\nevent: ping\n\ndata: {\"id\":\"a\"}\n\n"),
            id("a")
        );
        assert_eq!(in_first_event(b": keep-alive\r\n\r\n"), Found::More);
        assert_eq!(
            in_first_event(b"data: {\"object\":\"x\"}\n\ndata: {\"id\":\"a\"}\n\n"),
            Found::Absent
        );
        assert_eq!(in_first_event(b"data:\n\n"), Found::Absent);
        assert_eq!(in_first_event(b"data: [DONE]\n\n"), Found::Absent);
    }
}
