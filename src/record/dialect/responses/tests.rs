//! Responses API mapping tests, on frames written from the public API reference.

use proptest::prelude::*;

use crate::record::dialect::test_support::{
    assert_every_split_point_agrees, capture, finish, fixture, message_json, parse, replace_value,
    usage, without_events, Typed,
};
use crate::record::dialect::types::{DialectAnswerError, DialectIncomplete};
use crate::record::request::RequestView;

const D: Typed = Typed::Responses;
const FIXTURES: [&str; 4] = [
    "responses_text",
    "responses_tools",
    "responses_refusal",
    "responses_reasoning",
];

fn request(body: &str) -> crate::record::dialect::types::DialectRequest {
    let view = RequestView::parse(body.as_bytes()).expect("valid body");
    D.map_request(&view)
}

#[test]
fn string_input_and_instructions() {
    let r = request(r#"{"model":"gpt-4.1","instructions":"Be brief.","input":"Tell me a story"}"#);
    assert_eq!(
        r.messages_json(),
        r#"[{"role":"system","content":"Be brief."},{"role":"user","content":"Tell me a story"}]"#
    );
    assert!(!r.partial);
    assert_eq!(r.tools_json(), None);
}

#[test]
fn items_images_multi_turn_function_calls_and_tools() {
    let r = request(
        r#"{"model":"gpt-4.1","input":[
        {"role":"developer","content":"Use tools."},
        {"type":"message","role":"user","content":[{"type":"input_text","text":"Weather in "},{"type":"input_text","text":"Paris and Bogotá?"}]},
        {"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"Two calls."}],"encrypted_content":"gAAA"},
        {"type":"function_call","id":"fc_1","call_id":"call_1","name":"get_weather","arguments":"{\"city\":\"Paris\"}"},
        {"type":"function_call","id":"fc_2","call_id":"call_2","name":"get_weather","arguments":"{\"city\":\"Bogotá\"}"},
        {"type":"function_call_output","call_id":"call_1","output":"18C"},
        {"type":"function_call_output","call_id":"call_2","output":[{"type":"input_text","text":"22C"}]},
        {"type":"message","role":"assistant","content":[{"type":"output_text","text":"Paris 18C, Bogotá 22C.","annotations":[]}]},
        {"role":"user","content":[{"type":"input_text","text":"And this?"},{"type":"input_image","image_url":"data:image/png;base64,iVBORw0KGgo=","detail":"high"}]}],
        "tools":[{"type":"function","strict":true,"name":"get_weather","parameters":{"type":"object","properties":{"zeta":{"type":"string"},"alpha":{"type":"string"}}},"description":"Weather"},
                 {"type":"web_search_preview","search_context_size":"low"}]}"#,
    );
    assert_eq!(
        r.messages_json(),
        concat!(
            r#"[{"role":"developer","content":"Use tools."},"#,
            r#"{"role":"user","content":"Weather in Paris and Bogotá?"},"#,
            r#"{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},{"id":"call_2","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Bogotá\"}"}}],"reasoning_content":"Two calls."},"#,
            r#"{"role":"tool","tool_call_id":"call_1","content":"18C"},"#,
            r#"{"role":"tool","tool_call_id":"call_2","content":"22C"},"#,
            r#"{"role":"assistant","content":"Paris 18C, Bogotá 22C."},"#,
            r#"{"role":"user","content":[{"type":"text","text":"And this?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo=","detail":"high"}}]}]"#
        )
    );
    assert!(!r.partial);
    assert_eq!(
        r.tools_json().as_deref(),
        Some(concat!(
            r#"[{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"zeta":{"type":"string"},"alpha":{"type":"string"}}},"strict":true}},"#,
            r#"{"type":"web_search_preview","search_context_size":"low"}]"#
        ))
    );
}

#[test]
fn other_items_are_dropped_and_mark_partial() {
    let r = request(
        r#"{"input":[{"role":"user","content":"find it"},
        {"type":"web_search_call","id":"ws_1","status":"completed"},
        {"type":"item_reference","id":"msg_0"},
        {"role":"user","content":[{"type":"input_file","file_id":"file-1"},{"type":"input_text","text":"x"}]}]}"#,
    );
    assert_eq!(
        r.messages_json(),
        r#"[{"role":"user","content":"find it"},{"role":"user","content":"x"}]"#
    );
    assert!(r.partial);
}

