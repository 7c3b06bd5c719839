//! Streamed and non-streamed answers of the same content must normalise to equal `Answer`s
//! (§4), whatever the read boundaries of the stream.

use micromodel::record::{
    parse_answer, Answer, EndpointKind, Incomplete, ReasoningKey, StreamCapture,
};
use proptest::prelude::*;
use serde_json::{json, Value};

/// An SSE body from chunk objects, OpenAI style, ending with `data: [DONE]`.
fn sse(chunks: &[Value]) -> String {
    let mut out = String::new();
    for chunk in chunks {
        out.push_str("data: ");
        out.push_str(&chunk.to_string());
        out.push_str("\n\n");
    }
    out.push_str("data: [DONE]\n\n");
    out
}

/// A chat chunk with the given choices.
fn chat_chunk(choices: Value) -> Value {
    json!({"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m",
           "system_fingerprint":"fp","choices":choices})
}

/// One choice delta of a chat chunk.
fn delta(index: u32, delta: Value, finish: Option<&str>) -> Value {
    json!({"index":index,"delta":delta,"logprobs":null,"finish_reason":finish})
}

fn capture(kind: EndpointKind, parts: &[&[u8]]) -> Result<Answer, Incomplete> {
    let mut capture = StreamCapture::new(kind);
    for part in parts {
        capture.feed(part);
    }
    capture.finish()
}

fn capture_whole(kind: EndpointKind, stream: &str) -> Answer {
    let answer = capture(kind, &[stream.as_bytes()]).expect("stream complete");
    assert!(!answer.choices.is_empty());
    answer
}

fn parsed(kind: EndpointKind, body: &Value) -> Answer {
    parse_answer(kind, body.to_string().as_bytes()).expect("body parses")
}

/// Asserts stream ≡ body, also with the stream fed one byte at a time.
fn assert_equivalent(kind: EndpointKind, body: &Value, stream: &str) -> Answer {
    let expected = parsed(kind, body);
    assert_eq!(capture_whole(kind, stream), expected);
    let bytes: Vec<&[u8]> = stream.as_bytes().chunks(1).collect();
    assert_eq!(capture(kind, &bytes).expect("complete"), expected);
    expected
}

fn plain_chat() -> (Value, String) {
    let body = json!({"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"m",
        "choices":[{"index":0,"message":{"role":"assistant","content":"Once upon a time…","refusal":null},
                    "logprobs":null,"finish_reason":"stop"}]});
    let stream = sse(&[
        chat_chunk(json!([delta(
            0,
            json!({"role":"assistant","content":"","refusal":null}),
            None
        )])),
        chat_chunk(json!([delta(0, json!({"content":"Once"}), None)])),
        chat_chunk(json!([delta(0, json!({"content":" upon a"}), None)])),
        chat_chunk(json!([delta(0, json!({"content":" time…"}), None)])),
        chat_chunk(json!([delta(0, json!({}), Some("stop"))])),
    ]);
    (body, stream)
}

#[test]
fn plain_chat_is_equivalent() {
    let (body, stream) = plain_chat();
    let answer = assert_equivalent(EndpointKind::Chat, &body, &stream);
    assert_eq!(answer.id.as_deref(), Some("chatcmpl-1"));
    assert_eq!(
        answer.choices[0].message.content,
        Some(Value::String("Once upon a time…".into()))
    );
}

#[test]
fn tool_call_arguments_split_over_many_deltas() {
    let args = r#"{"location":"Paris, France","unit":"celsius"}"#;
    let body = json!({"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,
        "message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function",
        "function":{"name":"get_weather","arguments":args}}],"refusal":null},"finish_reason":"tool_calls"}]});
    let mut chunks = vec![chat_chunk(json!([delta(
        0,
        json!({"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_1","type":"function",
               "function":{"name":"get_weather","arguments":""}}],"refusal":null}),
        None
    )]))];
    for piece in args.as_bytes().chunks(3) {
        let piece = std::str::from_utf8(piece).expect("ascii");
        chunks.push(chat_chunk(json!([delta(
            0,
            json!({"tool_calls":[{"index":0,"function":{"arguments":piece}}]}),
            None
        )])));
    }
    chunks.push(chat_chunk(json!([delta(0, json!({}), Some("tool_calls"))])));
    let answer = assert_equivalent(EndpointKind::Chat, &body, &sse(&chunks));
    let message = &answer.choices[0].message;
    assert_eq!(message.content, None);
    assert_eq!(message.tool_calls[0].function.arguments, args);
}

