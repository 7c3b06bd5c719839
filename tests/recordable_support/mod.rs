//! Random JSON text for the recordable property tests (`tests/recordable*.rs`) and the
//! property itself: every line `RecordContext::record_lines` lets through passes `validate`.

#![allow(dead_code)]

use bytes::Bytes;
use chrono::{DateTime, Utc};
use micromodel::dataset::validate::validate;
use micromodel::dataset::ValidateArgs;
use micromodel::record::capture::{parse_for, AnswerStream, Parsed};
use micromodel::record::line::RecordContext;
use micromodel::record::request::RequestView;
use micromodel::record::{CaptureLimits, EndpointKind};
use proptest::prelude::*;

// Random JSON text (not `serde_json::Value`, which cannot hold a lone surrogate or 1e400).

pub fn string_lit() -> impl Strategy<Value = String> {
    // Mostly plain text; escapes often; lone surrogates now and then.
    let piece = prop_oneof![
        12 => "[a-zA-Z0-9 ]{0,6}",
        1 => Just("\\n".to_owned()),
        1 => Just("\\\"".to_owned()),
        1 => Just("\\\\".to_owned()),
        1 => Just("\\/".to_owned()),
        1 => Just("\\u0000".to_owned()),
        1 => Just("\\u00e9".to_owned()),
        1 => Just("\\ud83d\\ude00".to_owned()),
        1 => Just("\\ud800".to_owned()),
        1 => Just("\\udfff".to_owned()),
        1 => Just("\\ud800\\u0041".to_owned()),
        1 => Just("\\udc00\\ud800".to_owned()),
        1 => Just("\\\\ud800".to_owned()),
        1 => Just("[{\\\"".to_owned()),
        1 => Just("é€😀".to_owned()),
        2 => any::<char>()
            .prop_filter("a raw char allowed in a JSON string", |c| {
                !c.is_control() && *c != '"' && *c != '\\'
            })
            .prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..6).prop_map(|parts| format!("\"{}\"", parts.concat()))
}

pub fn number_lit() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => any::<i64>().prop_map(|n| n.to_string()),
        8 => any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| format!("{f:e}")),
        4 => "-?[1-9][0-9]{0,2}(\\.[0-9]{1,3})?[eE][+-]?[0-9]{1,3}",
        1 => Just("1e400".to_owned()),
        1 => Just("-1.5E+309".to_owned()),
        1 => Just("1e-400".to_owned()),
        1 => Just("0e999".to_owned()),
        1 => Just("9".repeat(400)),
        1 => Just("1.7976931348623157e308".to_owned()),
    ]
}

pub fn leaf() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => string_lit(),
        2 => number_lit(),
        1 => Just("true".to_owned()),
        1 => Just("null".to_owned()),
    ]
}

pub fn tree() -> impl Strategy<Value = String> {
    let shallow = leaf().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec((string_lit(), inner), 0..4).prop_map(|members| {
                let members: Vec<String> = members
                    .into_iter()
                    .map(|(k, v)| format!("{k}:{v}"))
                    .collect();
                format!("{{{}}}", members.join(","))
            }),
        ]
    });
    // Mostly shallow; sometimes wrapped around serde_json's recursion limit.
    let depth = prop_oneof![16 => 0..3usize, 1 => 115..135usize];
    (shallow, depth, any::<bool>()).prop_map(|(inner, depth, objects)| {
        if objects {
            format!("{}{inner}{}", "{\"k\":".repeat(depth), "}".repeat(depth))
        } else {
            format!("{}{inner}{}", "[".repeat(depth), "]".repeat(depth))
        }
    })
}

pub fn day() -> DateTime<Utc> {
    "2025-08-24T10:30:00.000Z".parse().expect("time")
}

/// Writes `lines` where the recorder would and runs the real `validate` on the folder.
pub fn validate_lines(lines: &[String]) -> Vec<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let day = dir.path().join("w").join("24-08-2025");
    std::fs::create_dir_all(&day).expect("day folder");
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(day.join("data.jsonl"), text).expect("write");
    let report = validate(&ValidateArgs {
        data_dirs: vec![dir.path().to_path_buf()],
        repair: false,
        redact_check: false,
    })
    .expect("validate runs");
    assert_eq!(report.lines, lines.len() as u64);
    report.problems
}

/// The property: every line `record_lines` lets through validates. Returns how many lines
/// were recorded and validated (0 when the case records nothing).
pub fn check_case(
    kind: EndpointKind,
    request: &str,
    answer: Result<String, String>,
) -> Result<usize, TestCaseError> {
    let body = Bytes::from(request.to_owned());
    let Ok(view) = RequestView::parse(&body) else {
        return Ok(0); // the client gets a 400; nothing to record
    };
    let ctx = RecordContext::new(kind, "w".to_owned(), &view, &body);
    // What the proxy does with an answer: `parse_for` / `AnswerStream`, which hand the
    // Responses and Messages dialects to their own parsers.
    let parsed = match answer {
        Ok(json) => parse_for(kind, json.as_bytes(), ctx.max_choices()).ok(),
        Err(sse) => {
            let limits = CaptureLimits {
                max_bytes: 1 << 20,
                max_choices: ctx.max_choices(),
            };
            let mut capture = AnswerStream::new(kind, limits);
            capture.feed(sse.as_bytes());
            capture.finish().ok()
        }
    };
    let Some(Parsed { answer, .. }) = parsed else {
        return Ok(0); // counted as unparsable / incomplete; nothing to record
    };
    let lines: Vec<String> = ctx
        .record_lines(&answer, day(), 5)
        .into_iter()
        .filter_map(Result::ok)
        .collect();
    if lines.is_empty() {
        return Ok(0);
    }
    let problems = validate_lines(&lines);
    prop_assert!(
        problems.is_empty(),
        "validate refused {problems:?} for lines {lines:?}"
    );
    if std::env::var_os("MICROMODEL_PROPTEST_COUNT").is_some() {
        eprintln!("recorded {kind:?} lines={}", lines.len());
    }
    Ok(lines.len())
}
