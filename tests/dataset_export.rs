//! `export` on records of every endpoint, written by the real recorder from raw request and
//! answer bodies (key order as written here): key order kept by every format, `--endpoint`,
//! `partial` records, `parallel_tool_calls` and `--reasoning`.

mod records_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use micromodel::record::EndpointKind;
use micromodel::recorder::RecordLine;
use serde_json::Value;
use tempfile::TempDir;

/// The record lines the proxy would write for this raw request and (non-streamed) answer.
fn lines(kind: EndpointKind, request: &str, answer: &str, at: &str) -> Vec<RecordLine> {
    records_support::lines(kind, "w", request, answer, at)
}

/// A data folder holding `lines`, written by the recorder.
struct Data {
    root: TempDir,
}

impl Data {
    fn new(lines: Vec<RecordLine>) -> Data {
        let root = TempDir::new().expect("temp dir");
        records_support::write(root.path(), lines);
        Data { root }
    }

    fn dir(&self) -> PathBuf {
        self.root.path().join("data")
    }

    /// `export --data-dir DIR extra...`; stdout and stderr, asserting success.
    fn export(&self, extra: &[&str]) -> (String, String) {
        let output = run(&self.dir(), extra);
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(
            output.status.success(),
            "exit {:?}: {stderr}",
            output.status
        );
        (String::from_utf8(output.stdout).expect("utf-8"), stderr)
    }
}