#[test]
fn two_parallel_tool_calls_interleaved() {
    let body = json!({"id":"chatcmpl-1","choices":[{"index":0,"message":{"role":"assistant","content":null,
        "tool_calls":[
          {"id":"call_a","type":"function","function":{"name":"f","arguments":"{\"x\":1}"}},
          {"id":"call_b","type":"function","function":{"name":"g","arguments":"{\"y\":2}"}}]},
        "finish_reason":"tool_calls"}]});
    let tc = |index: u32, rest: Value| {
        let mut call = json!({"index":index});
        if let (Some(call), Some(rest)) = (call.as_object_mut(), rest.as_object()) {
            call.extend(rest.clone());
        }
        chat_chunk(json!([delta(0, json!({"tool_calls":[call]}), None)]))
    };
    let stream = sse(&[
        chat_chunk(json!([delta(
            0,
            json!({"role":"assistant","content":""}),
            None
        )])),
        tc(
            0,
            json!({"id":"call_a","type":"function","function":{"name":"f","arguments":""}}),
        ),
        tc(
            1,
            json!({"id":"call_b","type":"function","function":{"name":"g","arguments":"{\"y\""}}),
        ),
        tc(0, json!({"function":{"arguments":"{\"x\""}})),
        tc(1, json!({"function":{"arguments":":2}"}})),
        tc(0, json!({"function":{"arguments":":1}"}})),
        chat_chunk(json!([delta(0, json!({}), Some("tool_calls"))])),
    ]);
    let answer = assert_equivalent(EndpointKind::Chat, &body, &stream);
    assert_eq!(answer.choices[0].message.tool_calls.len(), 2);
    assert_eq!(answer.choices[0].message.content, None);
}

#[test]
fn reasoning_content_is_equivalent() {
    for key in ["reasoning_content", "reasoning"] {
        let body = json!({"id":"chatcmpl-1","choices":[{"index":0,"message":{"role":"assistant",
            "content":"42",key:"Let me think. Six times seven."},"finish_reason":"stop"}]});
        let stream = sse(&[
            chat_chunk(json!([delta(
                0,
                json!({"role":"assistant","content":"",key:""}),
                None
            )])),
            chat_chunk(json!([delta(0, json!({key:"Let me think."}), None)])),
            chat_chunk(json!([delta(
                0,
                json!({key:" Six times seven.","content":null}),
                None
            )])),
            chat_chunk(json!([delta(0, json!({"content":"4"}), None)])),
            chat_chunk(json!([delta(0, json!({"content":"2"}), Some("stop"))])),
        ]);
        let answer = assert_equivalent(EndpointKind::Chat, &body, &stream);
        let expected_key = if key == "reasoning" {
            ReasoningKey::Reasoning
        } else {
            ReasoningKey::ReasoningContent
        };
        assert_eq!(
            answer.choices[0].message.reasoning,
            Some((expected_key, "Let me think. Six times seven.".to_owned()))
        );
        let line = serde_json::to_string(&answer.choices[0].message).expect("serialises");
        assert!(
            line.contains(&format!("\"{key}\":\"Let me think.")),
            "{line}"
        );
    }
}

#[test]
fn refusal_is_equivalent() {
    let body = json!({"id":"chatcmpl-1","choices":[{"index":0,"message":{"role":"assistant",
        "content":null,"refusal":"I'm sorry, I can't help with that."},"finish_reason":"stop"}]});
    let stream = sse(&[
        chat_chunk(json!([delta(
            0,
            json!({"role":"assistant","content":null,"refusal":""}),
            None
        )])),
        chat_chunk(json!([delta(0, json!({"refusal":"I'm sorry,"}), None)])),
        chat_chunk(json!([delta(
            0,
            json!({"refusal":" I can't help with that."}),
            None
        )])),
        chat_chunk(json!([delta(0, json!({}), Some("stop"))])),
    ]);
    let answer = assert_equivalent(EndpointKind::Chat, &body, &stream);
    assert_eq!(answer.choices[0].message.content, None);
}

#[test]
fn two_choices_interleaved() {
    let body = json!({"id":"chatcmpl-1","choices":[
        {"index":0,"message":{"role":"assistant","content":"Hello there"},"finish_reason":"stop"},
        {"index":1,"message":{"role":"assistant","content":"Hi!"},"finish_reason":"length"}]});
    let stream = sse(&[
        chat_chunk(json!([delta(
            1,
            json!({"role":"assistant","content":""}),
            None
        )])),
        chat_chunk(json!([delta(
            0,
            json!({"role":"assistant","content":""}),
            None
        )])),
        chat_chunk(json!([delta(0, json!({"content":"Hello"}), None)])),
        chat_chunk(json!([delta(1, json!({"content":"Hi"}), None)])),
        chat_chunk(json!([delta(1, json!({"content":"!"}), Some("length"))])),
        chat_chunk(json!([delta(0, json!({"content":" there"}), None)])),
        chat_chunk(json!([delta(0, json!({}), Some("stop"))])),
    ]);
    let answer = assert_equivalent(EndpointKind::Chat, &body, &stream);
    assert_eq!(answer.choices.len(), 2);
    assert_eq!(answer.choices[1].index, 1);
}

