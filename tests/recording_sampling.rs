//! Recording controls (issue 14, item 4), continued: `RECORD` as a sampled fraction over
//! thousands of distinct requests and repeats, live reload of the controls, their validation
//! and what `micromodel check` shows. Helpers in `controls_support`.

mod common;
mod controls_support;

use std::process::Command;

use common::upstream::openai_like;
use common::{client, free_port, FakeUpstream, Proxy};
use controls_support::*;
use futures_util::StreamExt;
use serde_json::json;

/// How many distinct requests are sent to a `RECORD: 0.25` workflow.
const TOTAL: usize = 4_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_sample_keeps_about_the_fraction_and_decides_a_repeat_alike() {
    let upstream = FakeUpstream::start(openai_like);
    let port = free_port();
    let config = json!({"s": {"OPENAI_API_HOST": upstream.url, "PORT": port, "RECORD": 0.25}});
    let (proxy, admin) = start(&config);
    let http = client();
    let url = format!("{}/v1/chat/completions", Proxy::url(port));
    let statuses: Vec<u16> = futures_util::stream::iter(0..TOTAL)
        .map(|i| {
            let request = http.post(&url).json(&chat(&format!("request {i}"))).send();
            async move { request.await.expect("send").status().as_u16() }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    assert!(statuses.iter().all(|s| *s == 200), "every request answered");

    let sampled_out = skipped("s", "sampled_out");
    let out = metric(admin, "micromodel_records_skipped_total", &sampled_out).await as usize;
    let kept = TOTAL - out;
    let written = [("workflow", "s")];
    wait_metric(
        admin,
        "micromodel_records_written_total",
        &written,
        kept as f64,
    )
    .await;
    let records = proxy.wait_records("s", kept);
    let share = kept as f64 / TOTAL as f64;
    assert!(
        (0.20..=0.30).contains(&share),
        "kept {kept} of {TOTAL} ({share})"
    );

    // Repeats of identical requests are decided as the first time.
    let recorded: std::collections::HashSet<String> = records
        .iter()
        .map(|r| {
            r["messages"][0]["content"]
                .as_str()
                .expect("content")
                .to_owned()
        })
        .collect();
    let repeats: Vec<String> = (0..40).map(|i| format!("request {i}")).collect();
    let expected_new = repeats.iter().filter(|c| recorded.contains(*c)).count();
    assert!(
        expected_new > 0 && expected_new < repeats.len(),
        "a mix of both decisions"
    );
    for content in &repeats {
        let response = http
            .post(&url)
            .json(&chat(content))
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 200);
    }
    let more = [("workflow", "s")];
    wait_metric(
        admin,
        "micromodel_records_written_total",
        &more,
        (kept + expected_new) as f64,
    )
    .await;
    let after = proxy.wait_records("s", kept + expected_new);
    let new: Vec<&str> = after[kept..]
        .iter()
        .map(|r| r["messages"][0]["content"].as_str().expect("content"))
        .collect();
    assert!(
        new.iter().all(|c| recorded.contains(*c)),
        "a repeat was decided differently"
    );
    let out_after = metric(admin, "micromodel_records_skipped_total", &sampled_out).await;
    assert_eq!(out_after as usize, out + repeats.len() - expected_new);
}

#[test]
fn record_and_respect_store_errors_are_all_reported_naming_the_workflow() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.json");
    let config = json!({
        "a": {"OPENAI_API_HOST": "http://x", "PORT": 3001, "RECORD": 1.5, "RESPECT_STORE": "yes"},
        "b": {"OPENAI_API_HOST": "http://x", "PORT": 3002, "RECORD": "some"},
        "c": {"OPENAI_API_HOST": "http://x", "PORT": 3003, "RECORD": true},
        "d": {"OPENAI_API_HOST": "http://x", "PORT": 3004, "RECORD": -0.1, "RESPECT_STORE": 1},
        "ok": {"OPENAI_API_HOST": "http://x", "PORT": 3005, "RECORD": "None", "RESPECT_STORE": true},
    });
    std::fs::write(&path, config.to_string()).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_micromodel"))
        .arg("check")
        .arg("--config")
        .arg(&path)
        .output()
        .expect("run check");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for expected in [
        "workflow \"a\": field RECORD is the number 1.5, must be \"all\", \"none\" or a number from 0.0 to 1.0",
        "workflow \"a\": field RESPECT_STORE must be true or false, found the string \"yes\"",
        "workflow \"b\": field RECORD is the string \"some\", must be",
        "workflow \"c\": field RECORD must be \"all\", \"none\" or a number from 0.0 to 1.0, found the boolean true",
        "workflow \"d\": field RECORD is the number -0.1",
        "workflow \"d\": field RESPECT_STORE must be true or false, found the number 1",
    ] {
        assert!(stderr.contains(expected), "missing {expected:?} in:\n{stderr}");
    }
    assert!(!stderr.contains("\"ok\""), "{stderr}");
    assert_eq!(stderr.matches("  - ").count(), 6, "{stderr}");
}

#[tokio::test]
async fn record_and_respect_store_reload_live() {
    let upstream = FakeUpstream::start(openai_like);
    let port = free_port();
    let (proxy, admin) = start(&json!({"w": {"OPENAI_API_HOST": upstream.url, "PORT": port}}));
    let mut store_false = chat("before");
    store_false["store"] = json!(false);
    assert_eq!(
        post(port, "/v1/chat/completions", &store_false, None)
            .await
            .status(),
        200
    );
    proxy.wait_records("w", 1);

    proxy.write_config(&json!({"w": {
        "OPENAI_API_HOST": upstream.url, "PORT": port, "RESPECT_STORE": true
    }}));
    proxy.wait_log("Config reloaded.", 1);
    store_false["messages"][0]["content"] = json!("after");
    assert_eq!(
        post(port, "/v1/chat/completions", &store_false, None)
            .await
            .status(),
        200
    );
    let records = records_before_marker(&proxy, port, "w", 1).await;
    assert_eq!(records[0]["messages"][0]["content"], "before");
    wait_metric(
        admin,
        "micromodel_records_skipped_total",
        &skipped("w", "store_false"),
        1.0,
    )
    .await;

    proxy.write_config(
        &json!({"w": {"OPENAI_API_HOST": upstream.url, "PORT": port, "RECORD": "none"}}),
    );
    proxy.wait_log("Config reloaded.", 2);
    assert_eq!(
        post(port, "/v1/chat/completions", &chat("quiet"), None)
            .await
            .status(),
        200
    );
    wait_metric(
        admin,
        "micromodel_records_skipped_total",
        &skipped("w", "record_none"),
        1.0,
    )
    .await;
    assert_eq!(proxy.records("w").len(), 2, "before and the marker only");
}

#[test]
fn check_shows_the_recording_controls_that_are_not_the_defaults() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.json");
    let config = json!({
        "plain": {"OPENAI_API_HOST": "http://x", "PORT": 3001},
        "sampled": {"OPENAI_API_HOST": "http://x", "PORT": 3002, "RECORD": 0.25, "RESPECT_STORE": true},
        "quiet": {"OPENAI_API_HOST": "http://x", "PORT": 3003, "RECORD": "none"},
    });
    std::fs::write(&path, config.to_string()).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_micromodel"))
        .arg("check")
        .arg("--config")
        .arg(&path)
        .output()
        .expect("run check");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("recording: RECORD 25%, RESPECT_STORE"),
        "{stdout}"
    );
    assert!(stdout.contains("recording: RECORD none"), "{stdout}");
    assert_eq!(stdout.matches("recording:").count(), 2, "{stdout}");
}
