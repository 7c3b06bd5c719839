//! Logs that explain failures, through the real binary: upstream failures at `warn` with
//! workflow, kind, host and status (never the key), rate-limited per workflow and kind; an
//! unchanged reload at `info`; `stats` naming the day folders.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use axum::http::StatusCode;
use common::upstream::{controlled_sse, json_response, sse_events};
use common::{
    client, eventually, eventually_async, free_port, lazily, one_workflow, FakeUpstream, Proxy,
};

/// Longest wait for a log line.
const LIMIT: Duration = Duration::from_secs(20);
/// The upstream key of every config here: it must never show up in the log.
const KEY: &str = "sk-never-logged-0123456789";

/// Every JSON log line.
fn log_lines(proxy: &Proxy) -> Vec<Value> {
    proxy
        .logs()
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

/// The upstream failure lines of `kind`.
fn failures(proxy: &Proxy, kind: &str) -> Vec<Value> {
    log_lines(proxy)
        .into_iter()
        .filter(|l| l["target"] == "micromodel::proxy::failure_log" && l["kind"] == kind)
        .collect()
}

/// Polls until a failure line of `kind` for which `matches` holds is logged.
fn wait_failure(proxy: &Proxy, kind: &str, matches: impl Fn(&Value) -> bool) -> Value {
    let logs = lazily(|| proxy.logs());
    eventually(LIMIT, format!("a {kind} failure line"), || {
        failures(proxy, kind)
            .into_iter()
            .find(&matches)
            .ok_or(&logs)
    })
}

fn start(upstream: &str, timeout: Option<f64>, extra: &[&str]) -> (Proxy, u16) {
    let port = free_port();
    let mut config = one_workflow("w", upstream, port, KEY);
    if let Some(seconds) = timeout {
        config["w"]["TIMEOUT_SECONDS"] = json!(seconds);
    }
    let mut args = vec!["--log-format", "json"];
    args.extend(extra);
    (Proxy::start(&config, &args), port)
}

async fn chat(port: u16, stream: bool) -> reqwest::Response {
    client()
        .post(format!("{}/v1/chat/completions", Proxy::url(port)))
        .json(&json!({"model": "m", "stream": stream,
                      "messages": [{"role": "user", "content": "Hi"}]}))
        .send()
        .await
        .expect("send")
}

fn assert_no_key(proxy: &Proxy) {
    assert!(!proxy.logs().contains(KEY), "the key is in the log");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_upstream_logs_one_warn_line_with_workflow_kind_host_and_status() {
    let dead = free_port();
    let (proxy, port) = start(&format!("http://127.0.0.1:{dead}/v1"), None, &[]);
    assert_eq!(chat(port, false).await.status(), 502);
    let line = wait_failure(&proxy, "refused", |_| true);
    assert_eq!(line["level"], "WARN");
    assert_eq!(line["workflow"], "w");
    assert_eq!(line["host"], format!("http://127.0.0.1:{dead}"));
    assert_eq!(line["status"], 502);
    assert_eq!(line["suppressed"], 0);
    assert!(
        line["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{line}"
    );
    assert_no_key(&proxy);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_upstream_does_not_flood_the_log() {
    let dead = free_port();
    let (proxy, port) = start(&format!("http://127.0.0.1:{dead}"), None, &[]);
    const REQUESTS: usize = 30;
    let started = Instant::now();
    for _ in 0..REQUESTS {
        assert_eq!(chat(port, false).await.status(), 502);
    }
    // Every failure is counted by the time the last 502 is out; lines are at most one per
    // 10 s window (the default) since the first.
    wait_failure(&proxy, "refused", |_| true);
    let windows = 1 + started.elapsed().as_secs() / 10;
    let lines = failures(&proxy, "refused").len() as u64;
    assert!(
        lines <= windows,
        "{lines} lines for {REQUESTS} failures:\n{}",
        proxy.logs()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_line_says_how_many_failures_were_not_logged() {
    let dead = free_port();
    let (proxy, port) = start(
        &format!("http://127.0.0.1:{dead}"),
        None,
        &["--upstream-log-seconds", "1"],
    );
    // Fail until a second line (after the 1 s window) counts the failures in between.
    eventually_async(LIMIT, "a line with a suppressed count", || async {
        if failures(&proxy, "refused")
            .iter()
            .any(|l| l["suppressed"].as_u64() > Some(0))
        {
            return Ok(());
        }
        assert_eq!(chat(port, false).await.status(), 502);
        Err(proxy.logs())
    })
    .await;
    assert_eq!(failures(&proxy, "refused")[0]["suppressed"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_failure_is_logged_as_tls() {
    // The test certificate is not trusted (no SSL_CERT_FILE): the handshake fails.
    let upstream = FakeUpstream::start_tls(common::upstream::openai_like);
    let (proxy, port) = start(&upstream.url, None, &[]);
    assert_eq!(chat(port, false).await.status(), 502);
    let line = wait_failure(&proxy, "tls", |_| true);
    assert_eq!(line["host"], format!("https://localhost:{}", upstream.port));
    assert_eq!(line["status"], 502);
    assert_no_key(&proxy);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_is_logged_with_the_504() {
    let upstream = FakeUpstream::start(|_| async {
        tokio::time::sleep(Duration::from_secs(60)).await;
        json_response(StatusCode::OK, &json!({}))
    });
    let (proxy, port) = start(&upstream.url, Some(0.3), &[]);
    assert_eq!(chat(port, false).await.status(), 504);
    let line = wait_failure(&proxy, "timeout", |_| true);
    assert_eq!(line["status"], 504);
    assert_eq!(line["host"], upstream.url);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_or_silent_body_is_logged_with_the_status_already_sent() {
    let (upstream, mut handles) = controlled_sse();
    let (proxy, port) = start(&upstream.url, Some(1.0), &[]);
    let chunk = json!({"id": "c1", "object": "chat.completion.chunk", "model": "m",
        "choices": [{"index": 0, "delta": {"content": "Par"}, "finish_reason": null}]});
    let event = sse_events(&[chunk])[0].clone();

    // The event is sent without waiting for the client to have the head: the proxy holds a
    // stream's head up to a second for its first event, as long as the silence allowed here.
    let pending = tokio::spawn(chat(port, true));
    let handle = handles.recv().await.expect("stream");
    handle.send(event.clone());
    let response = pending.await.expect("join");
    assert_eq!(response.status(), 200);
    handle.fail();
    let _ = response.bytes().await;
    let line = wait_failure(&proxy, "broken_body", |_| true);
    assert_eq!(line["status"], 200);
    assert_eq!(line["workflow"], "w");

    // Headers and one chunk, then silence past TIMEOUT_SECONDS.
    let pending = tokio::spawn(chat(port, true));
    let handle = handles.recv().await.expect("stream");
    handle.send(event);
    let response = pending.await.expect("join");
    let _ = response.bytes().await;
    let line = wait_failure(&proxy, "idle_timeout", |_| true);
    assert_eq!(line["status"], 200);
    drop(handle);
    assert_no_key(&proxy);
}

#[test]
fn a_reload_that_changes_nothing_logs_config_unchanged_at_info() {
    let upstream = FakeUpstream::start(common::upstream::openai_like);
    let (proxy, _) = start(&upstream.url, None, &[]);
    proxy.signal(libc::SIGHUP);
    let logs = lazily(|| proxy.logs());
    let unchanged = eventually(LIMIT, "a \"Config unchanged\" line", || {
        let unchanged: Vec<Value> = log_lines(&proxy)
            .into_iter()
            .filter(|l| {
                l["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("Config unchanged"))
            })
            .collect();
        if unchanged.is_empty() {
            Err(&logs)
        } else {
            Ok(unchanged)
        }
    });
    assert_eq!(unchanged[0]["level"], "INFO", "{}", unchanged[0]);
    assert_eq!(unchanged[0]["trigger"], "SIGHUP");
    assert_eq!(unchanged.len(), 1, "one line per reload");
}

#[test]
fn stats_names_the_day_folders_and_its_date_notation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let day = dir.path().join("support").join("24-08-2025");
    std::fs::create_dir_all(&day).expect("mkdir");
    let record = json!({"messages": [{"role": "user", "content": "Hi"},
                                     {"role": "assistant", "content": "Hello"}],
        "timestamp": "2025-08-24T10:30:00.000Z", "endpoint": "/v1/chat/completions",
        "model": "m", "workflow_id": "support", "finish_reason": "stop"});
    std::fs::write(day.join("data.jsonl"), format!("{record}\n")).expect("write");
    let data_dir = dir.path().to_str().expect("utf-8");
    let run = |json: bool| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_micromodel"));
        command.args(["stats", "--data-dir", data_dir]);
        if json {
            command.arg("--json");
        }
        let output = command.output().expect("stats");
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).expect("utf-8")
    };
    let text = run(false);
    assert!(
        text.starts_with("Days are UTC dates written YYYY-MM-DD"),
        "{text}"
    );
    assert!(text.contains("folders are named DD-MM-YYYY"), "{text}");
    assert!(text.contains("support 2025-08-24: 1 records"), "{text}");
    assert!(text.contains("  folder: support/24-08-2025\n"), "{text}");
    let stats: Value = serde_json::from_str(&run(true)).expect("JSON");
    assert_eq!(stats["days"][0]["folder"], "24-08-2025");
    assert_eq!(stats["days"][0]["date"], "2025-08-24");
}
