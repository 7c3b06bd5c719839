//! Every line the recorder writes passes `micromodel validate` (issue 11, item 6).
//!
//! - A property test: lines built by `RecordContext::record_lines` from random requests and
//!   answers (nesting, escapes, surrogates, numbers, missing roles) are refused as
//!   unrecordable or pass the real `validate`.
//! - The real binary: each problem request through the proxy, then `micromodel validate` exits
//!   0 and `micromodel export` names the reason of any line it skips.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use common::upstream::openai_like;
use common::{client, free_port, one_workflow, FakeUpstream, Proxy};
use micromodel::dataset::validate::validate;
use micromodel::dataset::ValidateArgs;
use micromodel::record::line::RecordContext;
use micromodel::record::request::RequestView;
use micromodel::record::{parse_answer_limited, CaptureLimits, EndpointKind, StreamCapture};
use proptest::prelude::*;

// Random JSON text (not `serde_json::Value`, which cannot hold a lone surrogate or 1e400).

fn string_lit() -> impl Strategy<Value = String> {
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

fn number_lit() -> impl Strategy<Value = String> {
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

fn leaf() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => string_lit(),
        2 => number_lit(),
        1 => Just("true".to_owned()),
        1 => Just("null".to_owned()),
    ]
}

fn tree() -> impl Strategy<Value = String> {
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

fn message() -> impl Strategy<Value = String> {
    prop_oneof![
        24 => (string_lit(), tree()).prop_map(|(role, content)| {
            format!("{{\"role\":{role},\"content\":{content}}}")
        }),
        1 => tree().prop_map(|content| format!("{{\"content\":{content}}}")),
        1 => tree().prop_map(|role| format!("{{\"role\":{role}}}")),
        1 => tree(),
    ]
}

fn request() -> impl Strategy<Value = String> {
    let tools = prop_oneof![
        Just(String::new()),
        tree().prop_map(|t| format!(",\"tools\":[{t}]")),
        tree().prop_map(|t| format!(",\"tools\":{t}")),
    ];
    (
        string_lit(),
        prop::collection::vec(message(), 0..4),
        tools,
        1..3u32,
        any::<bool>(),
    )
        .prop_map(|(model, messages, tools, n, stream)| {
            format!(
                "{{\"model\":{model},\"messages\":[{}]{tools},\"n\":{n},\"stream\":{stream}}}",
                messages.join(",")
            )
        })
}

/// A non-streamed chat answer with `choices` random choices.
fn answer() -> impl Strategy<Value = String> {
    let role = prop_oneof![8 => Just("\"assistant\"".to_owned()), 1 => string_lit()];
    let content = prop_oneof![3 => string_lit(), 1 => tree()];
    let choice = (role, content, tree(), prop::option::of(string_lit()));
    (prop::collection::vec(choice, 1..4), tree(), string_lit()).prop_map(|(choices, usage, id)| {
        let choices: Vec<String> = choices
            .into_iter()
            .enumerate()
            .map(|(i, (role, content, extra, refusal))| {
                let refusal = refusal.map_or(String::new(), |r| format!(",\"refusal\":{r}"));
                format!(
                    "{{\"index\":{i},\"message\":{{\"role\":{role},\"content\":{content},\
                         \"annotations\":{extra}{refusal}}},\"finish_reason\":\"stop\"}}"
                )
            })
            .collect();
        format!(
            "{{\"id\":{id},\"choices\":[{}],\"usage\":{usage}}}",
            choices.join(",")
        )
    })
}

/// A streamed chat answer: content deltas, then a finish reason and `[DONE]`.
fn stream_answer() -> impl Strategy<Value = String> {
    (prop::collection::vec(string_lit(), 1..5), tree()).prop_map(|(deltas, usage)| {
        let mut out = String::new();
        for delta in deltas {
            out.push_str(&format!(
                "data: {{\"id\":\"s\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":{delta}}}}}]}}\n\n"
            ));
        }
        out.push_str(&format!(
            "data: {{\"id\":\"s\",\"choices\":[{{\"index\":0,\"delta\":{{}},\"finish_reason\":\"stop\"}}],\"usage\":{usage}}}\n\ndata: [DONE]\n\n"
        ));
        out
    })
}

