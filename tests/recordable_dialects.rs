//! The recordable property (tests/recordable.rs) for the other dialects: lines recorded from
//! random `/v1/responses` and `/v1/messages` requests and answers, streamed and not, are
//! refused as unrecordable or pass the real `validate`.

mod recordable_support;

use micromodel::record::EndpointKind;
use proptest::prelude::*;
use recordable_support::{check_case, string_lit, tree};

/// A JSON value that is mostly what the field should hold, sometimes anything.
fn text_or_tree() -> impl Strategy<Value = String> {
    prop_oneof![4 => string_lit(), 1 => tree()]
}

fn role() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => Just("\"user\"".to_owned()),
        2 => Just("\"assistant\"".to_owned()),
        1 => Just("\"system\"".to_owned()),
        1 => Just("\"developer\"".to_owned()),
        1 => string_lit(),
    ]
}

// Responses.

fn responses_item() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => (role(), text_or_tree()).prop_map(|(r, c)| format!("{{\"role\":{r},\"content\":{c}}}")),
        3 => (role(), prop::collection::vec(text_or_tree(), 0..3)).prop_map(|(r, texts)| {
            let parts: Vec<String> = texts
                .into_iter()
                .map(|t| format!("{{\"type\":\"input_text\",\"text\":{t}}}"))
                .collect();
            format!("{{\"type\":\"message\",\"role\":{r},\"content\":[{}]}}", parts.join(","))
        }),
        1 => (string_lit(), string_lit(), text_or_tree()).prop_map(|(id, name, args)| {
            format!("{{\"type\":\"function_call\",\"call_id\":{id},\"name\":{name},\"arguments\":{args}}}")
        }),
        1 => (string_lit(), text_or_tree()).prop_map(|(id, out)| {
            format!("{{\"type\":\"function_call_output\",\"call_id\":{id},\"output\":{out}}}")
        }),
        1 => tree(),
    ]
}

