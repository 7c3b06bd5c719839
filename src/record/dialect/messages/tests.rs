//! Anthropic Messages mapping tests, on frames written from the public API reference.

use proptest::prelude::*;

use crate::record::dialect::test_support::{
    assert_every_split_point_agrees, capture, finish, fixture, message_json, parse, usage, Typed,
};
use crate::record::dialect::types::{DialectAnswerError, DialectIncomplete};
use crate::record::request::RequestView;

const D: Typed = Typed::Messages;
const FIXTURES: [&str; 3] = ["messages_text", "messages_tools", "messages_thinking"];

fn request(body: &str) -> crate::record::dialect::types::DialectRequest {
    let view = RequestView::parse(body.as_bytes()).expect("valid body");
    D.map_request(&view)
}

#[test]
fn system_text_blocks_images_tool_use_and_results() {
    let r = request(
        r#"{"model":"claude-opus-4-6","max_tokens":1024,
        "system":[{"type":"text","text":"You are terse."},{"type":"text","text":" Answer in French.","cache_control":{"type":"ephemeral"}}],
        "messages":[
          {"role":"user","content":[{"type":"text","text":"What is in this image?"},
             {"type":"image","source":{"type":"base64","media_type":"image/jpeg","data":"/9j/4AAQ"}},
             {"type":"image","source":{"type":"url","url":"https://example.com/cat.jpg"}}]},
          {"role":"assistant","content":[
             {"type":"thinking","thinking":"Need the weather.","signature":"EqQB"},
             {"type":"text","text":"Checking."},
             {"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"zeta": 1, "alpha": "x"}}]},
          {"role":"user","content":[
             {"type":"tool_result","tool_use_id":"toolu_1","content":"15 degrees"},
             {"type":"tool_result","tool_use_id":"toolu_2","content":[{"type":"text","text":"rain"}],"is_error":false},
             {"type":"text","text":"Thanks"}]},
          {"role":"assistant","content":"De rien."}],
        "tools":[{"name":"get_weather","description":"Get the weather","input_schema":{"type":"object","properties":{"zeta":{"type":"integer"},"alpha":{"type":"string"}},"required":["zeta"]}},
                 {"type":"web_search_20250305","name":"web_search","max_uses":5}]}"#,
    );
    assert_eq!(
        r.messages_json(),
        concat!(
            r#"[{"role":"system","content":"You are terse. Answer in French."},"#,
            r#"{"role":"user","content":[{"type":"text","text":"What is in this image?"},{"type":"image_url","image_url":{"url":"data:image/jpeg;base64,/9j/4AAQ"}},{"type":"image_url","image_url":{"url":"https://example.com/cat.jpg"}}]},"#,
            r#"{"role":"assistant","content":"Checking.","tool_calls":[{"id":"toolu_1","type":"function","function":{"name":"get_weather","arguments":"{\"zeta\":1,\"alpha\":\"x\"}"}}],"reasoning_content":"Need the weather."},"#,
            r#"{"role":"tool","tool_call_id":"toolu_1","content":"15 degrees"},"#,
            r#"{"role":"tool","tool_call_id":"toolu_2","content":"rain"},"#,
            r#"{"role":"user","content":"Thanks"},"#,
            r#"{"role":"assistant","content":"De rien."}]"#
        )
    );
    assert!(!r.partial);
    assert_eq!(
        r.tools_json().as_deref(),
        Some(concat!(
            r#"[{"type":"function","function":{"name":"get_weather","description":"Get the weather","parameters":{"type":"object","properties":{"zeta":{"type":"integer"},"alpha":{"type":"string"}},"required":["zeta"]}}},"#,
            r#"{"type":"web_search_20250305","name":"web_search","max_uses":5}]"#
        ))
    );
}

#[test]
fn blocks_without_chatml_form_mark_partial() {
    let r = request(
        r#"{"system":"Be kind.","messages":[
          {"role":"user","content":[{"type":"document","source":{"type":"text","media_type":"text/plain","data":"x"}},{"type":"text","text":"Summarise"}]},
          {"role":"assistant","content":[{"type":"redacted_thinking","data":"abc"},{"type":"text","text":"Done."}]},
          {"role":"user","content":[{"type":"tool_result","tool_use_id":"t"}]}]}"#,
    );
    assert_eq!(
        r.messages_json(),
        concat!(
            r#"[{"role":"system","content":"Be kind."},{"role":"user","content":"Summarise"},"#,
            r#"{"role":"assistant","content":"Done."},{"role":"tool","tool_call_id":"t","content":""}]"#
        )
    );
    assert!(r.partial);
}

