//! The demo's Responses and Messages answers read back by the recorder's own dialect parsers:
//! whole and streamed give the same answer, text and tool calls alike.

use serde_json::{json, Value};

use super::*;
use crate::demo::answers;
use crate::record::capture::{parse_for, AnswerStream};
use crate::record::{CaptureLimits, EndpointKind};

fn envelope() -> Envelope {
    Envelope {
        id: "demo_1".to_owned(),
        created: 1_700_000_000,
    }
}

/// The recorded assistant message and finish reason, whole and streamed (asserted equal).
fn recorded(dialect: Dialect, kind: EndpointKind, request: &Value) -> (Value, Option<String>) {
    let answer = answers::chat(&as_chat_request(dialect, request)).expect("answer");
    let body = serde_json::to_vec(&whole(dialect, &answer, &envelope())).expect("json");
    let parsed = parse_for(kind, &body, 1).expect("whole answer parses");
    let mut stream = AnswerStream::new(kind, CaptureLimits::default());
    for event in events(dialect, &answer, &envelope()) {
        stream.feed(event.as_bytes());
    }
    let streamed = stream.finish().expect("stream completes");
    assert_eq!(parsed.answer, streamed.answer);
    let choice = &parsed.answer.choices[0];
    let message = serde_json::to_value(&choice.message).expect("message");
    (message, choice.finish_reason.clone())
}

#[test]
fn responses_text_and_tool_calls_read_back() {
    let request = json!({"model":"demo","instructions":"Be brief.","input":"Say hello"});
    let (message, finish) = recorded(Dialect::Responses, EndpointKind::Responses, &request);
    assert!(message["content"]
        .as_str()
        .expect("text")
        .contains("Say hello"));
    assert_eq!(finish.as_deref(), Some("stop"));

    let request = json!({"model":"demo","input":[{"role":"user","content":"weather?"}],
        "tools":[{"type":"function","name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}]});
    let (message, finish) = recorded(Dialect::Responses, EndpointKind::Responses, &request);
    assert_eq!(message["tool_calls"][0]["function"]["name"], "get_weather");
    assert_eq!(finish.as_deref(), Some("tool_calls"));

    let request = json!({"model":"demo","input":"one two three four five","max_output_tokens":2});
    let (_, finish) = recorded(Dialect::Responses, EndpointKind::Responses, &request);
    assert_eq!(finish.as_deref(), Some("length"));
}

#[test]
fn messages_text_and_tool_use_read_back() {
    let request = json!({"model":"demo","max_tokens":100,"messages":[{"role":"user","content":[{"type":"text","text":"Say hello"}]}]});
    let (message, finish) = recorded(Dialect::Messages, EndpointKind::Messages, &request);
    assert!(message["content"]
        .as_str()
        .expect("text")
        .contains("Say hello"));
    assert_eq!(finish.as_deref(), Some("stop"));

    let request = json!({"model":"demo","max_tokens":100,"messages":[{"role":"user","content":"weather?"}],
        "tools":[{"name":"get_weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}]});
    let (message, finish) = recorded(Dialect::Messages, EndpointKind::Messages, &request);
    assert_eq!(message["tool_calls"][0]["function"]["name"], "get_weather");
    assert_eq!(finish.as_deref(), Some("tool_calls"));

    let request = json!({"model":"demo","max_tokens":100,"messages":[
        {"role":"user","content":"weather?"},
        {"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"get_weather","input":{"city":"Paris"}}]},
        {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"sunny"}]}]});
    let (message, _) = recorded(Dialect::Messages, EndpointKind::Messages, &request);
    assert!(message["content"].as_str().expect("text").contains("sunny"));
}