#[test]
fn previous_response_id_and_conversation_are_partial() {
    let r = request(r#"{"previous_response_id":"resp_1","input":"and then?"}"#);
    assert_eq!(r.previous_response_id.as_deref(), Some("resp_1"));
    assert!(!r.partial, "a followable link alone is not a loss");
    let r = request(r#"{"previous_response_id":7,"input":"and then?"}"#);
    assert!(r.partial, "a link that is not a string cannot be followed");
    let r = request(r#"{"conversation":{"id":"conv_9"},"input":"hi"}"#);
    assert_eq!(r.conversation.as_deref(), Some("conv_9"));
    assert!(r.partial);
    let r = request(r#"{"conversation":"conv_8","input":7}"#);
    assert_eq!(r.conversation.as_deref(), Some("conv_8"));
    assert_eq!(r.messages_json(), "[]");
}

#[test]
fn text_answer() {
    let a = parse(D, &fixture("responses_text.json"));
    assert_eq!(
        a.answer.id.as_deref(),
        Some("resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b")
    );
    assert_eq!(finish(&a), Some("stop"));
    assert!(message_json(&a).starts_with(r#"{"role":"assistant","content":"In a peaceful grove"#));
    assert_eq!(
        usage(&a),
        Some(
            r#"{"input_tokens":36,"input_tokens_details":{"cached_tokens":0},"output_tokens":87,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":123}"#
        )
    );
    assert!(!a.partial);
}

#[test]
fn tool_call_answer_with_reasoning_summary() {
    let a = parse(D, &fixture("responses_tools.json"));
    assert_eq!(finish(&a), Some("tool_calls"));
    assert_eq!(
        message_json(&a),
        concat!(
            r#"{"role":"assistant","content":null,"tool_calls":["#,
            r#"{"id":"call_paris","type":"function","function":{"name":"get_weather","arguments":"{\"location\":\"Paris, France\",\"zeta\":1,\"alpha\":2}"}},"#,
            r#"{"id":"call_bogota","type":"function","function":{"name":"get_weather","arguments":"{\"location\":\"Bogotá, Colombia\"}"}}],"#,
            r#""reasoning_content":"**Checking the weather**\n\nThe user wants two cities.\n\n**Calling the tool twice**"}"#
        )
    );
}

#[test]
fn refusal_answer() {
    let a = parse(D, &fixture("responses_refusal.json"));
    assert_eq!(
        message_json(&a),
        r#"{"role":"assistant","content":null,"refusal":"I can't help with that."}"#
    );
    assert_eq!(finish(&a), Some("stop"));
}

#[test]
fn reasoning_text_is_preferred_to_the_summary() {
    let a = parse(
        D,
        r#"{"id":"r","status":"completed","output":[{"type":"reasoning","summary":[{"type":"summary_text","text":"short"}],
        "content":[{"type":"reasoning_text","text":"long "},{"type":"reasoning_text","text":"thoughts"}]},
        {"type":"message","role":"assistant","content":[{"type":"output_text","text":"ok"}]},
        {"type":"web_search_call","id":"ws","status":"completed"}]}"#,
    );
    assert_eq!(
        message_json(&a),
        r#"{"role":"assistant","content":"ok","reasoning_content":"long thoughts"}"#
    );
    assert!(a.partial, "the web search call has no ChatML form");
    assert_eq!(usage(&a), None);
}

#[test]
fn incomplete_and_unrecorded_statuses() {
    let body = |status: &str, reason: &str| {
        format!(
            r#"{{"id":"r","status":"{status}","incomplete_details":{{"reason":"{reason}"}},"output":[{{"type":"message","role":"assistant","content":[{{"type":"output_text","text":"cut"}}]}}]}}"#
        )
    };
    assert_eq!(
        finish(&parse(D, &body("incomplete", "max_output_tokens"))),
        Some("length")
    );
    assert_eq!(
        finish(&parse(D, &body("incomplete", "content_filter"))),
        Some("content_filter")
    );
    for status in ["failed", "cancelled", "in_progress", "queued"] {
        match D.parse_answer(body(status, "x").as_bytes()) {
            Err(DialectAnswerError::NotRecorded { status: s }) => assert_eq!(s, status),
            other => panic!("{status}: {other:?}"),
        }
    }
    assert!(matches!(
        D.parse_answer(br#"{"error":{"message":"boom","type":"server_error"}}"#),
        Err(DialectAnswerError::UpstreamError(m)) if m == "boom"
    ));
    assert!(matches!(
        D.parse_answer(b"nope"),
        Err(DialectAnswerError::Invalid(_))
    ));
}

#[test]
fn stream_record_equals_non_stream_record() {
    for name in FIXTURES {
        let body = parse(D, &fixture(&format!("{name}.json")));
        let sse = fixture(&format!("{name}.sse"));
        assert_eq!(capture(D, sse.as_bytes(), &[]).expect(name), body, "{name}");
        // Assembled from the deltas alone: no full `output` in the terminal event...
        let no_output = replace_value(&sse, "response.completed", "output", "[]");
        assert_eq!(
            capture(D, no_output.as_bytes(), &[]).expect(name),
            body,
            "{name}"
        );
        // ...and no `output_item.done` items either.
        let deltas = without_events(&no_output, "response.output_item.done");
        assert_eq!(
            capture(D, deltas.as_bytes(), &[]).expect(name),
            body,
            "{name} deltas"
        );
    }
}

#[test]
fn reasoning_text_deltas_give_the_reasoning_content() {
    // `reasoning_text` content parts (not a summary): `response.reasoning_text.delta` events.
    let expected = r#"{"role":"assistant","content":"17 × 23 = 391.","reasoning_content":"The user asks for 17 times 23. 17*20=340, 17*3=51, so 391."}"#;
    let body = parse(D, &fixture("responses_reasoning.json"));
    assert_eq!(message_json(&body), expected);
    let sse = fixture("responses_reasoning.sse");
    let no_output = replace_value(&sse, "response.completed", "output", "[]");
    let deltas = without_events(&no_output, "response.output_item.done");
    assert!(deltas.contains("response.reasoning_text.delta"));
    let streamed = capture(D, deltas.as_bytes(), &[]).expect("deltas assemble");
    assert_eq!(message_json(&streamed), expected);
    assert_eq!(streamed, body);
}

#[test]
fn a_request_replaying_an_answer_gives_the_recorded_message() {
    for name in FIXTURES {
        let body = fixture(&format!("{name}.json"));
        let answer = parse(D, &body);
        let output = body;
        let start = output.find("\"output\":").expect("output") + "\"output\":".len();
        let mut values = serde_json::Deserializer::from_str(&output[start..])
            .into_iter::<&serde_json::value::RawValue>();
        let items = values
            .next()
            .expect("items")
            .expect("valid")
            .get()
            .to_owned();
        let r = request(&format!(r#"{{"input":{items}}}"#));
        assert_eq!(
            r.messages_json(),
            format!("[{}]", message_json(&answer)),
            "{name}"
        );
    }
}

#[test]
fn streams_that_make_no_record() {
    let sse = fixture("responses_text.sse");
    let cut = without_events(&sse, "response.completed");
    assert!(matches!(
        capture(D, cut.as_bytes(), &[]),
        Err(DialectIncomplete::NoTerminalEvent { id: Some(id) }) if id.starts_with("resp_67cc")
    ));
    let failed = "event: response.failed\ndata: {\"type\":\"response.failed\",\"response\":{\"id\":\"resp_f\",\"status\":\"failed\",\"error\":{\"code\":\"server_error\",\"message\":\"The model failed\"},\"output\":[]}}\n\n";
    assert_eq!(
        capture(D, failed.as_bytes(), &[]),
        Err(DialectIncomplete::UpstreamError {
            id: Some("resp_f".into()),
            message: "The model failed".into()
        })
    );
    let error = "event: error\ndata: {\"type\":\"error\",\"code\":\"ERR_SOMETHING\",\"message\":\"Something went wrong\",\"param\":null,\"sequence_number\":1}\n\n";
    let mut stream = D.stream_capture();
    stream.feed(error.as_bytes());
    assert!(stream.is_done());
    assert!(matches!(
        stream.finish(),
        Err(DialectIncomplete::UpstreamError { message, .. }) if message == "Something went wrong"
    ));
    let incomplete = "event: response.incomplete\ndata: {\"type\":\"response.incomplete\",\"response\":{\"id\":\"r\",\"status\":\"incomplete\",\"incomplete_details\":{\"reason\":\"max_output_tokens\"},\"output\":[{\"type\":\"message\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":\"cu\"}]}]}}\n\n";
    let a = capture(D, incomplete.as_bytes(), &[]).expect("incomplete is recorded");
    assert_eq!(finish(&a), Some("length"));
    assert!(matches!(
        capture(D, b"data: {bad\n\n", &[]),
        Err(DialectIncomplete::NoTerminalEvent { id: None })
    ));
}

#[test]
fn every_single_split_point_gives_the_same_answer() {
    assert_every_split_point_agrees(D, &FIXTURES);
}

proptest! {
    #[test]
    fn random_splits_give_the_same_answer(which in 0usize..FIXTURES.len(), cuts in proptest::collection::vec(0usize..20_000, 0..40)) {
        let sse = fixture(&format!("{}.sse", FIXTURES[which]));
        let whole = capture(D, sse.as_bytes(), &[]);
        prop_assert_eq!(capture(D, sse.as_bytes(), &cuts), whole);
    }
}
