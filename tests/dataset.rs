//! The data tools (`export`, `stats`, `validate`) run as the real binary over a fixture written by
//! the real recorder: record lines built by `record::line::RecordContext` from real request and
//! answer bodies, submitted to `recorder::start`, across two workflows, three days and two
//! replica folders. Bad bytes (a corrupt line, a torn last line) are appended afterwards.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use micromodel::record::line::RecordContext;
use micromodel::record::request::RequestView;
use micromodel::record::{parse_answer, EndpointKind};
use micromodel::recorder::{start, FsyncPolicy, RecordLine, RecorderOptions};
use serde_json::{json, Value};
use tempfile::TempDir;

#[path = "records_support/openai_rules.rs"]
mod openai_rules;

const SUPPORT_24: &str = "support/24-08-2025/data.jsonl";
const SUPPORT_25: &str = "support/25-08-2025/data.jsonl";

fn ts(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .expect("valid timestamp")
        .with_timezone(&Utc)
}

/// The record lines the proxy would write for this request and (non-streamed) answer body.
fn lines(
    kind: EndpointKind,
    workflow: &str,
    request: Value,
    answer: Value,
    at: &str,
) -> Vec<RecordLine> {
    let body = Bytes::from(serde_json::to_vec(&request).expect("request serialises"));
    let view = RequestView::parse(&body).expect("request parses");
    let context = RecordContext::new(kind, workflow.to_owned(), &view, &body);
    let answer_body = serde_json::to_vec(&answer).expect("answer serialises");
    let answer = parse_answer(kind, &answer_body).expect("answer parses");
    let finished = ts(at);
    context
        .lines(&answer, finished, 812)
        .into_iter()
        .map(|json| RecordLine {
            workflow_id: workflow.to_owned(),
            timestamp: finished,
            json,
        })
        .collect()
}

fn chat(workflow: &str, request: Value, answer: Value, at: &str) -> Vec<RecordLine> {
    lines(EndpointKind::Chat, workflow, request, answer, at)
}

fn answer(id: &str, choices: Value, usage: Value) -> Value {
    json!({"id": id, "object": "chat.completion", "choices": choices, "usage": usage})
}

fn text_choice(index: u32, content: &str, finish: &str) -> Value {
    json!({"index": index, "message": {"role": "assistant", "content": content}, "finish_reason": finish})
}

