//! The binary under load, on a full disk, at start (torn line repair) and at a stop.

mod common;

use std::process::Command;
use std::time::Duration;

use axum::http::StatusCode;
use common::upstream::{chat_completion, json_response, openai_like};
use common::{check, client, eventually_async, free_port, lazily, FakeUpstream, Proxy};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_concurrent_requests_give_exactly_five_hundred_lines() {
    let upstream = FakeUpstream::start(openai_like);
    let (a, b) = (free_port(), free_port());
    let config = json!({
        "alpha": {"OPENAI_API_HOST": upstream.url, "PORT": a},
        "beta": {"OPENAI_API_HOST": upstream.url, "PORT": b}
    });
    let mut proxy = Proxy::start(&config, &[]);
    let http = client();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..500u32 {
        let http = http.clone();
        let port = if i % 2 == 0 { a } else { b };
        tasks.spawn(async move {
            let content = format!("request {i} {}", "padding ".repeat((i % 50) as usize));
            let response = http
                .post(format!("{}/v1/chat/completions", Proxy::url(port)))
                .json(&json!({"model":"m","messages":[{"role":"user","content":content}]}))
                .send()
                .await
                .expect("send");
            assert_eq!(response.status(), 200);
        });
    }
    while let Some(result) = tasks.join_next().await {
        result.expect("request task");
    }
    assert!(proxy.stop().success());
    let lines = common::raw_lines(&proxy.data_dir);
    assert_eq!(lines.len(), 500);
    let mut seen = std::collections::HashSet::new();
    for line in &lines {
        let record: Value =
            serde_json::from_str(line).expect("every line is one valid JSON object");
        let content = record["messages"][0]["content"]
            .as_str()
            .expect("content")
            .to_owned();
        let n: u32 = content
            .split(' ')
            .nth(1)
            .expect("n")
            .parse()
            .expect("number");
        let expected = if n % 2 == 0 { "alpha" } else { "beta" };
        assert_eq!(record["workflow_id"], expected);
        assert!(seen.insert(n), "request {n} recorded twice");
    }
    assert_eq!(proxy.records("alpha").len(), 250);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_torn_last_line_is_cut_at_start_and_the_next_record_is_valid() {
    let upstream = FakeUpstream::start(openai_like);
    let port = free_port();
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = dir.path().join("data");
    let day = data_dir
        .join("torn")
        .join(chrono::Utc::now().format("%d-%m-%Y").to_string());
    std::fs::create_dir_all(&day).expect("mkdir");
    let good = r#"{"messages":[],"timestamp":"2025-08-24T10:30:00.000Z","endpoint":"/v1/chat/completions","model":"m","workflow_id":"torn"}"#;
    std::fs::write(
        day.join("data.jsonl"),
        format!("{good}\n{{\"messages\":[{{\"role\":\"us"),
    )
    .expect("write");
    let config = json!({"torn": {"OPENAI_API_HOST": upstream.url, "PORT": port}});
    let proxy = Proxy::start_in(dir, data_dir, &config, &[], &[]);
    client()
        .post(format!("{}/v1/chat/completions", Proxy::url(port)))
        .json(&json!({"model":"m","messages":[{"role":"user","content":"after the crash"}]}))
        .send()
        .await
        .expect("send");
    let records = proxy.wait_records("torn", 2);
    assert_eq!(records[0]["timestamp"], "2025-08-24T10:30:00.000Z");
    assert_eq!(records[1]["messages"][0]["content"], "after the crash");
    let logs = proxy.logs();
    assert!(
        logs.contains("WARN") && logs.contains("data.jsonl"),
        "repair is logged: {logs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_a_slow_request_finish_and_records_it() {
    // The upstream answers only once the test opens the gate, after the proxy began to stop.
    let (open_gate, gate) = tokio::sync::watch::channel(false);
    let upstream = FakeUpstream::start(move |_| {
        let mut gate = gate.clone();
        async move {
            let _ = gate.wait_for(|open| *open).await;
            json_response(StatusCode::OK, &chat_completion("worth the wait"))
        }
    });
    let port = free_port();
    let mut proxy = Proxy::start(
        &json!({"slow": {"OPENAI_API_HOST": upstream.url, "PORT": port}}),
        &[],
    );
    let request = tokio::spawn(
        client()
            .post(format!("{}/v1/chat/completions", Proxy::url(port)))
            .json(&json!({"model":"m","messages":[{"role":"user","content":"slow one"}]}))
            .send(),
    );
    // Wait until the upstream has the request, then stop; answer once the stop has begun.
    eventually_async(
        Duration::from_secs(20),
        "the upstream to get the request",
        || {
            let seen = upstream.seen().len();
            async move { check(seen > 0, || "no request yet".to_owned()) }
        },
    )
    .await;
    proxy.signal(libc::SIGTERM);
    proxy.wait_log("Stopping", 1);
    open_gate.send(true).expect("the upstream holds the gate");
    let response = request
        .await
        .expect("join")
        .expect("answered despite the stop");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["choices"][0]["message"]["content"], "worth the wait");
    let status = proxy.wait_exit(Duration::from_secs(30));
    assert_eq!(status.code(), Some(0));
    let records = proxy.records("slow");
    assert_eq!(records.len(), 1, "on disk at exit");
    // No new connections once stopped.
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

/// A tmpfs mounted for one test; unmounted when dropped.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(path: &std::path::Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(path).ok()?;
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .status()
            .ok()?;
        status.success().then(|| Tmpfs(path.to_owned()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root: mounts a tmpfs (.ci/run runs it with --ignored)"]
async fn full_disk_keeps_serving_and_catches_up_without_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = dir.path().join("data");
    let mount = Tmpfs::mount(&data_dir, "256k").expect("mount a tmpfs (needs root)");
    let upstream = FakeUpstream::start(openai_like);
    let port = free_port();
    let config = json!({"full": {"OPENAI_API_HOST": upstream.url, "PORT": port}});
    let mut proxy = Proxy::start_in(
        dir,
        data_dir.clone(),
        &config,
        &["--queue-records", "8"],
        &[],
    );
    let send = |i: usize| {
        client()
            .post(format!("{}/v1/chat/completions", Proxy::url(port)))
            .json(&json!({"model":"m","messages":[{"role":"user","content":format!("message {i} {}", "x".repeat(300))}]}))
            .send()
    };
    // One record lands, so the day folder exists; then the disk is filled.
    assert_eq!(send(0).await.expect("send").status(), 200);
    proxy.wait_records("full", 1);
    let filler = data_dir.join("filler");
    let mut file = std::fs::File::create(&filler).expect("filler");
    let chunk = vec![b'f'; 4096];
    while std::io::Write::write_all(&mut file, &chunk).is_ok() {}
    drop(file);

    for i in 1..=40 {
        let response = send(i).await.expect("send");
        assert_eq!(
            response.status(),
            200,
            "requests keep succeeding on a full disk"
        );
    }
    // While full (a write has failed): every line in the file is complete.
    proxy.wait_log("recorder write failed", 1);
    for line in common::raw_lines(&data_dir.join("full")) {
        serde_json::from_str::<Value>(&line).expect("no partial line while the disk is full");
    }
    let logs = proxy.logs();
    assert!(
        logs.contains("dropped"),
        "overflow of the tiny queue is logged: {logs}"
    );

    std::fs::remove_file(&filler).expect("free space");
    // The queued records (at least the queue's 8 plus the batch in hand) arrive without a restart.
    let watched = &proxy;
    eventually_async(
        Duration::from_secs(15),
        "9 records once space was freed",
        || {
            let proxy = watched;
            let count = proxy.records("full").len();
            let done = if count >= 9 {
                Ok(())
            } else {
                Err(lazily(move || {
                    format!("{count} records; the log:\n{}", proxy.logs())
                }))
            };
            async move { done }
        },
    )
    .await;
    assert!(proxy.stop().success());
    let records = proxy.records("full");
    assert!(
        records.len() < 41,
        "the tiny queue overflowed, so some were dropped"
    );
    drop(mount);
}
