//! An incremental Server-Sent Events parser (the `text/event-stream` format of the WHATWG HTML
//! standard), as used by OpenAI-compatible streams.
//!
//! Bytes are fed as they arrive, split anywhere (even inside a line terminator or a multi-byte
//! UTF-8 character). Lines end with `\r\n`, `\n` or `\r`; lines starting with `:` are comments;
//! `data:` lines of one event are joined with `\n`; one space after the colon is dropped; a blank
//! line dispatches the event. Only the unfinished line and the current event's data are
//! buffered, so memory is bounded by the largest event, not by the stream's length.

/// Buffers above this capacity are shrunk back after an event, so that one huge event does not
/// pin its memory for the rest of a long stream.
const KEEP_CAPACITY: usize = 64 * 1024;

/// One dispatched event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SseEvent<'a> {
    /// The `event:` field, `None` when absent or empty (the default `message` type).
    pub event: Option<&'a str>,
    /// The `data:` lines, joined with `\n`.
    pub data: &'a str,
}

/// Incremental SSE parser. See the [module docs](self).
#[derive(Debug, Default)]
pub struct SseParser {
    /// Bytes of the line not yet terminated.
    line: Vec<u8>,
    /// The current event's data, each `data:` line followed by `\n`.
    data: String,
    /// The current event's `event:` field.
    event: String,
    /// Whether at least one `data` field was seen for the current event.
    has_data: bool,
    /// The previous chunk ended with `\r`: a leading `\n` of the next chunk belongs to it.
    pending_cr: bool,
    /// Whether the first line has been started (for stripping a leading BOM).
    started: bool,
}

impl SseParser {
    /// A parser at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next bytes of the stream, calling `on_event` for every event they complete.
    pub fn feed<F: FnMut(SseEvent<'_>)>(&mut self, mut bytes: &[u8], mut on_event: F) {
        if self.pending_cr && !bytes.is_empty() {
            self.pending_cr = false;
            if let Some(rest) = bytes.strip_prefix(b"\n") {
                bytes = rest;
            }
        }
        while let Some(pos) = bytes.iter().position(|&b| b == b'\n' || b == b'\r') {
            let (line, rest) = bytes.split_at(pos);
            let is_cr = rest.first() == Some(&b'\r');
            bytes = &rest[1..];
            if is_cr {
                match bytes.first() {
                    Some(b'\n') => bytes = &bytes[1..],
                    Some(_) => {}
                    None => self.pending_cr = true,
                }
            }
            if self.line.is_empty() {
                self.process_line(line, &mut on_event);
            } else {
                let mut full = std::mem::take(&mut self.line);
                full.extend_from_slice(line);
                self.process_line(&full, &mut on_event);
                full.clear();
                if full.capacity() > KEEP_CAPACITY {
                    full.shrink_to(KEEP_CAPACITY);
                }
                self.line = full;
            }
        }
        self.line.extend_from_slice(bytes);
    }