fn responses_request() -> impl Strategy<Value = String> {
    let input = prop_oneof![
        2 => string_lit(),
        4 => prop::collection::vec(responses_item(), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
        1 => tree(),
    ];
    let instructions = prop::option::of(text_or_tree())
        .prop_map(|i| i.map_or(String::new(), |i| format!(",\"instructions\":{i}")));
    let tools = prop_oneof![
        Just(String::new()),
        (string_lit(), tree()).prop_map(|(n, p)| format!(
            ",\"tools\":[{{\"type\":\"function\",\"name\":{n},\"parameters\":{p}}}]"
        )),
        tree().prop_map(|t| format!(",\"tools\":{t}")),
    ];
    (string_lit(), input, instructions, tools, any::<bool>()).prop_map(
        |(model, input, instructions, tools, stream)| {
            format!(
                "{{\"model\":{model},\"input\":{input}{instructions}{tools},\"stream\":{stream}}}"
            )
        },
    )
}

fn responses_output() -> impl Strategy<Value = String> {
    let item = prop_oneof![
        4 => (text_or_tree(), tree()).prop_map(|(t, ann)| format!(
            "{{\"type\":\"message\",\"role\":\"assistant\",\"status\":\"completed\",\
             \"content\":[{{\"type\":\"output_text\",\"text\":{t},\"annotations\":{ann}}}]}}"
        )),
        1 => string_lit().prop_map(|r| format!(
            "{{\"type\":\"message\",\"role\":\"assistant\",\"content\":[{{\"type\":\"refusal\",\"refusal\":{r}}}]}}"
        )),
        1 => (string_lit(), string_lit(), text_or_tree()).prop_map(|(id, n, a)| format!(
            "{{\"type\":\"function_call\",\"call_id\":{id},\"name\":{n},\"arguments\":{a}}}"
        )),
        1 => tree(),
    ];
    prop::collection::vec(item, 0..3).prop_map(|v| format!("[{}]", v.join(",")))
}

fn responses_answer() -> impl Strategy<Value = String> {
    (string_lit(), responses_output(), tree()).prop_map(|(id, output, usage)| {
        format!(
            "{{\"id\":{id},\"object\":\"response\",\"status\":\"completed\",\"output\":{output},\"usage\":{usage}}}"
        )
    })
}

fn responses_stream() -> impl Strategy<Value = String> {
    (prop::collection::vec(string_lit(), 0..4), responses_answer()).prop_map(|(deltas, done)| {
        let mut out = String::from(
            "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"r\",\"output\":[]}}\n\n",
        );
        for delta in deltas {
            out.push_str(&format!(
                "event: response.output_text.delta\ndata: {{\"type\":\"response.output_text.delta\",\
                 \"output_index\":0,\"content_index\":0,\"delta\":{delta}}}\n\n"
            ));
        }
        out.push_str(&format!(
            "event: response.completed\ndata: {{\"type\":\"response.completed\",\"response\":{done}}}\n\n"
        ));
        out
    })
}

// Messages.

fn messages_content() -> impl Strategy<Value = String> {
    let block = prop_oneof![
        4 => text_or_tree().prop_map(|t| format!("{{\"type\":\"text\",\"text\":{t}}}")),
        1 => (string_lit(), string_lit(), tree()).prop_map(|(id, n, i)| format!(
            "{{\"type\":\"tool_use\",\"id\":{id},\"name\":{n},\"input\":{i}}}"
        )),
        1 => (string_lit(), text_or_tree()).prop_map(|(id, c)| format!(
            "{{\"type\":\"tool_result\",\"tool_use_id\":{id},\"content\":{c}}}"
        )),
        1 => tree(),
    ];
    prop_oneof![
        2 => text_or_tree(),
        3 => prop::collection::vec(block, 0..3).prop_map(|v| format!("[{}]", v.join(","))),
    ]
}

fn messages_request() -> impl Strategy<Value = String> {
    let message = prop_oneof![
        8 => (role(), messages_content()).prop_map(|(r, c)| format!("{{\"role\":{r},\"content\":{c}}}")),
        1 => tree(),
    ];
    let system = prop::option::of(messages_content())
        .prop_map(|s| s.map_or(String::new(), |s| format!(",\"system\":{s}")));
    let tools = prop_oneof![
        Just(String::new()),
        (string_lit(), tree()).prop_map(|(n, schema)| format!(
            ",\"tools\":[{{\"name\":{n},\"input_schema\":{schema}}}]"
        )),
        tree().prop_map(|t| format!(",\"tools\":{t}")),
    ];
    (
        string_lit(),
        prop::collection::vec(message, 0..4),
        system,
        tools,
        any::<bool>(),
    )
        .prop_map(|(model, messages, system, tools, stream)| {
            format!(
                "{{\"model\":{model},\"max_tokens\":64,\"messages\":[{}]{system}{tools},\"stream\":{stream}}}",
                messages.join(",")
            )
        })
}

fn messages_answer() -> impl Strategy<Value = String> {
    (string_lit(), messages_content(), tree()).prop_map(|(id, content, usage)| {
        format!(
            "{{\"id\":{id},\"type\":\"message\",\"role\":\"assistant\",\"content\":{content},\
             \"stop_reason\":\"end_turn\",\"usage\":{usage}}}"
        )
    })
}

fn messages_stream() -> impl Strategy<Value = String> {
    (prop::collection::vec(string_lit(), 0..4), tree()).prop_map(|(deltas, usage)| {
        let mut out = String::from(
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"type\":\"message\",\
             \"role\":\"assistant\",\"content\":[],\"usage\":{\"input_tokens\":1}}}\n\n\
             event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\
             \"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
        );
        for delta in deltas {
            out.push_str(&format!(
                "event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\
                 \"delta\":{{\"type\":\"text_delta\",\"text\":{delta}}}}}\n\n"
            ));
        }
        out.push_str(&format!(
            "event: content_block_stop\ndata: {{\"type\":\"content_block_stop\",\"index\":0}}\n\n\
             event: message_delta\ndata: {{\"type\":\"message_delta\",\"delta\":{{\"stop_reason\":\"end_turn\"}},\
             \"usage\":{usage}}}\n\nevent: message_stop\ndata: {{\"type\":\"message_stop\"}}\n\n"
        ));
        out
    })
}

/// The pipeline is not vacuous: the real answers of tests/fixtures/dialects record a line.
#[test]
fn the_fixtures_of_each_dialect_record_lines_that_validate() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dialects");
    let read = |name: &str| std::fs::read_to_string(fixtures.join(name)).expect("fixture");
    let responses = r#"{"model":"gpt-4.1","input":"Tell me a story","instructions":"Be brief"}"#;
    let messages =
        r#"{"model":"claude","max_tokens":64,"messages":[{"role":"user","content":"Hi"}]}"#;
    for (kind, request, name) in [
        (EndpointKind::Responses, responses, "responses_text"),
        (EndpointKind::Responses, responses, "responses_tools"),
        (EndpointKind::Messages, messages, "messages_text"),
        (EndpointKind::Messages, messages, "messages_tools"),
    ] {
        let plain =
            check_case(kind, request, Ok(read(&format!("{name}.json")))).expect("validates");
        assert_eq!(plain, 1, "{name}.json records one line");
        let streamed = request.replacen('{', "{\"stream\":true,", 1);
        let sse =
            check_case(kind, &streamed, Err(read(&format!("{name}.sse")))).expect("validates");
        assert_eq!(sse, 1, "{name}.sse records one line");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn responses_lines_from_random_non_streamed_answers_validate(request in responses_request(), answer in responses_answer()) {
        let _recorded = check_case(EndpointKind::Responses, &request, Ok(answer))?;
    }

    #[test]
    fn responses_lines_from_random_streams_validate(request in responses_request(), sse in responses_stream()) {
        let _recorded = check_case(EndpointKind::Responses, &request, Err(sse))?;
    }

    #[test]
    fn messages_lines_from_random_non_streamed_answers_validate(request in messages_request(), answer in messages_answer()) {
        let _recorded = check_case(EndpointKind::Messages, &request, Ok(answer))?;
    }

    #[test]
    fn messages_lines_from_random_streams_validate(request in messages_request(), sse in messages_stream()) {
        let _recorded = check_case(EndpointKind::Messages, &request, Err(sse))?;
    }
}
