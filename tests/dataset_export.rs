//! `export` on records of every endpoint, written by the real recorder from raw request and
//! answer bodies (key order as written here): key order kept by every format, `--endpoint`,
//! `partial` records, `parallel_tool_calls` and `--reasoning`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use micromodel::record::line::RecordContext;
use micromodel::record::request::RequestView;
use micromodel::record::{parse_answer, EndpointKind};
use micromodel::recorder::{start, FsyncPolicy, RecordLine, RecorderOptions};
use serde_json::Value;
use tempfile::TempDir;

/// The record lines the proxy would write for this raw request and (non-streamed) answer.
fn lines(kind: EndpointKind, request: &str, answer: &str, at: &str) -> Vec<RecordLine> {
    let body = Bytes::from(request.to_owned());
    let view = RequestView::parse(&body).expect("request parses");
    let context = RecordContext::new(kind, "w".to_owned(), &view, &body);
    let answer = parse_answer(kind, answer.as_bytes()).expect("answer parses");
    let finished = DateTime::parse_from_rfc3339(at)
        .expect("valid timestamp")
        .with_timezone(&Utc);
    context
        .lines(&answer, finished, 5)
        .into_iter()
        .map(|json| RecordLine {
            workflow_id: "w".to_owned(),
            timestamp: finished,
            json,
        })
        .collect()
}

/// A data folder holding `lines`, written by the recorder.
struct Data {
    root: TempDir,
}

impl Data {
    fn new(lines: Vec<RecordLine>) -> Data {
        let root = TempDir::new().expect("temp dir");
        let dir = root.path().join("data");
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime.block_on(async {
            let (recorder, handle) = start(RecorderOptions {
                data_dir: dir,
                fsync: FsyncPolicy::Never,
                queue_records: 64,
            })
            .expect("recorder starts");
            for line in lines {
                recorder.submit(line);
            }
            drop(recorder);
            assert!(handle.finish(Duration::from_secs(10)).await, "drained");
        });
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

#[test]
fn every_format_keeps_object_key_order() {
    let data = Data::new(unsorted_chat());
    for format in ["chatml", "openai", "sharegpt"] {
        let (out, _) = data.export(&["--format", format]);
        assert_eq!(json_lines(&out).len(), 1, "{format}: {out}");
        // sharegpt writes the tools as JSON text inside a string.
        let parameters = match format {
            "sharegpt" => serde_json::to_string(UNSORTED_PARAMETERS).expect("string"),
            _ => UNSORTED_PARAMETERS.to_owned(),
        };
        let parameters = parameters.trim_matches('"');
        assert!(out.contains(parameters), "{format}: {out}");
        if format != "sharegpt" {
            assert!(
                out.contains(r#"{"text":"Call f","type":"text"}"#),
                "{format}: {out}"
            );
            assert!(
                out.contains(r#"{"tool_call_id":"c1","role":"tool","content":"done"}"#)
                    || out.contains(r#"{"role":"tool","content":"done","tool_call_id":"c1"}"#),
                "{format}: {out}"
            );
        }
    }
}
