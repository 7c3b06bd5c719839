//! `export`'s formats over the two-replica fixture (dataset_support): the default ChatML lines
//! merge both replicas by time and are the data files' lines byte for byte (and no export
//! touches the data folders), `--format openai` keeps only messages and tools, `--format
//! sharegpt` writes what LLaMA-Factory reads.

mod dataset_support;

#[path = "records_support/openai_rules.rs"]
mod openai_rules;

use std::fs;

use dataset_support::{
    json_lines, ok, read_json_lines, snapshot, stderr, weather_tools, Fixture, RECORDS, SUPPORT_24,
    SUPPORT_25,
};
use serde_json::{json, Value};

#[test]
fn chatml_merges_replicas_by_time_and_keeps_lines_as_captured() {
    let f = Fixture::new();
    let before = (snapshot(&f.a), snapshot(&f.b));
    let out = f.out("all.jsonl");
    let output = ok(f.export(&["--finish-reason", "any", "--out", &out]));
    let text = fs::read_to_string(&out).expect("output");

    // Every valid line of every data file, byte for byte.
    let mut captured: Vec<String> = Vec::new();
    for file in snapshot(&f.a).values().chain(snapshot(&f.b).values()) {
        let text = String::from_utf8_lossy(file).into_owned();
        captured.extend(
            text.split_inclusive('\n')
                .filter(|l| l.ends_with('\n') && l.starts_with("{\"messages\":[{"))
                .map(str::to_owned),
        );
    }
    let mut written: Vec<String> = text.split_inclusive('\n').map(str::to_owned).collect();
    assert_eq!(written.len(), RECORDS);
    let order: Vec<String> = json_lines(&text)
        .iter()
        .map(|r| r["timestamp"].as_str().expect("timestamp").to_owned())
        .collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted, "merged in timestamp order");
    // Replica B's 10:03 record sits between replica A's 10:02 and 10:05 records.
    assert_eq!(
        &order[..4],
        [
            "2025-08-24T10:00:00.000Z",
            "2025-08-24T10:02:00.000Z",
            "2025-08-24T10:03:00.000Z",
            "2025-08-24T10:05:00.000Z"
        ]
    );
    written.sort();
    captured.sort();
    assert_eq!(written, captured);

    let summary = stderr(&output);
    assert!(
        summary.contains(&format!("read {} lines from 5 files", RECORDS + 2)),
        "{summary}"
    );
    assert!(summary.contains("invalid line: 1"), "{summary}");
    assert!(summary.contains("torn last line: 1"), "{summary}");
    let corrupt = format!("{}:7: not valid JSON", f.a.join(SUPPORT_24).display());
    let torn = format!("{}:3: torn last line", f.a.join(SUPPORT_25).display());
    assert!(summary.contains(&corrupt), "{summary}");
    assert!(summary.contains(&torn), "{summary}");

    // Exports with every format and filter leave the data folders untouched.
    for extra in [
        vec!["--format", "openai"],
        vec!["--format", "sharegpt", "--dedupe"],
        vec!["--split", "0.5", "--out"],
    ] {
        let mut args = extra.clone();
        let target = f.out("again.jsonl");
        if args.last() == Some(&"--out") {
            args.push(&target);
        }
        ok(f.export(&args));
    }
    assert_eq!(
        (snapshot(&f.a), snapshot(&f.b)),
        before,
        "data folders unchanged"
    );
}

