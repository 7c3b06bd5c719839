//! `export` rebuilds Responses conversations (`previous_response_id`) from records written by
//! the real recorder: one line per turn with its full history in every format; a turn whose
//! link is not in the selected data is skipped and counted; `--chain-memory` is a bound.

mod records_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use micromodel::record::EndpointKind;
use micromodel::recorder::RecordLine;
use serde_json::{json, Value};
use tempfile::TempDir;

/// A Responses answer with this `id` and text, as the API reference shows one.
fn answer(id: &str, text: &str) -> String {
    json!({
        "id": id, "object": "response", "created_at": 1741476542, "status": "completed",
        "model": "gpt-4.1-2025-04-14",
        "output": [{"type": "message", "id": format!("msg_{id}"), "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": []}]}],
        "usage": {"input_tokens": 3, "output_tokens": 5, "total_tokens": 8}
    })
    .to_string()
}

/// The record line the proxy would write for this raw Responses request and answer.
fn turn(request: &str, answer: &str, at: &str) -> RecordLine {
    records_support::lines(EndpointKind::Responses, "w", request, answer, at).remove(0)
}

/// Turn 1 (with `instructions`) on 2025-08-23; turns 2 (new `instructions`) and 3 on the 24th.
fn three_turns() -> [RecordLine; 3] {
    [
        turn(
            r#"{"model":"gpt-4.1","instructions":"Be brief.","input":"Name a colour."}"#,
            &answer("resp_1", "Red."),
            "2025-08-23T23:59:00.000Z",
        ),
        turn(
            r#"{"model":"gpt-4.1","instructions":"Be very brief.","previous_response_id":"resp_1","input":"Another?"}"#,
            &answer("resp_2", "Blue."),
            "2025-08-24T00:01:00.000Z",
        ),
        turn(
            r#"{"model":"gpt-4.1","previous_response_id":"resp_2","input":[{"role":"user","content":[{"type":"input_text","text":"And a third?"}]}]}"#,
            &answer("resp_3", "Green."),
            "2025-08-24T00:02:00.000Z",
        ),
    ]
}

/// A data folder holding `lines`, written by the recorder.
fn write(lines: Vec<RecordLine>) -> TempDir {
    let root = TempDir::new().expect("temp dir");
    records_support::write(root.path(), lines);
    root
}

fn data(root: &TempDir) -> PathBuf {
    root.path().join("data")
}

fn run(dirs: &[&Path], extra: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_micromodel"));
    command.arg("export");
    for dir in dirs {
        command.arg("--data-dir").arg(dir);
    }
    command
        .args(extra)
        .env_remove("MICROMODEL_DATA_DIR")
        .env_remove("MICROMODEL_EXPORT_CHAIN_MEMORY")
        .output()
        .expect("binary runs")
}

/// `export`'s stdout lines and stderr, asserting success.
fn export(dirs: &[&Path], extra: &[&str]) -> (Vec<Value>, String) {
    let output = run(dirs, extra);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    let lines = String::from_utf8(output.stdout)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    (lines, stderr)
}

fn m(role: &str, content: &str) -> Value {
    json!({"role": role, "content": content})
}

/// Each turn's full conversation; the latest turn's instructions are its system message.
fn expected() -> Vec<Vec<Value>> {
    let (q1, a1) = (m("user", "Name a colour."), m("assistant", "Red."));
    let (q2, a2) = (m("user", "Another?"), m("assistant", "Blue."));
    let (q3, a3) = (m("user", "And a third?"), m("assistant", "Green."));
    vec![
        vec![m("system", "Be brief."), q1.clone(), a1.clone()],
        vec![
            m("system", "Be very brief."),
            q1.clone(),
            a1.clone(),
            q2.clone(),
            a2.clone(),
        ],
        vec![q1, a1, q2, a2, q3, a3],
    ]
}

#[test]
fn three_turn_conversation_exports_one_line_per_turn_with_full_history() {
    let root = write(three_turns().into());
    let dir = data(&root);
    let (lines, stderr) = export(&[&dir], &["--format", "chatml"]);
    assert!(!stderr.contains("skipped"), "{stderr}");
    let messages: Vec<Vec<Value>> = lines
        .iter()
        .map(|l| l["messages"].as_array().expect("messages").clone())
        .collect();
    assert_eq!(messages, expected());
    // The rebuilt line is complete: no partial marks, the link kept.
    assert_eq!(lines[2]["previous_response_id"], "resp_2");
    assert!(lines[2].get("partial").is_none() && lines[2].get("rebuildable").is_none());
    assert_eq!(lines[2]["request_id"], "resp_3");

    let (lines, stderr) = export(&[&dir], &["--format", "openai"]);
    let messages: Vec<Value> = lines.iter().map(|l| l["messages"].clone()).collect();
    let want: Vec<Value> = expected().into_iter().map(Value::Array).collect();
    assert_eq!(messages, want, "{stderr}");

    let (lines, stderr) = export(&[&dir], &["--format", "sharegpt"]);
    assert_eq!(lines.len(), 3, "{stderr}");
    let turns: Vec<usize> = lines
        .iter()
        .map(|l| l["conversations"].as_array().expect("conversations").len())
        .collect();
    assert_eq!(turns, [2, 4, 6], "{lines:?}");
    assert_eq!(lines[1]["system"], "Be very brief.");
    assert_eq!(lines[2]["conversations"][4]["value"], "And a third?");
}

