//! Streamed and non-streamed answers of the same content must normalise to equal `Answer`s
//! (§4), whatever the read boundaries of the stream: chat, tool calls, reasoning, refusals,
//! several choices, usage and text completions, fed whole, byte by byte, cut at every byte and
//! at random boundaries.

mod stream_capture_support;

use micromodel::record::{Answer, EndpointKind, ReasoningKey};
use proptest::prelude::*;
use serde_json::{json, Value};
use stream_capture_support::{capture, capture_whole, chat_chunk, delta, parsed, plain_chat, sse};

/// Asserts stream ≡ body, also with the stream fed one byte at a time.
fn assert_equivalent(kind: EndpointKind, body: &Value, stream: &str) -> Answer {
    let expected = parsed(kind, body);
    assert_eq!(capture_whole(kind, stream), expected);
    let bytes: Vec<&[u8]> = stream.as_bytes().chunks(1).collect();
    assert_eq!(capture(kind, &bytes).expect("complete"), expected);
    expected
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