#[test]
fn openai_lines_hold_only_messages_and_tools() {
    let f = Fixture::new();
    let out = f.out("openai.jsonl");
    ok(f.export(&["--format", "openai", "--out", &out]));
    let records = read_json_lines(&out);
    assert_eq!(records.len(), RECORDS - 1);
    // Every line follows the format's rules (records_support/openai_rules.rs; the Responses
    // and Messages records are checked by tests/dataset_openai.rs).
    for record in &records {
        openai_rules::assert_openai_line(record);
    }
    // The tool-call answer: tools kept, the call in OpenAI's shape.
    let call = records
        .iter()
        .find(|r| r["messages"].as_array().expect("m").len() == 3 && r.get("tools").is_some())
        .expect("tool call record");
    assert_eq!(call["tools"], weather_tools());
    assert_eq!(
        call["messages"][0],
        json!({"role": "system", "content": "You are a helpful agent."})
    );
    assert_eq!(
        call["messages"][2],
        json!({"role": "assistant", "content": null, "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]})
    );
    // The tool loop: tool_call_id kept, reasoning dropped.
    let tool_loop = records
        .iter()
        .find(|r| r["messages"].as_array().expect("m").len() == 5)
        .expect("tool loop");
    assert_eq!(
        tool_loop["messages"][3],
        json!({"role": "tool", "content": "18C, sunny", "tool_call_id": "call_1"})
    );
    assert_eq!(
        tool_loop["messages"][4],
        json!({"role": "assistant", "content": "It is 18C and sunny in Paris."})
    );
    // developer becomes system; content parts kept as given.
    let coder = records
        .iter()
        .find(|r| r["messages"][0]["content"] == "Answer with code only.")
        .expect("coder record");
    assert_eq!(coder["messages"][0]["role"], "system");
    assert_eq!(
        coder["messages"][1]["content"][1],
        json!({"type": "text", "text": "in Rust."})
    );
    // A completion becomes a user/assistant pair.
    let completion = records
        .iter()
        .find(|r| r["messages"][0]["content"] == "Once upon")
        .expect("completion");
    assert_eq!(
        completion,
        &json!({"messages": [{"role": "user", "content": "Once upon"}, {"role": "assistant", "content": " a time"}]})
    );
}

#[test]
fn sharegpt_lines_as_llama_factory_reads_them() {
    let f = Fixture::new();
    let out = f.out("sharegpt.jsonl");
    ok(f.export(&["--format", "sharegpt", "--out", &out]));
    let records = read_json_lines(&out);
    assert_eq!(records.len(), RECORDS - 1);
    for record in &records {
        let keys: Vec<&str> = record
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["conversations", "system", "tools"]);
        for (i, turn) in record["conversations"]
            .as_array()
            .expect("turns")
            .iter()
            .enumerate()
        {
            let from = turn["from"].as_str().expect("from");
            let allowed: &[&str] = if i % 2 == 0 {
                &["human", "observation"]
            } else {
                &["gpt", "function_call"]
            };
            assert!(allowed.contains(&from), "{record}");
            assert!(turn["value"].is_string());
        }
    }
    let tool_loop = records
        .iter()
        .find(|r| r["conversations"].as_array().expect("t").len() == 4)
        .expect("tool loop");
    assert_eq!(tool_loop["system"], "You are a helpful agent.");
    let tools: Value = serde_json::from_str(tool_loop["tools"].as_str().expect("tools string"))
        .expect("tools JSON");
    assert_eq!(tools, json!([weather_tools()[0]["function"]]));
    let turns = &tool_loop["conversations"];
    assert_eq!(
        turns[0],
        json!({"from": "human", "value": "Weather in Paris?"})
    );
    assert_eq!(turns[1]["from"], "function_call");
    let call: Value =
        serde_json::from_str(turns[1]["value"].as_str().expect("value")).expect("call JSON");
    assert_eq!(
        call,
        json!({"name": "get_weather", "arguments": {"city": "Paris"}})
    );
    assert_eq!(
        turns[2],
        json!({"from": "observation", "value": "18C, sunny"})
    );
    assert_eq!(
        turns[3],
        json!({"from": "gpt", "value": "It is 18C and sunny in Paris."})
    );

    let call_only = records
        .iter()
        .find(|r| {
            r["conversations"].as_array().expect("t").len() == 2
                && r["conversations"][1]["from"] == "function_call"
        })
        .expect("tool call answer");
    assert_eq!(call_only["conversations"][0]["value"], "Weather in Paris?");
    let plain = records
        .iter()
        .find(|r| r["conversations"][0]["value"] == "Do you ship abroad?")
        .expect("plain");
    assert_eq!(
        plain,
        &json!({"conversations": [{"from": "human", "value": "Do you ship abroad?"}, {"from": "gpt", "value": "Yes, to 40 countries."}], "system": "", "tools": ""})
    );
    let coder = records
        .iter()
        .find(|r| r["system"] == "Answer with code only.")
        .expect("developer as system");
    assert_eq!(
        coder["conversations"][0]["value"],
        "Reverse a string in Rust."
    );
}
