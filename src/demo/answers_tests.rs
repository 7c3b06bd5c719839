use serde_json::json;

use super::*;

#[test]
fn chat_answers_the_last_user_message_the_same_way_every_time() {
    let request = json!({"model": "m", "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "Hi there"}]}]});
    let answer = chat(&request).expect("answer");
    assert_eq!(answer, chat(&request).expect("again"));
    assert_eq!(answer.model, "m");
    let [choice] = answer.choices.as_slice() else {
        panic!("one choice")
    };
    assert_eq!(choice.finish_reason, "stop");
    let Reply::Text(text) = &choice.reply else {
        panic!("text")
    };
    assert!(text.ends_with("You said: \"Hi there\""), "{text}");
    assert_eq!(answer.prompt_tokens, 4);
    assert_eq!(answer.completion_tokens, words(text));
}

#[test]
fn tools_are_called_with_arguments_from_the_schema() {
    let weather = json!({"type": "function", "function": {"name": "weather", "parameters": {
        "type": "object", "required": ["city", "days", "unit", "a/b"],
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"},
                       "unit": {"enum": ["C", "F"]}, "a/b": {"type": ["boolean", "null"]},
                       "optional": {"type": "string"}}}}});
    let other = json!({"type": "function", "function": {"name": "other"}});
    let mut request = json!({"messages": [{"role": "user", "content": "Weather?"}],
                             "tools": [weather, other]});
    let answer = chat(&request).expect("answer");
    assert_eq!(answer.model, "demo");
    assert_eq!(answer.choices[0].finish_reason, "tool_calls");
    let Reply::Tools(calls) = &answer.choices[0].reply else {
        panic!("tool calls")
    };
    assert_eq!(calls[0].name, "weather");
    let arguments: Value = serde_json::from_str(&calls[0].arguments).expect("JSON");
    assert_eq!(
        arguments,
        json!({"city": "demo", "days": 1, "unit": "C", "a/b": true})
    );

    request["tool_choice"] = json!({"type": "function", "function": {"name": "other"}});
    let Reply::Tools(calls) = &chat(&request).expect("answer").choices[0].reply else {
        panic!("tool calls")
    };
    assert_eq!(
        (calls[0].name.as_str(), calls[0].arguments.as_str()),
        ("other", "{}")
    );

    request["tool_choice"] = json!("none");
    assert!(matches!(
        chat(&request).expect("answer").choices[0].reply,
        Reply::Text(_)
    ));

    request["tool_choice"] = json!({"type": "function", "function": {"name": "nope"}});
    assert_eq!(chat(&request).expect_err("unknown").param, "tool_choice");
}

#[test]
fn a_tool_result_gets_a_text_answer() {
    let request = json!({"tools": [{"type": "function", "function": {"name": "f"}}],
        "messages": [{"role": "user", "content": "go"},
                     {"role": "assistant", "content": null, "tool_calls": []},
                     {"role": "tool", "tool_call_id": "call_demo_0", "content": "42"}]});
    let answer = chat(&request).expect("answer");
    assert_eq!(
        answer.choices[0].reply,
        Reply::Text("The tool answered: \"42\"".to_owned())
    );
}

#[test]
fn max_tokens_cuts_the_answer_with_finish_reason_length() {
    let request = json!({"messages": [{"role": "user", "content": "x"}], "max_tokens": 3, "n": 2});
    let answer = chat(&request).expect("answer");
    assert_eq!(answer.choices.len(), 2);
    assert_eq!(answer.choices[1].index, 1);
    assert_eq!(answer.choices[0].finish_reason, "length");
    assert_eq!(
        answer.choices[0].reply,
        Reply::Text("Hello! This is".to_owned())
    );
    assert_eq!(answer.completion_tokens, 6);
}

#[test]
fn completions_answer_each_prompt_n_times() {
    let request = json!({"prompt": ["one", "two"], "n": 2, "echo": true,
                         "stream": true, "stream_options": {"include_usage": true}});
    let answer = completions(&request).expect("answer");
    assert!(answer.stream && answer.stream_usage);
    let texts: Vec<&Reply> = answer.choices.iter().map(|c| &c.reply).collect();
    assert_eq!(texts.len(), 4);
    assert_eq!(texts[0], texts[1]);
    let Reply::Text(third) = texts[2] else {
        panic!("text")
    };
    assert!(third.starts_with("two is how"), "{third}");
    assert_eq!(answer.prompt_tokens, 2);
    let none = completions(&json!({})).expect("no prompt");
    assert_eq!(none.choices.len(), 1);
}

#[test]
fn bad_requests_name_the_field() {
    let cases = [
        (chat(&json!({})), "messages"),
        (chat(&json!({"messages": []})), "messages"),
        (chat(&json!({"messages": [{}], "n": 0})), "n"),
        (chat(&json!({"messages": [{}], "n": 17})), "n"),
        (chat(&json!({"messages": [{}], "tools": {}})), "tools"),
        (chat(&json!({"messages": [{}], "tools": [{}]})), "tools"),
        (completions(&json!({"prompt": [1, 2]})), "prompt"),
        (completions(&json!({"prompt": []})), "prompt"),
        (completions(&json!({"prompt": 5})), "prompt"),
        (completions(&json!({"prompt": ["a", "b"], "n": 9})), "n"),
    ];
    for (result, param) in cases {
        assert_eq!(result.expect_err(param).param, param);
    }
}

#[test]
fn pieces_join_back_to_the_text() {
    let text = "  Hello,  world! é x";
    let parts: Vec<&str> = pieces(text).collect();
    assert_eq!(parts, ["  Hello,", "  world!", " é", " x"]);
    assert_eq!(parts.concat(), text);
    assert_eq!(pieces("").count(), 0);
    assert_eq!(words(text), 4);
}