fn weather_tools() -> Value {
    json!([{"type": "function", "function": {"name": "get_weather", "description": "Weather of a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}])
}

fn usage(prompt: u64, completion: u64) -> Value {
    json!({"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion})
}

/// Replica A's records (support on 24th and 25th, coder on 24th).
fn replica_a() -> Vec<RecordLine> {
    let hours = json!({"model": "qwen3:14b", "messages": [{"role": "user", "content": "What are your opening hours?"}]});
    let hours_answer = answer(
        "chatcmpl-1",
        json!([text_choice(0, "We are open 9 to 5.", "stop")]),
        usage(12, 7),
    );
    let mut out = Vec::new();
    out.extend(chat(
        "support",
        hours.clone(),
        hours_answer.clone(),
        "2025-08-24T10:00:00.000Z",
    ));
    // A tool call answer (content null, only tool calls).
    out.extend(chat(
        "support",
        json!({"model": "qwen3:14b", "tools": weather_tools(), "messages": [
            {"role": "system", "content": "You are a helpful agent."},
            {"role": "user", "content": "Weather in Paris?"}]}),
        answer(
            "chatcmpl-2",
            json!([{"index": 0, "message": {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
                "finish_reason": "tool_calls"}]),
            usage(40, 9),
        ),
        "2025-08-24T10:05:00.000Z",
    ));
    // The whole tool loop, answered with text; the answer carries reasoning.
    out.extend(chat(
        "support",
        json!({"model": "qwen3:14b", "tools": weather_tools(), "messages": [
            {"role": "system", "content": "You are a helpful agent."},
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "18C, sunny"}]}),
        answer(
            "chatcmpl-3",
            json!([{"index": 0, "message": {"role": "assistant", "content": "It is 18C and sunny in Paris.",
                "reasoning_content": "The tool said 18C."}, "finish_reason": "stop"}]),
            usage(60, 11),
        ),
        "2025-08-24T10:06:00.000Z",
    ));
    // n = 2: two lines sharing one usage.
    out.extend(chat(
        "support",
        json!({"model": "qwen3:14b", "n": 2, "messages": [{"role": "user", "content": "Name a colour."}]}),
        answer(
            "chatcmpl-4",
            json!([text_choice(0, "Blue.", "stop"), text_choice(1, "Green.", "stop")]),
            usage(8, 4),
        ),
        "2025-08-24T11:00:00.000Z",
    ));
    // Cut by max_tokens.
    out.extend(chat(
        "support",
        json!({"model": "llama3", "max_tokens": 5, "messages": [{"role": "user", "content": "Tell me a long story."}]}),
        answer(
            "chatcmpl-5",
            json!([text_choice(0, "Once upon a", "length")]),
            usage(9, 5),
        ),
        "2025-08-24T12:00:00.000Z",
    ));
    // The next day: the same question and answer again (a duplicate), and a completion.
    out.extend(chat(
        "support",
        hours,
        hours_answer,
        "2025-08-25T09:00:00.000Z",
    ));
    out.extend(lines(
        EndpointKind::Completions,
        "support",
        json!({"model": "llama3", "prompt": "Once upon"}),
        json!({"id": "cmpl-6", "choices": [{"index": 0, "text": " a time", "finish_reason": "stop"}]}),
        "2025-08-25T09:30:00.000Z",
    ));
    out.extend(chat(
        "coder",
        json!({"model": "qwen-coder", "stream": true, "messages": [{"role": "user", "content": "Write fizzbuzz."}]}),
        answer(
            "chatcmpl-7",
            json!([text_choice(0, "for i in range(1, 101): ...", "stop")]),
            usage(6, 30),
        ),
        "2025-08-24T10:02:00.000Z",
    ));
    out
}

/// Replica B's records.
fn replica_b() -> Vec<RecordLine> {
    let mut out = chat(
        "support",
        json!({"model": "qwen3:14b", "messages": [{"role": "user", "content": "Do you ship abroad?"}]}),
        answer(
            "chatcmpl-b1",
            json!([text_choice(0, "Yes, to 40 countries.", "stop")]),
            usage(10, 8),
        ),
        "2025-08-24T10:03:00.000Z",
    );
    out.extend(chat(
        "coder",
        json!({"model": "qwen-coder", "messages": [
            {"role": "developer", "content": "Answer with code only."},
            {"role": "user", "content": [{"type": "text", "text": "Reverse a string "}, {"type": "text", "text": "in Rust."}]}]}),
        answer(
            "chatcmpl-b2",
            json!([text_choice(0, "s.chars().rev().collect::<String>()", "stop")]),
            usage(20, 12),
        ),
        "2025-08-26T08:00:00.000Z",
    ));
    out
}

/// Valid records in the fixture: 9 lines in A (n = 2 counts twice), 2 in B.
const RECORDS: usize = 11;

struct Fixture {
    _root: TempDir,
    a: PathBuf,
    b: PathBuf,
    out: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        let root = TempDir::new().expect("temp dir");
        let a = root.path().join("replica-a");
        let b = root.path().join("replica-b");
        let out = root.path().join("out");
        fs::create_dir_all(&out).expect("out dir");
        record(&a, replica_a());
        record(&b, replica_b());
        append(&a.join(SUPPORT_24), b"{\"messages\": this is not JSON\n");
        append(
            &a.join(SUPPORT_25),
            b"{\"messages\":[{\"role\":\"user\",\"content\":\"torn",
        );
        Fixture {
            _root: root,
            a,
            b,
            out,
        }
    }

    fn dirs(&self) -> Vec<String> {
        vec![
            "--data-dir".into(),
            self.a.display().to_string(),
            "--data-dir".into(),
            self.b.display().to_string(),
        ]
    }

    /// Runs `export` over both replicas with `extra` flags.
    fn export(&self, extra: &[&str]) -> Output {
        let mut args = vec!["export".to_owned()];
        args.extend(self.dirs());
        args.extend(extra.iter().map(|s| s.to_string()));
        run(&args)
    }

    fn out(&self, name: &str) -> String {
        self.out.join(name).display().to_string()
    }
}

fn record(dir: &Path, lines: Vec<RecordLine>) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let (recorder, handle) = start(RecorderOptions {
            data_dir: dir.to_path_buf(),
            fsync: FsyncPolicy::Never,
            queue_records: 1024,
            mode: Default::default(),
        })
        .expect("recorder starts");
        for line in lines {
            recorder.submit(line);
        }
        drop(recorder);
        assert!(
            handle.finish(Duration::from_secs(10)).await,
            "recorder drained"
        );
    });
}

fn append(path: &Path, bytes: &[u8]) {
    let mut file = fs::OpenOptions::new()
        .append(true)
        .open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    file.write_all(bytes).expect("append");
}

fn run(args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_micromodel"))
        .args(args)
        .env_remove("MICROMODEL_DATA_DIR")
        .output()
        .expect("binary runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn ok(output: Output) -> Output {
    assert!(
        output.status.success(),
        "exit {:?}\nstderr:\n{}",
        output.status,
        stderr(&output)
    );
    output
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

fn read_json_lines(path: &str) -> Vec<Value> {
    json_lines(&fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}")))
}

/// Every file under `dir` and its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.insert(path.clone(), fs::read(&path).expect("read"));
            }
        }
    }
    out
}

