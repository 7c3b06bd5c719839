//! The answers of `tests/streaming_records.rs`, each given both ways (JSON and SSE chunks):
//! plain chat, tool calls (one, and two in parallel), reasoning, `n = 2`, `include_usage`, and
//! a text completion. Included by path
//! (`#[path = "streaming_support/scenarios.rs"] mod scenarios;`).

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

use crate::common::upstream::{json_response, sse_events};
use crate::common::Seen;
use crate::streaming_support::{
    chunk, completion, delta, full_sse, pieces, text_chunks, weather_tools,
};

/// One answer given both ways.
pub struct Scenario {
    /// Also the request's `model`, which the upstream uses to pick the scenario.
    pub name: &'static str,
    /// The endpoint the request is posted to.
    pub path: &'static str,
    /// The request, without `stream`.
    pub request: Value,
    /// The non-streamed answer.
    pub json: Value,
    /// The streamed answer's chunks (then `[DONE]`).
    pub chunks: Vec<Value>,
}

/// Every scenario, in the order the test sends them.
pub fn scenarios() -> Vec<Scenario> {
    let user = |model: &str, content: &str| {
        json!({"model": model, "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": content}]})
    };
    let mut out = Vec::new();

    // Plain chat.
    let id = "chatcmpl-chat";
    out.push(Scenario {
        name: "chat",
        path: "/v1/chat/completions",
        request: user("chat", "Say hello"),
        json: completion(
            id,
            json!([{"index": 0, "message": {"role": "assistant", "content": "Hello there, friend.", "refusal": null},
                    "logprobs": null, "finish_reason": "stop"}]),
            None,
        ),
        chunks: text_chunks(id, &["Hello", " there", ",", " friend", "."]),
    });

    // One tool call whose arguments arrive over many deltas.
    let id = "chatcmpl-tool";
    let arguments = r#"{"city":"Paris, France","unit":"celsius"}"#;
    let mut chunks = vec![chunk(
        id,
        json!([delta(
            0,
            json!({"role": "assistant", "content": null, "tool_calls": [
            {"index": 0, "id": "call_abc", "type": "function",
             "function": {"name": "get_weather", "arguments": ""}}]}),
            None
        )]),
    )];
    for piece in pieces(arguments, 3) {
        chunks.push(chunk(
            id,
            json!([delta(
                0,
                json!({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}),
                None
            )]),
        ));
    }
    chunks.push(chunk(id, json!([delta(0, json!({}), Some("tool_calls"))])));
    let mut request = user("tool", "Weather in Paris?");
    request["tools"] = weather_tools();
    out.push(Scenario {
        name: "tool",
        path: "/v1/chat/completions",
        request,
        json: completion(
            id,
            json!([{"index": 0, "message": {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_abc", "type": "function", "function": {"name": "get_weather", "arguments": arguments}}]},
                "logprobs": null, "finish_reason": "tool_calls"}]),
            None,
        ),
        chunks,
    });

    // Two parallel tool calls, their deltas interleaved.
    let id = "chatcmpl-parallel";
    let (args_a, args_b) = (r#"{"city":"Oslo"}"#, r#"{"tz":"Europe/Oslo"}"#);
    let call = |index: u32, value: Value| {
        chunk(
            id,
            json!([delta(
                0,
                json!({"tool_calls": [{"index": index, "function": value}]}),
                None
            )]),
        )
    };
    let mut chunks = vec![
        chunk(
            id,
            json!([delta(
                0,
                json!({"role": "assistant", "content": null, "tool_calls": [
            {"index": 0, "id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": ""}}]}),
                None
            )]),
        ),
        call(0, json!({"arguments": &args_a[..6]})),
        chunk(
            id,
            json!([delta(
                0,
                json!({"tool_calls": [
            {"index": 1, "id": "call_b", "type": "function", "function": {"name": "get_time", "arguments": ""}}]}),
                None
            )]),
        ),
        call(1, json!({"arguments": &args_b[..9]})),
        call(0, json!({"arguments": &args_a[6..]})),
        call(1, json!({"arguments": &args_b[9..]})),
    ];
    chunks.push(chunk(id, json!([delta(0, json!({}), Some("tool_calls"))])));
    let mut request = user("parallel", "Weather and time in Oslo?");
    request["tools"] = weather_tools();
    request["parallel_tool_calls"] = json!(true);
    out.push(Scenario {
        name: "parallel",
        path: "/v1/chat/completions",
        request,
        json: completion(
            id,
            json!([{"index": 0, "message": {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": args_a}},
                {"id": "call_b", "type": "function", "function": {"name": "get_time", "arguments": args_b}}]},
                "finish_reason": "tool_calls"}]),
            None,
        ),
        chunks,
    });

    // Reasoning before the answer.
    let id = "chatcmpl-reasoning";
    let mut chunks = vec![chunk(
        id,
        json!([delta(
            0,
            json!({"role": "assistant", "content": null, "reasoning_content": ""}),
            None
        )]),
    )];
    for piece in ["Six", " times", " seven", "."] {
        chunks.push(chunk(
            id,
            json!([delta(
                0,
                json!({"content": null, "reasoning_content": piece}),
                None
            )]),
        ));
    }
    for piece in ["4", "2"] {
        chunks.push(chunk(
            id,
            json!([delta(
                0,
                json!({"content": piece, "reasoning_content": null}),
                None
            )]),
        ));
    }
    chunks.push(chunk(id, json!([delta(0, json!({}), Some("stop"))])));
    out.push(Scenario {
        name: "reasoning",
        path: "/v1/chat/completions",
        request: user("reasoning", "6*7?"),
        json: completion(
            id,
            json!([{"index": 0, "message": {"role": "assistant", "content": "42",
                "reasoning_content": "Six times seven."}, "finish_reason": "stop"}]),
            None,
        ),
        chunks,
    });

    // n = 2, the choices interleaved, different finish reasons.
    let id = "chatcmpl-n2";
    let chunks = vec![
        chunk(
            id,
            json!([delta(0, json!({"role": "assistant", "content": ""}), None)]),
        ),
        chunk(
            id,
            json!([delta(1, json!({"role": "assistant", "content": ""}), None)]),
        ),
        chunk(id, json!([delta(0, json!({"content": "Red"}), None)])),
        chunk(id, json!([delta(1, json!({"content": "Blue"}), None)])),
        chunk(
            id,
            json!([delta(1, json!({"content": " and green"}), Some("length"))]),
        ),
        chunk(id, json!([delta(0, json!({"content": "."}), Some("stop"))])),
    ];
    let mut request = user("n2", "A colour?");
    request["n"] = json!(2);
    out.push(Scenario {
        name: "n2",
        path: "/v1/chat/completions",
        request,
        json: completion(
            id,
            json!([
                {"index": 0, "message": {"role": "assistant", "content": "Red."}, "finish_reason": "stop"},
                {"index": 1, "message": {"role": "assistant", "content": "Blue and green"}, "finish_reason": "length"}
            ]),
            None,
        ),
        chunks,
    });

    // stream_options.include_usage: usage null on every chunk, then a last chunk without
    // choices that carries it.
    let id = "chatcmpl-usage";
    let usage = json!({"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11,
                       "completion_tokens_details": {"reasoning_tokens": 0}});
    let mut chunks: Vec<Value> = text_chunks(id, &["Fine", "."])
        .into_iter()
        .map(|mut c| {
            c["usage"] = Value::Null;
            c
        })
        .collect();
    let mut last = chunk(id, json!([]));
    last["usage"] = usage.clone();
    chunks.push(last);
    let mut request = user("usage", "How are you?");
    request["stream_options"] = json!({"include_usage": true});
    out.push(Scenario {
        name: "usage",
        path: "/v1/chat/completions",
        request,
        json: completion(
            id,
            json!([{"index": 0, "message": {"role": "assistant", "content": "Fine."}, "finish_reason": "stop"}]),
            Some(usage),
        ),
        chunks,
    });

    // Completions.
    let id = "cmpl-text";
    let text_chunk = |text: &str, finish: Option<&str>| {
        json!({"id": id, "object": "text_completion", "created": 1_700_000_000, "model": "fake-model",
               "choices": [{"index": 0, "text": text, "logprobs": null, "finish_reason": finish}]})
    };
    out.push(Scenario {
        name: "completions",
        path: "/v1/completions",
        request: json!({"model": "completions", "prompt": "Once upon a time", "max_tokens": 5}),
        json: json!({"id": id, "object": "text_completion", "created": 1_700_000_000, "model": "fake-model",
            "choices": [{"index": 0, "text": " there was a fox", "logprobs": null, "finish_reason": "length"}],
            "usage": {"prompt_tokens": 4, "completion_tokens": 5, "total_tokens": 9}}),
        chunks: {
            let mut chunks = vec![
                text_chunk(" there", None),
                text_chunk(" was", None),
                text_chunk(" a", None),
                text_chunk(" fox", Some("length")),
            ];
            let mut last = json!({"id": id, "object": "text_completion", "created": 1_700_000_000,
                "model": "fake-model", "choices": []});
            last["usage"] = json!({"prompt_tokens": 4, "completion_tokens": 5, "total_tokens": 9});
            chunks.push(last);
            chunks
        },
    });
    out
}

/// Answers with the scenario named by the request's `model`, as JSON or as SSE.
pub async fn scenario_upstream(seen: Seen) -> Response {
    let request = seen.json();
    let name = request["model"].as_str().expect("model").to_owned();
    let scenario = scenarios()
        .into_iter()
        .find(|s| s.name == name)
        .expect("known scenario");
    if request["stream"] == true {
        full_sse(sse_events(&scenario.chunks))
    } else {
        json_response(StatusCode::OK, &scenario.json)
    }
}
