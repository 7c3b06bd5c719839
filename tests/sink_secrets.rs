//! The `--sink` URL and the store's credentials never reach the log, even at `RUST_LOG=trace`
//! (every crate's trace lines: object_store, reqwest, hyper): a URL carrying credentials is
//! refused with the URL masked, and a working sink against a real S3 store (SeaweedFS) logs
//! neither the secret key of its environment nor anything else secret.

mod common;
mod sink_support;

use std::process::Command;
use std::time::Duration;

use common::seaweed::SECRET_KEY;
use common::upstream::openai_like;
use common::{eventually, free_port, FakeUpstream, Proxy};
use serde_json::json;
use sink_support::{lines_of, load, objects, Seaweed};

/// What the tests plant in URLs; it must never be printed.
const PLANTED: &str = "PLANTEDSECRET0123";

#[test]
fn sink_urls_with_credentials_are_refused_and_never_shown() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.json");
    let port = free_port();
    std::fs::write(
        &config,
        json!({"w": {"OPENAI_API_HOST": "http://127.0.0.1:9", "PORT": port}}).to_string(),
    )
    .expect("config");
    let urls = [
        format!("s3://AKIDEXAMPLE:{PLANTED}@bucket/prefix"),
        format!("s3://bucket/prefix?X-Amz-Security-Token={PLANTED}"),
        format!("file:///tmp/sink?token={PLANTED}"),
        format!("ftp://user:{PLANTED}@host/p"),
        format!("s3://bucket/prefix#{PLANTED}"),
    ];
    for url in &urls {
        // As a flag and as its environment twin.
        for by_env in [false, true] {
            let mut command = Command::new(env!("CARGO_BIN_EXE_micromodel"));
            command
                .arg("serve")
                .arg("--config")
                .arg(&config)
                .arg("--data-dir")
                .arg(dir.path().join("data"))
                .env("RUST_LOG", "trace");
            if by_env {
                command.env("MICROMODEL_SINK", url);
            } else {
                command.arg("--sink").arg(url);
            }
            let out = command.output().expect("run micromodel");
            let stderr = String::from_utf8_lossy(&out.stderr);
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert_eq!(out.status.code(), Some(1), "{url}: {stderr}");
            assert!(stderr.contains("--sink "), "{url}: {stderr}");
            assert!(
                !stderr.contains(PLANTED) && !stdout.contains(PLANTED),
                "{url} shown: {stderr}"
            );
        }
    }
    assert!(
        !std::path::Path::new("/tmp/sink?token=PLANTEDSECRET0123").exists(),
        "a refused file:// URL creates nothing"
    );
}

#[test]
fn a_working_sink_logs_no_secret_at_trace_level() {
    let Some(store) = Seaweed::start("secrets") else {
        return;
    };
    let upstream = FakeUpstream::start(openai_like);
    let port = free_port();
    let config = json!({"w": {"OPENAI_API_HOST": upstream.url, "PORT": port}});
    let sink = store.url_for("traced");
    let mut env = store.env();
    env.push(("RUST_LOG", "trace".to_owned()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let args = ["--sink", sink.as_str(), "--sink-segment-seconds", "1"];
    let mut proxy = Proxy::start_in(dir, data, &config, &args, &env);
    assert_eq!(load(port, 10), 10);
    eventually(Duration::from_secs(60), "10 lines in the bucket", || {
        let n = lines_of(&objects(&store, "traced")).len();
        if n == 10 {
            Ok(())
        } else {
            Err(n)
        }
    });
    assert!(proxy.stop().success());
    let logs = proxy.logs();
    assert!(
        logs.contains("TRACE") && logs.contains("Sink on"),
        "trace logging was on"
    );
    assert!(logs.contains(&sink), "the plain URL is shown as it is");
    assert!(!logs.contains(SECRET_KEY), "the secret key is in the log");
}