fn user_text(record: &Value) -> String {
    let messages = record["messages"].as_array().expect("messages");
    messages[messages.len() - 2]["content"].to_string()
}

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
fn default_finish_reasons_drop_length_answers() {
    let f = Fixture::new();
    let output = ok(f.export(&[]));
    let records = json_lines(&String::from_utf8_lossy(&output.stdout));
    assert_eq!(records.len(), RECORDS - 1);
    assert!(records.iter().all(|r| r["finish_reason"] != "length"));
    assert!(records.iter().any(|r| r["finish_reason"] == "tool_calls"));
    assert!(
        stderr(&output).contains("finish_reason=length: 1"),
        "{}",
        stderr(&output)
    );

    let only_length = ok(f.export(&["--finish-reason", "length"]));
    let records = json_lines(&String::from_utf8_lossy(&only_length.stdout));
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["messages"][1]["content"], "Once upon a");
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

#[test]
fn workflow_date_model_endpoint_and_turn_filters() {
    let f = Fixture::new();
    let count = |extra: &[&str]| json_lines(&String::from_utf8_lossy(&ok(f.export(extra)).stdout));

    let coder = count(&["--workflow", "coder"]);
    assert_eq!(coder.len(), 2);
    assert!(coder.iter().all(|r| r["workflow_id"] == "coder"));

    let day = count(&["--since", "2025-08-25", "--until", "2025-08-25"]);
    assert_eq!(day.len(), 2);
    assert!(day.iter().all(|r| r["timestamp"]
        .as_str()
        .expect("ts")
        .starts_with("2025-08-25")));
    let from_25 = count(&["--since", "2025-08-25"]);
    assert_eq!(from_25.len(), 3);
    let until_24 = count(&[
        "--until",
        "2025-08-24",
        "--workflow",
        "support",
        "--workflow",
        "coder",
    ]);
    assert_eq!(until_24.len(), 7);
    assert!(until_24.iter().all(|r| r["timestamp"]
        .as_str()
        .expect("ts")
        .starts_with("2025-08-24")));

    let models = count(&["--model", "llama3", "--model", "qwen-coder"]);
    assert_eq!(models.len(), 3);
    let completions = count(&["--endpoint", "completions"]);
    assert_eq!(completions.len(), 1);
    assert_eq!(completions[0]["endpoint"], "/v1/completions");
    // user + assistant messages >= 3: only the tool-call conversation (user, assistant, assistant).
    let turns = count(&["--min-turns", "3"]);
    assert_eq!(turns.len(), 1);
    assert_eq!(turns[0]["request_id"], "chatcmpl-3");

    let missing = ok(f.export(&["--workflow", "nope"]));
    assert!(missing.stdout.is_empty());
    assert!(stderr(&missing).contains("no data for workflow \"nope\""));
    let bad_date = f.export(&["--since", "25-08-2025"]);
    assert_eq!(bad_date.status.code(), Some(2));
}

