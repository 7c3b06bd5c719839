//! Tests of the SSE parser.

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
    let input = "\u{feff}: hi\r\nevent: message\r\ndata: h\u{e9}llo \u{1f600}\r\ndata:x\r\n\r\n\
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
fn a_line_without_newline_over_the_limit_stops_the_parser() {
    let mut parser = SseParser::with_limit(1024);
    let mut n = 0;
    parser.feed(b"data: a\n\n", |_| n += 1);
    for _ in 0..100 {
        parser.feed(&[b'x'; 100], |_| n += 1);
    }
    assert!(parser.overflowed());
    assert_eq!(parser.line.capacity(), 0);
    parser.feed(b"\n\ndata: b\n\n", |_| n += 1);
    parser.finish(|_| n += 1);
    assert_eq!(n, 1, "nothing after the overflow is parsed");
}

#[test]
fn a_long_line_inside_one_chunk_stops_the_parser() {
    let mut parser = SseParser::with_limit(1024);
    let big = format!("data: {}\n\n", "x".repeat(2000));
    let mut n = 0;
    parser.feed(big.as_bytes(), |_| n += 1);
    assert!(parser.overflowed());
    assert_eq!(n, 0);
}

#[test]
fn data_lines_without_a_blank_line_stop_the_parser() {
    let mut parser = SseParser::with_limit(1024);
    let mut n = 0;
    for _ in 0..200 {
        parser.feed(b"data: 0123456789\n", |_| n += 1);
    }
    assert!(parser.overflowed());
    assert_eq!(parser.data.capacity(), 0);
    assert_eq!(n, 0);
}

#[test]
fn events_up_to_the_limit_pass() {
    // The line is 21 bytes, its data 15 plus a `\n`: both at most the limit.
    let mut parser = SseParser::with_limit(21);
    let mut out = Vec::new();
    parser.feed(b"data: 0123456789abcde\n\n", |e| {
        out.push(e.data.to_owned())
    });
    assert!(!parser.overflowed());
    assert_eq!(out, vec!["0123456789abcde"]);
    let mut parser = SseParser::with_limit(20);
    parser.feed(b"data: 0123456789abcde\n\n", |e| {
        out.push(e.data.to_owned())
    });
    assert!(parser.overflowed());
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