#[test]
fn usage_chunk_with_empty_choices() {
    let usage = json!({"prompt_tokens":9,"completion_tokens":2,"total_tokens":11,
                       "completion_tokens_details":{"reasoning_tokens":0}});
    let body = json!({"id":"chatcmpl-1","choices":[{"index":0,"message":{"role":"assistant",
        "content":"Hi"},"finish_reason":"stop"}],"usage":usage});
    let mut first = chat_chunk(json!([delta(
        0,
        json!({"role":"assistant","content":""}),
        None
    )]));
    first["usage"] = Value::Null;
    first["error"] = Value::Null;
    let mut last = chat_chunk(json!([]));
    last["usage"] = usage.clone();
    let stream = sse(&[
        first,
        chat_chunk(json!([delta(0, json!({"content":"Hi"}), None)])),
        chat_chunk(json!([delta(0, json!({}), Some("stop"))])),
        last,
    ]);
    let answer = assert_equivalent(EndpointKind::Chat, &body, &stream);
    assert_eq!(
        answer.usage.as_ref().map(|u| u.get()),
        Some(usage.to_string().as_str())
    );
}

fn completions_case() -> (Value, String) {
    let body = json!({"id":"cmpl-1","object":"text_completion","created":1,"model":"m","choices":[
        {"text":" upon a time","index":0,"logprobs":null,"finish_reason":"length"},
        {"text":" there was","index":1,"logprobs":null,"finish_reason":"stop"}],
        "usage":{"prompt_tokens":1,"completion_tokens":6,"total_tokens":7}});
    let chunk = |index: u32, text: &str, finish: Option<&str>| {
        json!({"id":"cmpl-1","object":"text_completion","created":1,"model":"m",
               "choices":[{"text":text,"index":index,"logprobs":null,"finish_reason":finish}]})
    };
    let stream = sse(&[
        chunk(0, " upon", None),
        chunk(1, " there", None),
        chunk(0, " a time", Some("length")),
        chunk(1, " was", Some("stop")),
        json!({"id":"cmpl-1","object":"text_completion","created":1,"model":"m","choices":[],
               "usage":{"prompt_tokens":1,"completion_tokens":6,"total_tokens":7}}),
    ]);
    (body, stream)
}

#[test]
fn completions_text_is_equivalent() {
    let (body, stream) = completions_case();
    let answer = assert_equivalent(EndpointKind::Completions, &body, &stream);
    assert_eq!(
        answer.choices[0].message.content,
        Some(Value::String(" upon a time".into()))
    );
    assert_eq!(answer.choices[0].message.role, "assistant");
}

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

/// All the recorded streams of the equivalence tests, with their endpoint.
fn corpus() -> Vec<(EndpointKind, String)> {
    let (_, chat) = plain_chat();
    let (_, completions) = completions_case();
    let tools = sse(&[
        chat_chunk(json!([delta(
            0,
            json!({"role":"assistant","content":null,"tool_calls":[
            {"index":0,"id":"call_a","type":"function","function":{"name":"f","arguments":""}}]}),
            None
        )])),
        chat_chunk(json!([delta(
            0,
            json!({"tool_calls":[{"index":1,"id":"call_b","type":"function",
            "function":{"name":"g","arguments":"{\"é\":"}}]}),
            None
        )])),
        chat_chunk(json!([delta(
            0,
            json!({"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]}),
            None
        )])),
        chat_chunk(json!([delta(
            0,
            json!({"tool_calls":[{"index":1,"function":{"arguments":"\"😀\"}"}}]}),
            None
        )])),
        chat_chunk(json!([delta(0, json!({}), Some("tool_calls"))])),
    ]);
    let crlf = chat.replace('\n', "\r\n");
    let cr = completions.replace('\n', "\r");
    vec![
        (EndpointKind::Chat, chat),
        (EndpointKind::Completions, completions),
        (EndpointKind::Chat, tools),
        (EndpointKind::Chat, crlf),
        (EndpointKind::Completions, cr),
    ]
}

#[test]
fn every_single_byte_boundary() {
    for (kind, stream) in corpus() {
        let whole = capture_whole(kind, &stream);
        let bytes = stream.as_bytes();
        for cut in 0..=bytes.len() {
            let (a, b) = bytes.split_at(cut);
            assert_eq!(
                capture(kind, &[a, b]).expect("complete"),
                whole,
                "cut at {cut}"
            );
        }
    }
}

proptest! {
    #[test]
    fn random_boundaries_give_the_same_answer(
        which in 0usize..5,
        mut cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..40),
    ) {
        let corpus = corpus();
        let (kind, stream) = &corpus[which % corpus.len()];
        let bytes = stream.as_bytes();
        let mut positions: Vec<usize> = cuts.drain(..).map(|i| i.index(bytes.len() + 1)).collect();
        positions.sort_unstable();
        let mut parts = Vec::new();
        let mut start = 0;
        for p in positions {
            parts.push(&bytes[start..p]);
            start = p;
        }
        parts.push(&bytes[start..]);
        let expected = capture_whole(*kind, stream);
        prop_assert_eq!(capture(*kind, &parts).expect("complete"), expected);
    }
}
