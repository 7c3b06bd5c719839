//! The data-tool tests' fixture: record lines built by the real record code
//! (`record::line::RecordContext`) from real request and answer bodies, submitted to
//! `recorder::start`, across two workflows, three days and two replica folders; bad bytes (a
//! corrupt line, a torn last line) appended afterwards. Also: running the real binary over it and
//! reading its output.

#![allow(dead_code)]

use std::collections::BTreeMap;
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

pub const SUPPORT_24: &str = "support/24-08-2025/data.jsonl";
pub const SUPPORT_25: &str = "support/25-08-2025/data.jsonl";

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

pub fn weather_tools() -> Value {
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
pub const RECORDS: usize = 11;

/// Replicas A and B recorded into a temporary folder (with A's corrupt and torn lines
/// appended), and an empty folder for outputs.
pub struct Fixture {
    /// The temporary folder holding everything; removed on drop.
    _root: TempDir,
    /// Replica A's data folder.
    pub a: PathBuf,
    /// Replica B's data folder.
    pub b: PathBuf,
    /// The folder for export outputs (empty at first).
    pub out: PathBuf,
}

impl Fixture {
    pub fn new() -> Fixture {
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

    /// `--data-dir A --data-dir B`.
    pub fn dirs(&self) -> Vec<String> {
        vec![
            "--data-dir".into(),
            self.a.display().to_string(),
            "--data-dir".into(),
            self.b.display().to_string(),
        ]
    }

    /// Runs `export` over both replicas with `extra` flags.
    pub fn export(&self, extra: &[&str]) -> Output {
        let mut args = vec!["export".to_owned()];
        args.extend(self.dirs());
        args.extend(extra.iter().map(|s| s.to_string()));
        run(&args)
    }

    /// The path of `name` in the output folder.
    pub fn out(&self, name: &str) -> String {
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

pub fn run(args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_micromodel"))
        .args(args)
        .env_remove("MICROMODEL_DATA_DIR")
        .output()
        .expect("binary runs")
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn ok(output: Output) -> Output {
    assert!(
        output.status.success(),
        "exit {:?}\nstderr:\n{}",
        output.status,
        stderr(&output)
    );
    output
}

pub fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

pub fn read_json_lines(path: &str) -> Vec<Value> {
    json_lines(&fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}")))
}

/// Every file under `dir` and its bytes.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
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

pub fn user_text(record: &Value) -> String {
    let messages = record["messages"].as_array().expect("messages");
    messages[messages.len() - 2]["content"].to_string()
}