fn day() -> DateTime<Utc> {
    "2025-08-24T10:30:00.000Z".parse().expect("time")
}

/// Writes `lines` where the recorder would and runs the real `validate` on the folder.
fn validate_lines(lines: &[String]) -> Vec<String> {
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

/// The property: every line `record_lines` lets through validates.
fn check_case(request: &str, answer: Result<String, String>) -> Result<(), TestCaseError> {
    let body = Bytes::from(request.to_owned());
    let Ok(view) = RequestView::parse(&body) else {
        return Ok(()); // the client gets a 400; nothing to record
    };
    let ctx = RecordContext::new(EndpointKind::Chat, "w".to_owned(), &view, &body);
    let parsed = match answer {
        Ok(json) => parse_answer_limited(EndpointKind::Chat, json.as_bytes(), ctx.max_choices())
            .map(|(answer, _)| answer)
            .ok(),
        Err(sse) => {
            let limits = CaptureLimits {
                max_bytes: 1 << 20,
                max_choices: ctx.max_choices(),
            };
            let mut capture = StreamCapture::with_limits(EndpointKind::Chat, limits);
            capture.feed(sse.as_bytes());
            capture.finish().ok()
        }
    };
    let Some(answer) = parsed else {
        return Ok(()); // counted as unparsable / incomplete; nothing to record
    };
    let lines: Vec<String> = ctx
        .record_lines(&answer, day(), 5)
        .into_iter()
        .filter_map(Result::ok)
        .collect();
    if lines.is_empty() {
        return Ok(());
    }
    let problems = validate_lines(&lines);
    prop_assert!(
        problems.is_empty(),
        "validate refused {problems:?} for lines {lines:?}"
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn recorded_lines_from_random_non_streamed_answers_validate(request in request(), answer in answer()) {
        check_case(&request, Ok(answer))?;
    }

    #[test]
    fn recorded_lines_from_random_streams_validate(request in request(), sse in stream_answer()) {
        check_case(&request, Err(sse))?;
    }
}

// The real binary.

/// The requests of the issue, as raw text (a lone surrogate cannot be built with serde_json);
/// `DEEP` stands for 200 nested arrays.
const PROBLEM_REQUESTS: [(&str, &str); 7] = [
    (
        "lone surrogate",
        r#"{"model":"m","messages":[{"role":"user","content":"broken \ud800 emoji"}]}"#,
    ),
    (
        "deep messages",
        r#"{"model":"m","messages":[{"role":"user","content":DEEP}]}"#,
    ),
    (
        "deep tools",
        r#"{"model":"m","messages":[{"role":"user","content":"t"}],"tools":[DEEP]}"#,
    ),
    (
        "number out of range",
        r#"{"model":"m","messages":[{"role":"user","content":[{"n":1e400}]}]}"#,
    ),
    (
        "message without role",
        r#"{"model":"m","messages":[{"content":"who am I"}]}"#,
    ),
    (
        "tools not an array",
        r#"{"model":"m","messages":[{"role":"user","content":"t"}],"tools":{"a":1}}"#,
    ),
    (
        "odd answer",
        r#"{"model":"odd","messages":[{"role":"user","content":"odd"}]}"#,
    ),
];

/// An answer with a lone surrogate in a copied field and a `usage` that is not an object.
const ODD_ANSWER: &str = r#"{"id":"odd-1","choices":[{"index":0,"message":{"role":"assistant","content":"fine","annotations":["\udc00"]},"finish_reason":"stop"}],"usage":5}"#;

fn micromodel(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_micromodel"))
        .args(args)
        .output()
        .expect("run micromodel")
}

async fn dropped_unrecordable(admin: u16) -> f64 {
    let text = client()
        .get(format!("http://127.0.0.1:{admin}/metrics"))
        .send()
        .await
        .expect("scrape")
        .text()
        .await
        .expect("text");
    text.lines()
        .filter_map(|l| l.rsplit_once(' '))
        .find(|(name, _)| *name == "micromodel_records_dropped_total{reason=\"unrecordable\"}")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn problem_requests_through_the_proxy_leave_a_data_folder_that_validates() {
    let upstream = FakeUpstream::start(|seen| async move {
        if seen.body.windows(5).any(|w| w == b"\"odd\"") {
            return Response::builder()
                .status(StatusCode::OK)
                .header("content-type", "application/json")
                .body(Body::from(ODD_ANSWER))
                .expect("response");
        }
        openai_like(seen).await
    });
    let (port, admin) = (free_port(), free_port());
    let proxy = Proxy::start(
        &one_workflow("w", &upstream.url, port, ""),
        &["--admin-addr", &format!("127.0.0.1:{admin}")],
    );
    let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    for (name, body) in PROBLEM_REQUESTS {
        let body = body.replace("DEEP", &deep);
        let response = client()
            .post(format!("{}/v1/chat/completions", Proxy::url(port)))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 200, "{name}: the client gets its answer");
        response.bytes().await.expect("body");
    }
    // Refused: deep messages, deep tools, number, no role, tools not an array.
    let deadline = Instant::now() + Duration::from_secs(15);
    while dropped_unrecordable(admin).await < 5.0 {
        assert!(Instant::now() < deadline, "{}", proxy.logs());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(dropped_unrecordable(admin).await, 5.0);
    proxy.wait_log("Record refused", 1);
    // Recorded: the lone surrogate (replaced) and the odd answer (repaired).
    let lines = {
        let records = proxy.wait_records("w", 2);
        assert_eq!(
            records[0]["messages"][0]["content"],
            "broken \u{fffd} emoji"
        );
        assert_eq!(records[1]["messages"][1]["annotations"][0], "\u{fffd}");
        assert!(records[1].get("usage").is_none());
        common::raw_lines(&proxy.data_dir)
    };
    assert_eq!(lines.len(), 2);

    let data = proxy.data_dir.to_str().expect("utf-8 path");
    let validated = micromodel(&["validate", "--data-dir", data]);
    assert!(
        validated.status.success(),
        "validate: {}{}",
        String::from_utf8_lossy(&validated.stdout),
        String::from_utf8_lossy(&validated.stderr)
    );
    let out = proxy.dir.path().join("export.jsonl");
    let out = out.to_str().expect("utf-8 path");
    let exported = micromodel(&["export", "--data-dir", data, "--out", out]);
    let summary = String::from_utf8_lossy(&exported.stderr);
    assert!(exported.status.success(), "{summary}");
    assert!(summary.contains("wrote 2 lines"), "{summary}");
    assert!(!summary.contains("skipped"), "{summary}");

    // A line an older recorder wrote: export skips it and names why.
    let file = std::fs::read_dir(proxy.data_dir.join("w"))
        .expect("workflow folder")
        .flatten()
        .next()
        .expect("day folder")
        .path()
        .join("data.jsonl");
    let legacy = lines[0].replace("\"broken \\ufffd emoji\"", "1e400");
    assert_ne!(legacy, lines[0]);
    let mut text = std::fs::read_to_string(&file).expect("read");
    text.push_str(&legacy);
    text.push('\n');
    std::fs::write(&file, text).expect("write");
    let exported = micromodel(&["export", "--data-dir", data, "--out", out]);
    let summary = String::from_utf8_lossy(&exported.stderr);
    assert!(exported.status.success(), "{summary}");
    assert!(summary.contains("invalid line: 1"), "{summary}");
    assert!(summary.contains("number out of range"), "{summary}");
}