#[test]
fn turns_whose_first_turn_is_missing_are_skipped_and_counted() {
    let root = write(three_turns().into());
    let dir = data(&root);
    // The first turn's day left out by the selection...
    let (lines, stderr) = export(&[&dir], &["--since", "2025-08-24"]);
    assert!(lines.is_empty(), "{lines:?}");
    assert!(
        stderr.contains(
            "skipped 2:\n  history not captured (previous_response_id not in the selected data): 2\n"
        ),
        "{stderr}"
    );
    // ...or removed: the same.
    std::fs::remove_dir_all(dir.join("w").join("23-08-2025")).expect("remove day");
    let (lines, stderr) = export(&[&dir], &[]);
    assert!(lines.is_empty(), "{lines:?}");
    assert!(
        stderr.contains("history not captured (previous_response_id not in the selected data): 2"),
        "{stderr}"
    );
    // --keep-partial writes them as captured (only their own turn).
    let (lines, _) = export(&[&dir], &["--keep-partial"]);
    let counts: Vec<usize> = lines
        .iter()
        .map(|l| l["messages"].as_array().expect("messages").len())
        .collect();
    assert_eq!(counts, [3, 2]);
}

#[test]
fn a_chain_spans_data_folders() {
    let [first, second, third] = three_turns();
    let replica_a = write(vec![first]);
    let replica_b = write(vec![second, third]);
    let (lines, stderr) = export(&[&data(&replica_b)], &[]);
    assert!(lines.is_empty() && stderr.contains("): 2\n"), "{stderr}");
    let (lines, stderr) = export(&[&data(&replica_a), &data(&replica_b)], &[]);
    assert_eq!(lines.len(), 3, "{stderr}");
    let messages: Vec<Vec<Value>> = lines
        .iter()
        .map(|l| l["messages"].as_array().expect("messages").clone())
        .collect();
    assert_eq!(messages, expected());
}

#[test]
fn a_link_to_a_partial_turn_stays_partial() {
    let first = turn(
        r#"{"model":"gpt-4.1","input":[{"type":"web_search_call","id":"ws_1","status":"completed"},{"role":"user","content":"Name a colour."}]}"#,
        &answer("resp_1", "Red."),
        "2025-08-24T00:00:00.000Z",
    );
    let second = turn(
        r#"{"model":"gpt-4.1","previous_response_id":"resp_1","input":"Another?"}"#,
        &answer("resp_2", "Blue."),
        "2025-08-24T00:01:00.000Z",
    );
    let root = write(vec![first, second]);
    let (lines, stderr) = export(&[&data(&root)], &[]);
    assert!(lines.is_empty(), "{lines:?}");
    assert!(
        stderr.contains("skipped 2:\n  partial (history not captured): 2\n"),
        "{stderr}"
    );
}

#[test]
fn chain_memory_is_a_bound() {
    let root = write(three_turns().into());
    let output = run(&[&data(&root)], &["--chain-memory", "0"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("--chain-memory 0 MiB"), "{stderr}");
    assert!(output.stdout.is_empty());
}

#[test]
fn a_loop_of_links_is_skipped_as_missing_history() {
    let a = turn(
        r#"{"model":"gpt-4.1","previous_response_id":"resp_b","input":"A?"}"#,
        &answer("resp_a", "A."),
        "2025-08-24T00:00:00.000Z",
    );
    let b = turn(
        r#"{"model":"gpt-4.1","previous_response_id":"resp_a","input":"B?"}"#,
        &answer("resp_b", "B."),
        "2025-08-24T00:01:00.000Z",
    );
    let root = write(vec![a, b]);
    let (lines, stderr) = export(&[&data(&root)], &[]);
    assert!(lines.is_empty(), "{lines:?}");
    assert!(stderr.contains("): 2\n"), "{stderr}");
}

#[test]
fn a_server_side_conversation_is_kept_in_params_and_skipped_as_partial() {
    let line = turn(
        r#"{"model":"gpt-4.1","conversation":"conv_689667905b048191b4740501625afd940c7533ace33a2dab","input":"Another?"}"#,
        &answer("resp_c", "Blue."),
        "2025-08-24T00:00:00.000Z",
    );
    let root = write(vec![line]);
    let (lines, stderr) = export(&[&data(&root)], &[]);
    assert!(lines.is_empty(), "{lines:?}");
    assert!(
        stderr.contains("skipped 1:\n  partial (history not captured): 1\n"),
        "{stderr}"
    );
    let (lines, _) = export(&[&data(&root)], &["--keep-partial"]);
    assert_eq!(lines.len(), 1);
    let record = &lines[0];
    assert_eq!(
        record["params"],
        json!({"conversation": "conv_689667905b048191b4740501625afd940c7533ace33a2dab"})
    );
    assert_eq!(record["partial"], true);
    assert!(record.get("rebuildable").is_none(), "{record}");
    assert_eq!(
        record["messages"],
        json!([m("user", "Another?"), m("assistant", "Blue.")])
    );
}