#[test]
fn dedupe_keeps_the_first_of_identical_conversations() {
    let f = Fixture::new();
    let all = json_lines(&String::from_utf8_lossy(&ok(f.export(&[])).stdout));
    let hours = |records: &[Value]| {
        records
            .iter()
            .filter(|r| user_text(r).contains("opening hours"))
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(hours(&all).len(), 2);
    let output = ok(f.export(&["--dedupe"]));
    let deduped = json_lines(&String::from_utf8_lossy(&output.stdout));
    assert_eq!(deduped.len(), all.len() - 1);
    let kept = hours(&deduped);
    assert_eq!(kept.len(), 1);
    assert_eq!(
        kept[0]["timestamp"], "2025-08-24T10:00:00.000Z",
        "the first wins"
    );
    assert!(
        stderr(&output).contains("duplicate: 1"),
        "{}",
        stderr(&output)
    );
    // The two choices of the n = 2 request differ: both kept.
    assert_eq!(
        deduped
            .iter()
            .filter(|r| r["request_id"] == "chatcmpl-4")
            .count(),
        2
    );
}

#[test]
fn split_is_deterministic_and_disjoint() {
    let f = Fixture::new();
    let full = json_lines(&String::from_utf8_lossy(
        &ok(f.export(&["--format", "openai"])).stdout,
    ));
    let parts = |name: &str, seed: &str| {
        let out = f.out(name);
        let output = ok(f.export(&[
            "--format", "openai", "--split", "0.5", "--seed", seed, "--out", &out,
        ]));
        let stem = name.trim_end_matches(".jsonl");
        let train = fs::read_to_string(f.out(&format!("{stem}.train.jsonl"))).expect("train");
        let valid = fs::read_to_string(f.out(&format!("{stem}.valid.jsonl"))).expect("valid");
        assert!(!Path::new(&out).exists(), "only the two parts are written");
        (train, valid, stderr(&output))
    };
    let (train, valid, summary) = parts("one.jsonl", "7");
    let (train2, valid2, _) = parts("two.jsonl", "7");
    assert_eq!(
        (&train, &valid),
        (&train2, &valid2),
        "same seed, same split"
    );
    assert!(summary.contains("one.train.jsonl"), "{summary}");

    let train = json_lines(&train);
    let valid = json_lines(&valid);
    assert_eq!(train.len() + valid.len(), full.len());
    let key = |r: &Value| r.to_string();
    let mut union: Vec<String> = train.iter().chain(&valid).map(key).collect();
    let mut expected: Vec<String> = full.iter().map(key).collect();
    union.sort();
    expected.sort();
    assert_eq!(union, expected, "every record in exactly one part");
    let train_keys: BTreeSet<String> = train.iter().map(key).collect();
    assert!(
        valid.iter().all(|r| !train_keys.contains(&key(r))),
        "disjoint"
    );
    // The two choices of one request stay together.
    let colour = |records: &[Value]| {
        records
            .iter()
            .filter(|r| user_text(r).contains("colour"))
            .count()
    };
    assert!(matches!((colour(&train), colour(&valid)), (2, 0) | (0, 2)));

    // Some seed puts records on both sides (the split is not degenerate).
    let both = (0..20).any(|seed| {
        let (t, v, _) = parts(&format!("s{seed}.jsonl"), &seed.to_string());
        !t.is_empty() && !v.is_empty()
    });
    assert!(both);
    assert_eq!(
        f.export(&["--split", "1.5", "--out", &f.out("x.jsonl")])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        f.export(&["--split", "0.5"]).status.code(),
        Some(2),
        "--split needs --out"
    );
}

#[test]
fn strict_fails_on_a_bad_line_and_writes_nothing() {
    let f = Fixture::new();
    let out = f.out("strict.jsonl");
    let output = f.export(&["--strict", "--out", &out]);
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(
        message.contains(&format!(
            "{}:7: not valid JSON",
            f.a.join(SUPPORT_24).display()
        )),
        "{message}"
    );
    assert!(!Path::new(&out).exists());
    assert_eq!(
        fs::read_dir(&f.out).expect("out dir").count(),
        0,
        "no partial file left"
    );

    // Without the bad data, --strict passes.
    let output = ok(f.export(&["--strict", "--workflow", "coder"]));
    assert_eq!(
        json_lines(&String::from_utf8_lossy(&output.stdout)).len(),
        2
    );
}

#[test]
fn export_refuses_to_write_into_a_data_folder() {
    let f = Fixture::new();
    let inside = f.a.join("support").join("export.jsonl");
    let output = f.export(&["--out", &inside.display().to_string()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("inside the data folder"),
        "{}",
        stderr(&output)
    );
    assert!(!inside.exists());
}

#[test]
fn stats_per_workflow_and_day() {
    let f = Fixture::new();
    let mut args = vec!["stats".to_owned()];
    args.extend(f.dirs());
    args.push("--json".to_owned());
    let output = ok(run(&args));
    let stats: Value = serde_json::from_slice(&output.stdout).expect("stats JSON");
    let days = stats["days"].as_array().expect("days");
    let keys: Vec<(String, String)> = days
        .iter()
        .map(|d| {
            (
                d["workflow"].as_str().expect("w").to_owned(),
                d["date"].as_str().expect("d").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        keys,
        [
            ("coder".to_owned(), "2025-08-24".to_owned()),
            ("coder".to_owned(), "2025-08-26".to_owned()),
            ("support".to_owned(), "2025-08-24".to_owned()),
            ("support".to_owned(), "2025-08-25".to_owned()),
        ]
    );
    let support = &days[2];
    assert_eq!(support["records"], 7);
    assert_eq!(support["invalid"], 1);
    assert_eq!(support["models"], json!({"llama3": 1, "qwen3:14b": 6}));
    assert_eq!(
        support["finish_reasons"],
        json!({"length": 1, "stop": 5, "tool_calls": 1})
    );
    assert_eq!(support["tool_calls"], 1);
    // Usage once per request: the n = 2 request's 8 + 4 tokens count once.
    assert_eq!(support["prompt_tokens"], 12 + 40 + 60 + 8 + 9 + 10);
    assert_eq!(support["completion_tokens"], 7 + 9 + 11 + 4 + 5 + 8);
    let bytes = fs::metadata(f.a.join(SUPPORT_24)).expect("a").len()
        + fs::metadata(f.b.join(SUPPORT_24)).expect("b").len();
    assert_eq!(support["bytes"], bytes);
    assert_eq!(days[0]["streamed"], 1);
    assert_eq!(days[0]["streamed_share"], 1.0);
    assert_eq!(days[3]["records"], 2);
    assert_eq!(days[3]["invalid"], 1, "the torn last line");
    assert_eq!(stats["total"]["records"], RECORDS);

    let text = ok(run(&args[..args.len() - 1]));
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("support 2025-08-24: 7 records (1 invalid lines)"),
        "{text}"
    );
    assert!(text.contains("total: 11 records"), "{text}");
}

#[test]
fn validate_reports_every_problem_and_repairs_torn_lines() {
    let f = Fixture::new();
    let validate = |extra: &[&str]| {
        let mut args = vec!["validate".to_owned()];
        args.extend(f.dirs());
        args.extend(extra.iter().map(|s| s.to_string()));
        run(&args)
    };
    let output = validate(&[]);
    assert_eq!(output.status.code(), Some(1));
    let report = String::from_utf8_lossy(&output.stdout).into_owned();
    let corrupt = f.a.join(SUPPORT_24).display().to_string();
    let torn = f.a.join(SUPPORT_25).display().to_string();
    assert!(
        report.contains(&format!("{corrupt}:7: not valid JSON")),
        "{report}"
    );
    assert!(
        report.contains(&format!("{torn}:3: torn last line")),
        "{report}"
    );
    assert_eq!(report.lines().count(), 2, "{report}");
    assert!(
        stderr(&output).contains("5 files, 13 lines: 2 problems"),
        "{}",
        stderr(&output)
    );

    // A record filed under the wrong workflow is reported too.
    let misplaced = fs::read_to_string(f.b.join(SUPPORT_24)).expect("b");
    fs::create_dir_all(f.b.join("other/24-08-2025")).expect("dir");
    fs::write(f.b.join("other/24-08-2025/data.jsonl"), misplaced).expect("write");
    let report = String::from_utf8_lossy(&validate(&[]).stdout).into_owned();
    assert!(
        report.contains("workflow_id \"support\" is not the folder's \"other\""),
        "{report}"
    );
    fs::remove_dir_all(f.b.join("other")).expect("cleanup");

    let before = fs::read(&torn).expect("torn file");
    let repaired = validate(&["--repair"]);
    assert_eq!(
        repaired.status.code(),
        Some(1),
        "the corrupt line is still there"
    );
    let report = String::from_utf8_lossy(&repaired.stdout).into_owned();
    assert!(
        report.contains(&format!("{torn}:3: torn last line cut (")),
        "{report}"
    );
    let after = fs::read(&torn).expect("repaired file");
    assert!(after.ends_with(b"\n") && before.starts_with(&after) && after.len() < before.len());
    let again = String::from_utf8_lossy(&validate(&[]).stdout).into_owned();
    assert_eq!(again.lines().count(), 1, "{again}");

    // Clean folders pass.
    let mut args = vec![
        "validate".to_owned(),
        "--data-dir".to_owned(),
        f.b.display().to_string(),
    ];
    ok(run(&args));
    args.push("--repair".to_owned());
    ok(run(&args));
}
