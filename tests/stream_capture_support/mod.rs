//! What the `StreamCapture` tests (`tests/stream_capture_*.rs`) share: chat chunk builders, an
//! SSE body from chunks, a capture fed in parts, the non-streamed parse to compare with, and the
//! plain chat answer both ways.

#![allow(dead_code)]

use micromodel::record::{parse_answer, Answer, EndpointKind, Incomplete, StreamCapture};
use serde_json::{json, Value};

/// An SSE body from chunk objects, OpenAI style, ending with `data: [DONE]`. The same text as
/// `common::upstream::sse_events(chunks).concat()`, kept here so these library tests do not
/// build the process and HTTP harness of `tests/common` (twice the build time of the binary).
pub fn sse(chunks: &[Value]) -> String {
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
pub fn chat_chunk(choices: Value) -> Value {
    json!({"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m",
           "system_fingerprint":"fp","choices":choices})
}

/// One choice delta of a chat chunk.
pub fn delta(index: u32, delta: Value, finish: Option<&str>) -> Value {
    json!({"index":index,"delta":delta,"logprobs":null,"finish_reason":finish})
}

/// Feeds `parts` to a new capture, in order, and finishes it.
pub fn capture(kind: EndpointKind, parts: &[&[u8]]) -> Result<Answer, Incomplete> {
    let mut capture = StreamCapture::new(kind);
    for part in parts {
        capture.feed(part);
    }
    capture.finish()
}

/// The capture of `stream` in one part, which must be complete and have choices.
pub fn capture_whole(kind: EndpointKind, stream: &str) -> Answer {
    let answer = capture(kind, &[stream.as_bytes()]).expect("stream complete");
    assert!(!answer.choices.is_empty());
    answer
}

/// The non-streamed `body` parsed the way the recorder parses it.
pub fn parsed(kind: EndpointKind, body: &Value) -> Answer {
    parse_answer(kind, body.to_string().as_bytes()).expect("body parses")
}

/// A plain chat answer: the JSON body and the same answer streamed in five chunks.
pub fn plain_chat() -> (Value, String) {
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