    /// Ends the stream: an unterminated last line is taken as a line, and a pending event is
    /// dispatched even without its blank line (lenient: some servers omit the last one).
    pub fn finish<F: FnMut(SseEvent<'_>)>(&mut self, mut on_event: F) {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.process_line(&line, &mut on_event);
        }
        self.dispatch(&mut on_event);
        self.pending_cr = false;
    }

    /// Handles one complete line (without its terminator).
    fn process_line<F: FnMut(SseEvent<'_>)>(&mut self, mut line: &[u8], on_event: &mut F) {
        if !self.started {
            self.started = true;
            if let Some(rest) = line.strip_prefix("\u{feff}".as_bytes()) {
                line = rest;
            }
        }
        if line.is_empty() {
            self.dispatch(on_event);
            return;
        }
        if line[0] == b':' {
            return;
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        match field {
            b"data" => {
                self.has_data = true;
                self.data.push_str(&String::from_utf8_lossy(value));
                self.data.push('\n');
            }
            b"event" => {
                self.event.clear();
                self.event.push_str(&String::from_utf8_lossy(value));
            }
            // `id`, `retry` and unknown fields do not matter for capturing an answer.
            _ => {}
        }
    }

    /// Dispatches the pending event, if it has data, and resets the event state.
    fn dispatch<F: FnMut(SseEvent<'_>)>(&mut self, on_event: &mut F) {
        if self.has_data {
            let data = self.data.strip_suffix('\n').unwrap_or(&self.data);
            let event = (!self.event.is_empty()).then_some(self.event.as_str());
            on_event(SseEvent { event, data });
        }
        self.has_data = false;
        self.data.clear();
        if self.data.capacity() > KEEP_CAPACITY {
            self.data.shrink_to(KEEP_CAPACITY);
        }
        self.event.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (event, data) pairs, owned.
    type Events = Vec<(Option<String>, String)>;

    fn collect(chunks: &[&[u8]]) -> Events {
        let mut parser = SseParser::new();
        let mut out = Vec::new();
        let mut push = |e: SseEvent<'_>| out.push((e.event.map(str::to_owned), e.data.to_owned()));
        for chunk in chunks {
            parser.feed(chunk, &mut push);
        }
        parser.finish(&mut push);
        out
    }

    fn whole(input: &str) -> Events {
        collect(&[input.as_bytes()])
    }

    fn ev(data: &str) -> (Option<String>, String) {
        (None, data.to_owned())
    }

    #[test]
    fn lf_lines() {
        assert_eq!(whole("data: a\n\ndata: b\n\n"), vec![ev("a"), ev("b")]);
    }

    #[test]
    fn crlf_lines() {
        assert_eq!(
            whole("data: a\r\n\r\ndata: b\r\n\r\n"),
            vec![ev("a"), ev("b")]
        );
    }

    #[test]
    fn cr_lines() {
        assert_eq!(whole("data: a\r\rdata: b\r\r"), vec![ev("a"), ev("b")]);
    }

    #[test]
    fn mixed_line_ends() {
        assert_eq!(
            whole("data: a\r\n\ndata: b\r\rdata: c\n\r\n"),
            vec![ev("a"), ev("b"), ev("c")]
        );
    }

    #[test]
    fn comments_are_ignored() {
        assert_eq!(
            whole(": keep-alive\n\n: OPENROUTER PROCESSING\ndata: x\n\n"),
            vec![ev("x")]
        );
    }

    #[test]
    fn multi_line_data_joined_with_lf() {
        assert_eq!(
            whole("data: one\ndata:two\ndata:  three\n\n"),
            vec![ev("one\ntwo\n three")]
        );
    }

    #[test]
    fn event_field_and_reset() {
        assert_eq!(
            whole("event: error\ndata: {}\n\ndata: next\n\n"),
            vec![(Some("error".to_owned()), "{}".to_owned()), ev("next")]
        );
    }

    #[test]
    fn empty_data_is_an_event_and_no_data_is_not() {
        assert_eq!(whole("data\n\nevent: x\n\nid: 3\n\n"), vec![ev("")]);
    }

    #[test]
    fn colon_in_value_kept() {
        assert_eq!(
            whole("data: {\"a\":\"b: c\"}\n\n"),
            vec![ev("{\"a\":\"b: c\"}")]
        );
    }

    #[test]
    fn bom_stripped_once() {
        assert_eq!(whole("\u{feff}data: a\n\n"), vec![ev("a")]);
    }

    #[test]
    fn unterminated_last_event_flushed_at_finish() {
        assert_eq!(
            whole("data: a\n\ndata: [DONE]"),
            vec![ev("a"), ev("[DONE]")]
        );
        assert_eq!(
            whole("data: a\n\ndata: [DONE]\n"),
            vec![ev("a"), ev("[DONE]")]
        );
    }

    #[test]
    fn split_at_every_byte_boundary() {
        let input =
            "\u{feff}: hi\r\nevent: message\r\ndata: h\u{e9}llo \u{1f600}\r\ndata:x\r\n\r\n\
                     data: b\r\rdata: c\n\ndata: d\r\n\r\n:c\rdata: [DONE]\n\n";
        let expected = whole(input);
        assert_eq!(expected.len(), 5);
        let bytes = input.as_bytes();
        for cut in 0..=bytes.len() {
            let (a, b) = bytes.split_at(cut);
            assert_eq!(collect(&[a, b]), expected, "cut at {cut}");
        }
        for cut1 in 0..=bytes.len() {
            for cut2 in cut1..=bytes.len() {
                let parts = [&bytes[..cut1], &bytes[cut1..cut2], &bytes[cut2..]];
                assert_eq!(collect(&parts), expected, "cuts at {cut1},{cut2}");
            }
        }
        let singles: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(collect(&singles), expected);
    }

    #[test]
    fn cr_at_chunk_end_then_lf() {
        assert_eq!(collect(&[b"data: a\r", b"\n\r", b"\n"]), vec![ev("a")]);
        assert_eq!(
            collect(&[b"data: a\r", b"", b"\n\r", b"", b"\n"]),
            vec![ev("a")]
        );
        // A lone CR at a chunk end followed by a new line's text.
        assert_eq!(
            collect(&[b"data: a\r", b"\r", b"data: b\r\r"]),
            vec![ev("a"), ev("b")]
        );
    }

    #[test]
    fn buffers_stay_bounded() {
        let mut parser = SseParser::new();
        let big = format!("data: {}\n\n", "x".repeat(1 << 20));
        let mut n = 0;
        parser.feed(big.as_bytes(), |_| n += 1);
        for _ in 0..1000 {
            parser.feed(b"data: small\n\n", |_| n += 1);
        }
        assert_eq!(n, 1001);
        assert!(parser.line.capacity() <= KEEP_CAPACITY);
        assert!(parser.data.capacity() <= KEEP_CAPACITY);
    }
}
