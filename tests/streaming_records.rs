//! The record of a streamed answer is the record of the same answer not streamed: each
//! scenario of `streaming_support/scenarios.rs` (chat, tool calls, reasoning, `n = 2`, usage,
//! completions) is asked both ways through the real binary; the client gets the upstream's
//! bytes, and the lines match but for `timestamp`, `latency_ms` and `stream`.

mod common;
mod streaming_support;

#[path = "streaming_support/scenarios.rs"]
mod scenarios;

use common::upstream::sse_events;
use common::FakeUpstream;
use scenarios::{scenario_upstream, scenarios};
use serde_json::{json, Value};
use streaming_support::{post, start_proxy, weather_tools};

/// The line with the values of `timestamp`, `latency_ms` and `stream` blanked (key order kept).
fn masked(line: &str) -> String {
    let mut value: serde_json::Map<String, Value> = serde_json::from_str(line).expect("json");
    // Object key order is the line's: serde_json keeps insertion order only with
    // `preserve_order`, so compare key orders separately.
    for key in ["timestamp", "latency_ms", "stream"] {
        value.remove(key);
    }
    let keys: Vec<String> = common::keys_in_order(line)
        .into_iter()
        .filter(|k| !["timestamp", "latency_ms", "stream"].contains(&k.as_str()))
        .collect();
    format!("{keys:?} {}", Value::Object(value))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_and_non_streamed_answers_make_the_same_record() {
    let upstream = FakeUpstream::start(scenario_upstream);
    let (proxy, port) = start_proxy(&upstream.url, None);
    let data = proxy.data_dir.join("w");
    let mut total = 0;
    for scenario in scenarios() {
        let choices = scenario.json["choices"].as_array().expect("choices").len();
        let mut lines = Vec::new();
        for stream in [false, true] {
            let mut request = scenario.request.clone();
            request["stream"] = json!(stream);
            let response = post(port, scenario.path, &request)
                .send()
                .await
                .expect("send");
            assert_eq!(response.status(), 200, "{}", scenario.name);
            let body = response.bytes().await.expect("body");
            let expected = if stream {
                sse_events(&scenario.chunks).concat()
            } else {
                serde_json::to_string(&scenario.json).expect("json")
            };
            assert_eq!(
                String::from_utf8_lossy(&body),
                expected,
                "{}: the client gets the upstream's bytes",
                scenario.name
            );
            total += choices;
            proxy.wait_records("w", total);
            let new: Vec<String> = common::raw_lines(&data)
                .into_iter()
                .filter(|line| {
                    let record: Value = serde_json::from_str(line).expect("json");
                    record["model"] == scenario.name && record["stream"] == stream
                })
                .collect();
            assert_eq!(new.len(), choices, "{}: one line per choice", scenario.name);
            lines.push(new);
        }
        let mut plain: Vec<String> = lines[0].iter().map(|l| masked(l)).collect();
        let mut streamed: Vec<String> = lines[1].iter().map(|l| masked(l)).collect();
        plain.sort();
        streamed.sort();
        assert_eq!(
            plain, streamed,
            "{}: same record streamed and not",
            scenario.name
        );
    }

    // Spot checks of what was assembled.
    let records = proxy.records("w");
    let find = |model: &str, stream: bool| -> Vec<Value> {
        records
            .iter()
            .filter(|r| r["model"] == model && r["stream"] == stream)
            .cloned()
            .collect()
    };
    let tool = &find("tool", true)[0];
    assert_eq!(
        tool["messages"][2],
        json!({"role": "assistant", "content": null, "tool_calls": [{"id": "call_abc", "type": "function",
            "function": {"name": "get_weather", "arguments": r#"{"city":"Paris, France","unit":"celsius"}"#}}]})
    );
    assert_eq!(tool["tools"], weather_tools());
    let parallel = &find("parallel", true)[0];
    assert_eq!(
        parallel["messages"][2]["tool_calls"],
        json!([
            {"id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": r#"{"city":"Oslo"}"#}},
            {"id": "call_b", "type": "function", "function": {"name": "get_time", "arguments": r#"{"tz":"Europe/Oslo"}"#}}
        ])
    );
    assert_eq!(
        find("reasoning", true)[0]["messages"][2],
        json!({"role": "assistant", "content": "42", "reasoning_content": "Six times seven."})
    );
    let mut n2: Vec<(String, String)> = find("n2", true)
        .iter()
        .map(|r| {
            (
                r["messages"][2]["content"].as_str().expect("c").to_owned(),
                r["finish_reason"].as_str().expect("f").to_owned(),
            )
        })
        .collect();
    n2.sort();
    assert_eq!(
        n2,
        [
            ("Blue and green".to_owned(), "length".to_owned()),
            ("Red.".to_owned(), "stop".to_owned())
        ]
    );
    assert_eq!(find("usage", true)[0]["usage"]["total_tokens"], 11);
    let completions = &find("completions", true)[0];
    assert_eq!(
        completions["messages"],
        json!([{"role": "user", "content": "Once upon a time"}, {"role": "assistant", "content": " there was a fox"}])
    );
    assert_eq!(completions["endpoint"], "/v1/completions");
    assert_eq!(completions["usage"]["total_tokens"], 9);
}