#[test]
fn answers() {
    let a = parse(D, &fixture("messages_text.json"));
    assert_eq!(
        a.answer.id.as_deref(),
        Some("msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY")
    );
    assert_eq!(
        message_json(&a),
        r#"{"role":"assistant","content":"Hello!"}"#
    );
    assert_eq!(finish(&a), Some("stop"));
    assert_eq!(usage(&a), Some(r#"{"input_tokens":25,"output_tokens":15}"#));
    let a = parse(D, &fixture("messages_tools.json"));
    assert_eq!(finish(&a), Some("tool_calls"));
    assert_eq!(
        message_json(&a),
        r#"{"role":"assistant","content":"Okay, let's check the weather for San Francisco, CA:","tool_calls":[{"id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","type":"function","function":{"name":"get_weather","arguments":"{\"location\":\"San Francisco, CA\",\"unit\":\"fahrenheit\"}"}}]}"#
    );
    let a = parse(D, &fixture("messages_thinking.json"));
    assert_eq!(
        message_json(&a),
        r#"{"role":"assistant","content":"27 * 453 = 12,231","reasoning_content":"Let me solve this step by step:\n\n1. First break down 27 * 453"}"#
    );
}

#[test]
fn stop_reasons_and_errors() {
    let body = |reason: &str| {
        format!(
            r#"{{"id":"m","type":"message","role":"assistant","content":[{{"type":"text","text":"x"}}],"stop_reason":{reason}}}"#
        )
    };
    for (given, expected) in [
        ("\"end_turn\"", Some("stop")),
        ("\"stop_sequence\"", Some("stop")),
        ("\"tool_use\"", Some("tool_calls")),
        ("\"max_tokens\"", Some("length")),
        ("\"refusal\"", Some("content_filter")),
        ("\"pause_turn\"", Some("pause_turn")),
        ("null", None),
    ] {
        assert_eq!(finish(&parse(D, &body(given))), expected, "{given}");
    }
    assert!(matches!(
        D.parse_answer(br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#),
        Err(DialectAnswerError::UpstreamError(m)) if m == "Overloaded"
    ));
    assert!(matches!(
        D.parse_answer(b"[1]"),
        Err(DialectAnswerError::Invalid(_))
    ));
    let a = parse(
        D,
        r#"{"id":"m","content":[{"type":"server_tool_use","id":"s","name":"web_search","input":{}},{"type":"text","text":"y"}],"stop_reason":"end_turn"}"#,
    );
    assert!(a.partial);
}

#[test]
fn stream_record_equals_non_stream_record() {
    for name in FIXTURES {
        let body = parse(D, &fixture(&format!("{name}.json")));
        let sse = fixture(&format!("{name}.sse"));
        assert_eq!(capture(D, sse.as_bytes(), &[]).expect(name), body, "{name}");
    }
}

#[test]
fn usage_is_merged_in_place() {
    let sse = concat!(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"usage\":{\"input_tokens\":5,\"cache_read_input_tokens\":2,\"output_tokens\":1}}}\n\n",
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"max_tokens\"},\"usage\":{\"output_tokens\":9,\"cache_read_input_tokens\":null,\"server_tool_use\":{\"web_search_requests\":1}}}\n\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
    );
    let a = capture(D, sse.as_bytes(), &[]).expect("complete");
    assert_eq!(
        usage(&a),
        Some(
            r#"{"input_tokens":5,"cache_read_input_tokens":2,"output_tokens":9,"server_tool_use":{"web_search_requests":1}}"#
        )
    );
    assert_eq!(finish(&a), Some("length"));
    assert_eq!(message_json(&a), r#"{"role":"assistant","content":null}"#);
}

#[test]
fn streams_that_make_no_record() {
    let sse = fixture("messages_text.sse");
    let cut = &sse[..sse.find("event: message_stop").expect("stop")];
    assert_eq!(
        capture(D, cut.as_bytes(), &[]),
        Err(DialectIncomplete::NoTerminalEvent {
            id: Some("msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY".into())
        })
    );
    let error = format!(
        "{cut}event: error\ndata: {{\"type\": \"error\", \"error\": {{\"type\": \"overloaded_error\", \"message\": \"Overloaded\"}}}}\n\n"
    );
    let mut stream = D.stream_capture();
    stream.feed(error.as_bytes());
    assert!(stream.is_done());
    assert_eq!(
        stream.finish(),
        Err(DialectIncomplete::UpstreamError {
            id: Some("msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY".into()),
            message: "Overloaded".into()
        })
    );
}

#[test]
fn every_single_split_point_gives_the_same_answer() {
    assert_every_split_point_agrees(D, &FIXTURES);
}

proptest! {
    #[test]
    fn random_splits_give_the_same_answer(which in 0usize..3, cuts in proptest::collection::vec(0usize..5_000, 0..40)) {
        let sse = fixture(&format!("{}.sse", FIXTURES[which]));
        let whole = capture(D, sse.as_bytes(), &[]);
        prop_assert_eq!(capture(D, sse.as_bytes(), &cuts), whole);
    }
}
