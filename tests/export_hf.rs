//! `export --format hf` loaded by the real Hugging Face `datasets` library: a corpus written
//! by the real recorder that mixes upstreams' `usage` shapes (extra `cost`, `*_details`,
//! Anthropic's cache counts), string and array contents, and tools with different schemas,
//! exported into several files (per workflow, and with `--split`), then loaded in one
//! `datasets.load_dataset("json", data_files=[...])` call.
//! Without Python, the same corpus checks the columns themselves: one set, never null.

mod records_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use micromodel::record::EndpointKind;
use micromodel::recorder::RecordLine;
use serde_json::Value;
use tempfile::TempDir;

/// The record lines the proxy would write for this raw request and (non-streamed) answer.
fn lines(kind: EndpointKind, workflow: &str, request: &str, answer: &str) -> Vec<RecordLine> {
    records_support::lines(kind, workflow, request, answer, "2025-08-24T10:00:00.000Z")
}

/// A data folder holding `lines`, written by the recorder.
fn record(root: &Path, lines: Vec<RecordLine>) -> PathBuf {
    records_support::write(root, lines)
}

fn export(dir: &Path, extra: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_micromodel"))
        .arg("export")
        .arg("--data-dir")
        .arg(dir)
        .args(["--format", "hf"])
        .args(extra)
        .env_remove("MICROMODEL_DATA_DIR")
        .output()
        .expect("binary runs");
    assert!(
        output.status.success(),
        "exit {:?}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

const CHAT_ANSWER: &str = r#"{"id":"chatcmpl-1","choices":[{"index":0,"message":{"role":"assistant","content":"Hello."},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}"#;

/// Workflow `plain`: string contents, plain usage, no tools; and one image (not expressible).
fn plain() -> Vec<RecordLine> {
    let mut out = lines(
        EndpointKind::Chat,
        "plain",
        r#"{"model":"m","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}]}"#,
        CHAT_ANSWER,
    );
    out.extend(lines(
        EndpointKind::Chat,
        "plain",
        r#"{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}]}"#,
        CHAT_ANSWER,
    ));
    out
}

/// Workflow `router`: array contents, a tool with one schema, an OpenRouter-style usage
/// (`cost`, `*_details`) and a tool-call answer.
fn router() -> Vec<RecordLine> {
    lines(
        EndpointKind::Chat,
        "router",
        r#"{"model":"m","tools":[{"type":"function","function":{"name":"lookup","parameters":{"type":"object","properties":{"id":{"type":"integer"}}}}}],"messages":[{"role":"developer","content":[{"type":"text","text":"Use "},{"type":"text","text":"tools."}]},{"role":"user","content":[{"type":"text","text":"Find 7"}]}]}"#,
        r#"{"id":"gen-1","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"lookup","arguments":"{\"id\":7}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":40,"completion_tokens":9,"total_tokens":49,"cost":0.00012,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}"#,
    )
}

/// Workflow `claude`: Anthropic Messages with a tool of another schema and cache counts.
fn claude() -> Vec<RecordLine> {
    lines(
        EndpointKind::Messages,
        "claude",
        r#"{"model":"claude-opus-4-6","max_tokens":512,"tools":[{"name":"get_weather","description":"Weather","input_schema":{"type":"object","properties":{"location":{"type":"string"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["location"]}}],"messages":[{"role":"user","content":[{"type":"text","text":"Weather in SF?"}]}]}"#,
        r#"{"id":"msg_01","type":"message","role":"assistant","model":"claude-opus-4-6","content":[{"type":"text","text":"Checking."},{"type":"tool_use","id":"toolu_01","name":"get_weather","input":{"location":"San Francisco, CA"}}],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":472,"cache_creation_input_tokens":0,"cache_read_input_tokens":128,"output_tokens":89,"service_tier":"standard"}}"#,
    )
}

/// Workflow `agents`: Responses records with `*_details` usage, split into two files.
fn agents() -> Vec<RecordLine> {
    let mut out = Vec::new();
    for question in ["Paris?", "Bogotá?", "Lima?", "Oslo?", "Rome?", "Kyiv?"] {
        out.extend(lines(
            EndpointKind::Responses,
            "agents",
            &format!(
                r#"{{"model":"o4-mini","input":"Weather in {question}","tools":[{{"type":"function","name":"get_weather","parameters":{{"type":"object","properties":{{"location":{{"type":"string"}},"days":{{"type":"array","items":{{"type":"integer"}}}}}}}}}}]}}"#
            ),
            include_str!("fixtures/dialects/responses_tools.json"),
        ));
    }
    out.extend(lines(
        EndpointKind::Responses,
        "agents",
        r#"{"model":"gpt-4.1","instructions":"Tell stories.","input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"A one-sentence story."}]}]}"#,
        include_str!("fixtures/dialects/responses_text.json"),
    ));
    out
}

const LOAD: &str = r#"
import json, sys
import datasets
from datasets import List, Value
files = sys.argv[1:]
ds = datasets.load_dataset("json", data_files=files, split="train")
def conversational(row):
    m = row.get("messages")
    return isinstance(m, list) and len(m) > 0 and isinstance(m[0], dict) \
        and "role" in m[0] and "content" in m[0]
rows = [dict(r) for r in ds]
for r in rows:
    for m in r["messages"]:
        assert isinstance(m["role"], str) and isinstance(m["content"], str), m
        if m["tool_calls"]:
            for call in json.loads(m["tool_calls"]):
                assert isinstance(call["function"]["arguments"], str), call
    # What TRL's SFTTrainer does with every row's `tools` (trl/trainer/sft_trainer.py, 0.29+).
    tools = r.get("tools")
    tools = json.loads(tools) if isinstance(tools, str) else tools
    assert tools is None or isinstance(tools, list), r["tools"]
    if r["usage"]:
        assert isinstance(json.loads(r["usage"]), dict), r["usage"]
# The map of docs/data-tools.md that turns each message's tool calls back into lists (here
# one row per Arrow batch, so a batch without calls comes first).
call = {"id": Value("string"), "type": Value("string"),
        "function": {"name": Value("string"), "arguments": Value("string")}}
features = ds.features.copy()
features["messages"] = List({**ds.features["messages"].feature, "tool_calls": List(call)})
mapped = ds.map(lambda row: {"messages": [{**m, "tool_calls": json.loads(m["tool_calls"]) if m["tool_calls"] else None}
                                          for m in row["messages"]]}, features=features, writer_batch_size=1)
calls = [c for r in mapped for m in r["messages"] for c in (m["tool_calls"] or [])]
assert all(isinstance(c["function"]["arguments"], str) for c in calls), calls
print(json.dumps({
    "version": datasets.__version__,
    "num_rows": ds.num_rows,
    "columns": ds.column_names,
    "conversational": all(conversational(r) for r in rows),
    "workflows": sorted({r["workflow_id"] for r in rows}),
    "prompt_tokens": sorted(r["prompt_tokens"] for r in rows),
    "mapped_calls": sorted(c["function"]["name"] for c in calls),
    "rows_with_tools": sum(1 for r in rows if json.loads(r["tools"]) is not None),
}))
"#;

#[test]
#[ignore = "needs python3 with the datasets package (.ci/run installs it)"]
fn datasets_loads_every_mix_of_hf_files() {
    let root = TempDir::new().expect("temp dir");
    let mut corpus = plain();
    corpus.extend(router());
    corpus.extend(claude());
    corpus.extend(agents());
    let dir = record(root.path(), corpus);
    let out = root.path().join("out");
    std::fs::create_dir(&out).expect("out dir");
    let mut files = Vec::new();
    // The first file is the plainest: every later file must cast to its schema.
    for workflow in ["plain", "router", "claude"] {
        let file = out.join(format!("{workflow}.jsonl"));
        let output = export(
            &dir,
            &[
                "--workflow",
                workflow,
                "--out",
                file.to_str().expect("utf-8"),
            ],
        );
        if workflow == "plain" {
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(stderr.contains("not text"), "image skipped: {stderr}");
        }
        files.push(file);
    }
    let agents = out.join("agents.jsonl");
    export(
        &dir,
        &[
            "--workflow",
            "agents",
            "--split",
            "0.5",
            "--out",
            agents.to_str().expect("utf-8"),
        ],
    );
    for side in ["train", "valid"] {
        let file = out.join(format!("agents.{side}.jsonl"));
        let text = std::fs::read_to_string(&file).expect("split file");
        assert!(!text.is_empty(), "{side} side has records");
        files.push(file);
    }
    let output = Command::new("python3")
        .arg("-c")
        .arg(LOAD)
        .args(&files)
        .env("HF_DATASETS_CACHE", root.path().join("hf-cache"))
        .env("HF_DATASETS_OFFLINE", "1")
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "datasets failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_str(stdout.trim()).expect("one JSON report");
    eprintln!("datasets {}", report["version"]);
    assert_eq!(report["num_rows"], 1 + 1 + 1 + 7, "{report}");
    let columns: Vec<&str> = report["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .map(|c| c.as_str().expect("name"))
        .collect();
    assert_eq!(
        columns,
        [
            "messages",
            "tools",
            "model",
            "workflow_id",
            "endpoint",
            "timestamp",
            "finish_reason",
            "request_id",
            "prompt_tokens",
            "completion_tokens",
            "total_tokens",
            "usage",
        ]
    );
    assert_eq!(report["conversational"], true, "{report}");
    assert_eq!(
        report["workflows"],
        serde_json::json!(["agents", "claude", "plain", "router"])
    );
    // Chat `prompt_tokens` and Responses/Messages `input_tokens` land in one int column.
    assert_eq!(
        report["prompt_tokens"],
        serde_json::json!([5, 36, 40, 291, 291, 291, 291, 291, 291, 472])
    );
    // `tools` parses the way TRL parses it on every row: a list on the 8 rows with tools, None
    // on the others; the documented map gives back every call: lookup (router), get_weather
    // (claude, and 2 per agents tool-call answer).
    assert_eq!(report["rows_with_tools"], 8, "{report}");
    let mut names = vec!["get_weather"; 13];
    names.push("lookup");
    assert_eq!(report["mapped_calls"], serde_json::json!(names), "{report}");
}

/// No value anywhere in `value` is null.
fn has_null(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.iter().any(has_null),
        Value::Object(map) => map.values().any(has_null),
        _ => false,
    }
}

/// The column names of a line, or of a message, in order.
fn keys(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect()
}

#[test]
fn every_hf_line_has_the_same_never_null_columns() {
    let root = TempDir::new().expect("temp dir");
    let mut corpus = plain();
    corpus.extend(router());
    corpus.extend(claude());
    corpus.extend(agents());
    // No usage at all: the counts are -1 and `usage` is "".
    corpus.extend(lines(
        EndpointKind::Completions,
        "plain",
        r#"{"model":"m","prompt":"Say hi"}"#,
        r#"{"id":"cmpl-1","choices":[{"index":0,"text":"hi","finish_reason":"stop"}]}"#,
    ));
    let dir = record(root.path(), corpus);
    let output = export(&dir, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("not text"),
        "the image is skipped: {stderr}"
    );
    let rows: Vec<Value> = String::from_utf8(output.stdout)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(rows.len(), 1 + 1 + 1 + 7 + 1);
    let columns = keys(&rows[0]);
    let fields = ["role", "content", "name", "tool_call_id", "tool_calls"];
    for row in &rows {
        assert_eq!(keys(row), columns, "{row}");
        assert!(!has_null(row), "{row}");
        for message in row["messages"].as_array().expect("messages") {
            assert_eq!(keys(message)[..5], fields, "{message}");
            assert!(message["content"].is_string(), "{message}");
            let calls = message["tool_calls"].as_str().expect("JSON text");
            if !calls.is_empty() {
                let calls: Value = serde_json::from_str(calls).expect("tool calls parse");
                assert!(calls[0]["function"]["arguments"].is_string(), "{calls}");
            }
        }
        // `tools` is always JSON (TRL parses it); `usage` is JSON or "".
        let tools: Value =
            serde_json::from_str(row["tools"].as_str().expect("JSON text")).expect("tools parse");
        assert!(tools.is_null() || tools.is_array(), "{row}");
        let usage = row["usage"].as_str().expect("JSON text");
        assert!(usage.is_empty() || serde_json::from_str::<Value>(usage).is_ok());
    }
    let completions = rows
        .iter()
        .find(|r| r["endpoint"] == "/v1/completions")
        .expect("the completions record");
    assert_eq!(completions["prompt_tokens"], -1);
    assert_eq!(completions["total_tokens"], -1);
    assert_eq!(completions["usage"], "");
    assert_eq!(completions["tools"], "null", "no tools: the JSON text null");
    let router = rows
        .iter()
        .find(|r| r["workflow_id"] == "router")
        .expect("the router record");
    // Text parts joined; developer becomes system; usage kept whole as text.
    assert_eq!(router["messages"][0]["role"], "system");
    assert_eq!(router["messages"][0]["content"], "Use tools.");
    assert!(router["usage"]
        .as_str()
        .is_some_and(|u| u.contains("\"cost\":0.00012")));
    assert_eq!(router["total_tokens"], 49);
}
