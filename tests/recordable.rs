//! Every line the recorder writes passes `micromodel validate` (issue 11, item 6).
//!
//! - A property test: lines built by `RecordContext::record_lines` from random requests and
//!   answers (nesting, escapes, surrogates, numbers, missing roles) are refused as
//!   unrecordable or pass the real `validate`.
//! - The real binary: each problem request through the proxy, then `micromodel validate` exits
//!   0 and `micromodel export` names the reason of any line it skips.

mod common;
mod recordable_support;

use std::process::Command;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::Response;
use common::upstream::openai_like;
use common::{client, free_port, one_workflow, FakeUpstream, Proxy};
use micromodel::record::EndpointKind;
use proptest::prelude::*;
use recordable_support::{check_case, string_lit, tree};

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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn recorded_lines_from_random_non_streamed_answers_validate(request in request(), answer in answer()) {
        let _recorded = check_case(EndpointKind::Chat, &request, Ok(answer))?;
    }

    #[test]
    fn recorded_lines_from_random_streams_validate(request in request(), sse in stream_answer()) {
        let _recorded = check_case(EndpointKind::Chat, &request, Err(sse))?;
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
