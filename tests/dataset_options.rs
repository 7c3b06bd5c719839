//! `export`'s options over the two-replica fixture (dataset_support): which records it writes
//! (`--finish-reason` and its default, `--workflow`, `--since`/`--until`, `--model`,
//! `--endpoint`, `--min-turns`, `--dedupe`), `--split` into train and valid parts, `--strict` on
//! a bad line, and refusing an `--out` inside a data folder.

mod dataset_support;

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use dataset_support::{json_lines, ok, stderr, user_text, Fixture, RECORDS, SUPPORT_24};
use serde_json::Value;

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