fn run(dir: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_micromodel"))
        .arg("export")
        .arg("--data-dir")
        .arg(dir)
        .args(extra)
        .env_remove("MICROMODEL_DATA_DIR")
        .output()
        .expect("binary runs")
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

const UNSORTED_PARAMETERS: &str = r#"{"type":"object","properties":{"zeta":{"type":"string"},"alpha":{"type":"integer"}},"required":["zeta"]}"#;

/// A chat record whose tool parameters and content-part objects have keys out of order.
fn unsorted_chat() -> Vec<RecordLine> {
    let request = format!(
        r#"{{"model":"m","tools":[{{"type":"function","function":{{"name":"f","parameters":{UNSORTED_PARAMETERS}}}}}],"messages":[{{"role":"user","content":[{{"text":"Call f","type":"text"}}]}},{{"role":"assistant","content":null,"tool_calls":[{{"id":"c1","type":"function","function":{{"name":"f","arguments":"{{\"zeta\":\"z\",\"alpha\":1}}"}}}}]}},{{"tool_call_id":"c1","role":"tool","content":"done"}}]}}"#
    );
    let answer = r#"{"id":"chatcmpl-1","choices":[{"index":0,"message":{"role":"assistant","content":"Done."},"finish_reason":"stop"}]}"#;
    lines(
        EndpointKind::Chat,
        &request,
        answer,
        "2025-08-24T10:00:00.000Z",
    )
}

/// A Messages record whose tool `input_schema` and `tool_use` input have keys out of order.
fn unsorted_messages() -> Vec<RecordLine> {
    let request = format!(
        r#"{{"model":"claude-sonnet-4-5","max_tokens":256,"tools":[{{"name":"f","input_schema":{UNSORTED_PARAMETERS}}}],"messages":[{{"role":"user","content":"Call f"}},{{"role":"assistant","content":[{{"type":"tool_use","id":"toolu_1","name":"f","input":{{"zeta":"z","alpha":1}}}}]}},{{"role":"user","content":[{{"type":"tool_result","tool_use_id":"toolu_1","content":"done"}}]}}]}}"#
    );
    let answer = r#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Done."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":30,"output_tokens":3}}"#;
    lines(
        EndpointKind::Messages,
        &request,
        answer,
        "2025-08-24T10:05:00.000Z",
    )
}

/// The recorded tool call's arguments, a JSON string whose keys are out of order.
const UNSORTED_ARGUMENTS: &str = r#"{"zeta":"z","alpha":1}"#;

#[test]
fn every_format_keeps_object_key_order() {
    let mut records = unsorted_chat();
    records.extend(unsorted_messages());
    let data = Data::new(records);
    for format in ["chatml", "openai", "sharegpt", "hf"] {
        let (out, _) = data.export(&["--format", format]);
        let lines = json_lines(&out);
        assert_eq!(lines.len(), 2, "{format}: {out}");
        for (line, raw) in lines.iter().zip(out.lines()) {
            // The tool's parameters schema exactly as recorded: in the line itself, or in the
            // JSON text of `tools` (sharegpt, hf).
            match line["tools"].as_str() {
                Some(tools) => assert!(tools.contains(UNSORTED_PARAMETERS), "{format}: {raw}"),
                None => assert!(raw.contains(UNSORTED_PARAMETERS), "{format}: {raw}"),
            }
            // The call's arguments as recorded.
            let arguments = match format {
                // A function_call turn's value: `arguments` parsed into an object, keys kept.
                "sharegpt" => {
                    let call = line["conversations"][1]["value"].as_str().expect("text");
                    assert_eq!(
                        call,
                        format!(r#"{{"name":"f","arguments":{UNSORTED_ARGUMENTS}}}"#),
                        "{raw}"
                    );
                    continue;
                }
                // The JSON text of the assistant's tool calls.
                "hf" => {
                    let calls = line["messages"][1]["tool_calls"].as_str().expect("text");
                    let calls: Value = serde_json::from_str(calls).expect("tool calls parse");
                    calls[0]["function"]["arguments"].clone()
                }
                _ => line["messages"][1]["tool_calls"][0]["function"]["arguments"].clone(),
            };
            assert_eq!(arguments, UNSORTED_ARGUMENTS, "{format}: {raw}");
        }
        let chat = out.lines().next().expect("the chat line");
        match format {
            "chatml" | "openai" => {
                // A content part kept as recorded.
                assert!(
                    chat.contains(r#"{"text":"Call f","type":"text"}"#),
                    "{chat}"
                );
                // A message's own keys: as recorded in chatml; openai writes the format's
                // fields in its fixed order (role, content, ..., tool_call_id).
                let tool = if format == "chatml" {
                    r#"{"tool_call_id":"c1","role":"tool","content":"done"}"#
                } else {
                    r#"{"role":"tool","content":"done","tool_call_id":"c1"}"#
                };
                assert!(chat.contains(tool), "{format}: {chat}");
            }
            _ => {}
        }
    }
}

/// One record of each endpoint (the Responses and Messages answers from the dialect fixtures),
/// plus a Responses turn that continues a stored response (`partial`).
fn every_endpoint() -> Vec<RecordLine> {
    let mut out = unsorted_chat();
    out.extend(lines(
        EndpointKind::Completions,
        r#"{"model":"m","prompt":"Say hi"}"#,
        r#"{"id":"cmpl-1","choices":[{"index":0,"text":"hi","finish_reason":"stop"}]}"#,
        "2025-08-24T10:01:00.000Z",
    ));
    out.extend(lines(
        EndpointKind::Responses,
        r#"{"model":"o4-mini","instructions":"Use the tools.","input":"Weather in Paris and Bogotá?","tools":[{"type":"function","name":"get_weather","description":"Weather of a place","parameters":{"type":"object","properties":{"location":{"type":"string"}}}}],"parallel_tool_calls":false,"temperature":0.2}"#,
        include_str!("fixtures/dialects/responses_tools.json"),
        "2025-08-24T10:02:00.000Z",
    ));
    out.extend(lines(
        EndpointKind::Messages,
        r#"{"model":"claude-sonnet-4-5","max_tokens":1024,"system":"Be exact.","messages":[{"role":"user","content":"What is 27 * 453?"}]}"#,
        include_str!("fixtures/dialects/messages_thinking.json"),
        "2025-08-24T10:03:00.000Z",
    ));
    out.extend(lines(
        EndpointKind::Responses,
        r#"{"model":"gpt-4.1","previous_response_id":"resp_earlier","input":"Tell me another one."}"#,
        include_str!("fixtures/dialects/responses_text.json"),
        "2025-08-24T10:04:00.000Z",
    ));
    out
}

fn roles(line: &Value) -> Vec<&str> {
    line["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["role"].as_str().expect("role"))
        .collect()
}

#[test]
fn every_format_exports_every_endpoint_and_skips_partial_records() {
    let data = Data::new(every_endpoint());
    let (out, stderr) = data.export(&["--format", "chatml"]);
    let records = json_lines(&out);
    let endpoints: Vec<&str> = records
        .iter()
        .map(|r| r["endpoint"].as_str().expect("endpoint"))
        .collect();
    assert_eq!(
        endpoints,
        [
            "/v1/chat/completions",
            "/v1/completions",
            "/v1/responses",
            "/v1/messages"
        ]
    );
    assert!(
        stderr.contains(
            "skipped 1:\n  history not captured (previous_response_id not in the selected data): 1\n"
        ),
        "{stderr}"
    );
    let (out, stderr) = data.export(&["--keep-partial"]);
    assert_eq!(json_lines(&out).len(), 5, "{stderr}");
    assert!(!stderr.contains("skipped"), "{stderr}");

    let (out, stderr) = data.export(&["--format", "openai"]);
    let openai = json_lines(&out);
    assert_eq!(openai.len(), 4, "{stderr}");
    assert_eq!(roles(&openai[2]), ["system", "user", "assistant"]);
    let calls = openai[2]["messages"][2]["tool_calls"]
        .as_array()
        .expect("calls");
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0]["id"], "call_paris");
    assert_eq!(calls[0]["function"]["name"], "get_weather");
    assert_eq!(
        openai[2]["tools"][0]["function"]["name"], "get_weather",
        "Responses tools export in the chat shape"
    );
    assert_eq!(roles(&openai[3]), ["system", "user", "assistant"]);
    assert_eq!(openai[3]["messages"][2]["content"], "27 * 453 = 12,231");

    let (out, stderr) = data.export(&["--format", "sharegpt"]);
    let sharegpt = json_lines(&out);
    assert_eq!(sharegpt.len(), 4, "{stderr}");
    assert_eq!(sharegpt[2]["system"], "Use the tools.");
    assert_eq!(sharegpt[2]["conversations"][1]["from"], "function_call");
    assert_eq!(sharegpt[3]["system"], "Be exact.");
    assert_eq!(
        sharegpt[3]["conversations"][1]["value"],
        "27 * 453 = 12,231"
    );
}

#[test]
fn endpoint_picks_each_of_the_four() {
    let data = Data::new(every_endpoint());
    for (arg, path, count) in [
        ("chat", "/v1/chat/completions", 1),
        ("completions", "/v1/completions", 1),
        ("responses", "/v1/responses", 2),
        ("messages", "/v1/messages", 1),
    ] {
        let (out, stderr) = data.export(&["--endpoint", arg, "--keep-partial"]);
        let records = json_lines(&out);
        assert_eq!(records.len(), count, "{arg}: {stderr}");
        assert!(records.iter().all(|r| r["endpoint"] == path), "{arg}");
    }
    let output = run(&data.dir(), &["--endpoint", "embeddings"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("chat, completions, responses, messages"),
        "{stderr}"
    );
}

#[test]
fn openai_keeps_parallel_tool_calls_from_params() {
    let data = Data::new(every_endpoint());
    let (out, _) = data.export(&["--format", "openai", "--endpoint", "responses"]);
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1);
    let keys: Vec<&str> = lines[0]
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    // `temperature` (also in params) is not a field of the format.
    assert_eq!(keys, ["messages", "tools", "parallel_tool_calls"]);
    assert_eq!(lines[0]["parallel_tool_calls"], false);
    let (out, _) = data.export(&["--format", "openai", "--endpoint", "messages"]);
    let lines = json_lines(&out);
    assert!(lines[0].get("parallel_tool_calls").is_none(), "{out}");
}

/// A chat record whose upstream names reasoning `reasoning` (history and answer), and the
/// Messages record whose answer has a thinking block (`reasoning_content`).
fn reasoning_records() -> Vec<RecordLine> {
    let mut out = lines(
        EndpointKind::Chat,
        r#"{"model":"m","messages":[{"role":"user","content":"2+2?"},{"role":"assistant","content":"4","reasoning":"Adding."},{"role":"user","content":"3+3?"}]}"#,
        r#"{"id":"chatcmpl-r","choices":[{"index":0,"message":{"role":"assistant","content":"6","reasoning":"Adding again."},"finish_reason":"stop"}]}"#,
        "2025-08-24T10:00:00.000Z",
    );
    out.extend(lines(
        EndpointKind::Messages,
        r#"{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[{"role":"user","content":"What is 27 * 453?"}]}"#,
        include_str!("fixtures/dialects/messages_thinking.json"),
        "2025-08-24T10:01:00.000Z",
    ));
    out
}

/// The assistant messages' `reasoning_content` of each exported line (`None` when absent),
/// asserting no line carries a `reasoning` key.
fn assistant_reasoning(line: &Value) -> Vec<Option<&str>> {
    line["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["role"] == "assistant")
        .map(|m| {
            assert!(m.get("reasoning").is_none(), "{m}");
            m.get("reasoning_content")
                .map(|r| r.as_str().expect("text"))
        })
        .collect()
}

const THINKING: &str = "Let me solve this step by step:\n\n1. First break down 27 * 453";

#[test]
fn reasoning_keep_writes_reasoning_content_and_drop_leaves_it_out() {
    let data = Data::new(reasoning_records());
    let kept = [
        vec![Some("Adding."), Some("Adding again.")],
        vec![Some(THINKING)],
    ];
    let dropped = [vec![None, None], vec![None]];
    for (flags, want) in [
        (&["--format", "chatml"][..], &kept),
        (&["--format", "chatml", "--reasoning", "drop"][..], &dropped),
        (&["--format", "openai"][..], &dropped),
        (&["--format", "openai", "--reasoning", "keep"][..], &kept),
    ] {
        let (out, _) = data.export(flags);
        let lines = json_lines(&out);
        let got: Vec<Vec<Option<&str>>> = lines.iter().map(assistant_reasoning).collect();
        assert_eq!(&got[..], &want[..], "{flags:?}");
    }
    // chatml keep: renamed at its place, the rest of the line as captured.
    let (out, _) = data.export(&[]);
    assert!(
        out.contains(r#"{"role":"assistant","content":"6","reasoning_content":"Adding again."}"#),
        "{out}"
    );
    // sharegpt: dropped by default; kept inside the gpt value as <think>...</think>.
    let (out, _) = data.export(&["--format", "sharegpt"]);
    let lines = json_lines(&out);
    assert_eq!(lines[0]["conversations"][3]["value"], "6");
    let (out, _) = data.export(&["--format", "sharegpt", "--reasoning", "keep"]);
    let lines = json_lines(&out);
    assert_eq!(
        lines[0]["conversations"][1]["value"],
        "<think>\nAdding.\n</think>\n\n4"
    );
    assert_eq!(
        lines[1]["conversations"][1]["value"],
        format!("<think>\n{THINKING}\n</think>\n\n27 * 453 = 12,231")
    );
}
