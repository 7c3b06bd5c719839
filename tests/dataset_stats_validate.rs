//! `stats` (per workflow and day, as JSON and text) and `validate` (every problem reported,
//! `--repair` cutting torn last lines) over the two-replica fixture (dataset_support).

mod dataset_support;

use std::fs;

use dataset_support::{ok, run, stderr, Fixture, RECORDS, SUPPORT_24, SUPPORT_25};
use serde_json::{json, Value};

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
