//! An incremental Server-Sent Events parser (the `text/event-stream` format of the WHATWG HTML
//! standard), as used by OpenAI-compatible streams.
//!
//! Bytes are fed as they arrive, split anywhere (even inside a line terminator or a multi-byte
//! UTF-8 character). Lines end with `\r\n`, `\n` or `\r`; lines starting with `:` are comments;
//! `data:` lines of one event are joined with `\n`; one space after the colon is dropped; a blank
//! line dispatches the event. Only the unfinished line and the current event's data are
//! buffered, so memory is bounded by the largest event, not by the stream's length.
//!
//! With a limit ([`SseParser::with_limit`]), a line or an event's data that grows past it
//! stops the parser for good ([`SseParser::overflowed`]): its buffers are freed and every later
//! byte is ignored, so a hostile stream (a line without a newline, `data:` lines without a
//! blank line) cannot make it hold more than the limit.

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
    /// The largest line or event data buffered, in bytes (`None`: no limit).
    limit: Option<usize>,
    /// A line or an event went past `limit`: the parser stopped and holds nothing.
    overflowed: bool,
}

impl SseParser {
    /// A parser at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// A parser that stops (see [`overflowed`](Self::overflowed)) once a line or an event's
    /// data is larger than `limit` bytes.
    pub fn with_limit(limit: usize) -> Self {
        SseParser {
            limit: Some(limit),
            ..SseParser::default()
        }
    }

    /// Whether a line or an event went past the limit: the parser holds nothing and ignores
    /// everything from then on.
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// Whether `len` more bytes on top of `held` go past the limit.
    fn over(&self, held: usize, len: usize) -> bool {
        self.limit
            .is_some_and(|limit| held.saturating_add(len) > limit)
    }

    /// Stops the parser and frees its buffers.
    fn overflow(&mut self) {
        self.overflowed = true;
        self.line = Vec::new();
        self.data = String::new();
        self.event = String::new();
        self.has_data = false;
    }

    /// Feeds the next bytes of the stream, calling `on_event` for every event they complete.
    pub fn feed<F: FnMut(SseEvent<'_>)>(&mut self, mut bytes: &[u8], mut on_event: F) {
        if self.overflowed {
            return;
        }
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
            if self.over(self.line.len(), line.len()) {
                return self.overflow();
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
            if self.overflowed {
                // Frees the line buffer put back above too.
                return self.overflow();
            }
        }
        if self.over(self.line.len(), bytes.len()) {
            return self.overflow();
        }
        self.line.extend_from_slice(bytes);
    }

    /// Ends the stream: an unterminated last line is taken as a line, and a pending event is
    /// dispatched even without its blank line (lenient: some servers omit the last one).
    pub fn finish<F: FnMut(SseEvent<'_>)>(&mut self, mut on_event: F) {
        if self.overflowed {
            return;
        }
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
                if self.over(self.data.len(), value.len() + 1) {
                    return self.overflow();
                }
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
mod tests;
