//! `StreamCapture` on irregular streams: CRLF line ends, comments and no final blank line;
//! malformed events (skipped and counted); data after `[DONE]` (ignored); streams cut before a
//! finish reason, empty streams and `error` events (incomplete, with the upstream's id).

mod stream_capture_support;

use micromodel::record::{EndpointKind, Incomplete, StreamCapture};
use serde_json::json;
use stream_capture_support::{capture, capture_whole, chat_chunk, delta, parsed, plain_chat, sse};

#[test]
fn crlf_comments_and_no_final_blank_line() {
    let (body, stream) = plain_chat();
    let crlf = format!(
        ": OPENROUTER PROCESSING\r\n\r\n{}",
        stream.replace('\n', "\r\n")
    );
    let crlf = crlf.trim_end().to_owned();
    assert_eq!(
        capture_whole(EndpointKind::Chat, &crlf),
        parsed(EndpointKind::Chat, &body)
    );
}

#[test]
fn malformed_events_are_skipped_and_counted() {
    let (body, stream) = plain_chat();
    let noisy = format!("data: {{not json\n\ndata: [1,2]\n\n{stream}");
    let mut capture = StreamCapture::new(EndpointKind::Chat);
    capture.feed(noisy.as_bytes());
    assert_eq!(capture.malformed_events(), 2);
    assert_eq!(capture.upstream_id(), Some("chatcmpl-1"));
    assert_eq!(
        capture.finish().expect("complete"),
        parsed(EndpointKind::Chat, &body)
    );
}

#[test]
fn data_after_done_is_ignored() {
    let (body, stream) = plain_chat();
    let extra = format!(
        "{stream}data: {}\n\n",
        chat_chunk(json!([delta(0, json!({"content":"X"}), None)]))
    );
    assert_eq!(
        capture_whole(EndpointKind::Chat, &extra),
        parsed(EndpointKind::Chat, &body)
    );
}

#[test]
fn cut_stream_has_no_finish_reason() {
    let (_, stream) = plain_chat();
    let cut = &stream[..stream
        .find("\"finish_reason\":\"stop\"")
        .expect("has finish")
        - 10];
    match capture(EndpointKind::Chat, &[cut.as_bytes()]) {
        Err(e @ Incomplete::NoFinishReason { .. }) => {
            assert_eq!(e.upstream_id(), Some("chatcmpl-1"));
            assert!(e.to_string().contains("chatcmpl-1"));
        }
        other => panic!("expected NoFinishReason, got {other:?}"),
    }
}

#[test]
fn one_of_two_choices_unfinished() {
    let stream = sse(&[
        chat_chunk(json!([delta(0, json!({"content":"a"}), Some("stop"))])),
        chat_chunk(json!([delta(1, json!({"content":"b"}), None)])),
    ]);
    assert!(matches!(
        capture(EndpointKind::Chat, &[stream.as_bytes()]),
        Err(Incomplete::NoFinishReason { .. })
    ));
}

#[test]
fn empty_stream_is_incomplete() {
    assert_eq!(
        capture(EndpointKind::Chat, &[]),
        Err(Incomplete::NoFinishReason { id: None })
    );
    assert_eq!(
        capture(EndpointKind::Chat, &[b"data: [DONE]\n\n"]),
        Err(Incomplete::NoFinishReason { id: None })
    );
    assert_eq!(
        capture(EndpointKind::Chat, &[b": keep-alive\n\n"]),
        Err(Incomplete::NoFinishReason { id: None })
    );
}

#[test]
fn error_event_is_upstream_error() {
    let (_, stream) = plain_chat();
    // The first two events (role, then some content), then an error.
    let first_two = stream
        .match_indices("\n\n")
        .nth(1)
        .map_or(0, |(i, _)| i + 2);
    let head = &stream[..first_two];
    assert!(!head.is_empty());
    let cases = [
        format!("{head}event: error\ndata: {{\"error\":{{\"message\":\"overloaded\",\"type\":\"server_error\"}}}}\n\n"),
        format!("{head}data: {{\"error\":{{\"message\":\"overloaded\",\"code\":500}}}}\n\n"),
    ];
    for case in cases {
        match capture(EndpointKind::Chat, &[case.as_bytes()]) {
            Err(Incomplete::UpstreamError { id, message }) => {
                assert_eq!(message, "overloaded");
                assert_eq!(id.as_deref(), Some("chatcmpl-1"));
            }
            other => panic!("expected UpstreamError, got {other:?}"),
        }
    }
    // An error even after every choice finished still wins: the answer is not trusted.
    let after = stream.replace("data: [DONE]", "event: error\ndata: {\"message\":\"x\"}");
    assert!(matches!(
        capture(EndpointKind::Chat, &[after.as_bytes()]),
        Err(Incomplete::UpstreamError { .. })
    ));
}
