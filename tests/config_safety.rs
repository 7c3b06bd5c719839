//! Issue 11 (5), (7), (9) through the real binary: no URL credentials or key in any output,
//! encoded `..` refused, `check` failing where every request would, and a watcher that does
//! not feed on a log file written into the config's folder.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use common::upstream::{json_response, openai_like};
use common::{client, free_port, FakeUpstream, Proxy};
use serde_json::{json, Value};

const SECRET: &str = "sk-PLANTED-SECRET";

/// Runs the binary with `args` at `RUST_LOG=trace`.
fn micromodel(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_micromodel"))
        .args(args)
        .env_remove("MICROMODEL_CONFIG")
        .env("RUST_LOG", "trace")
        .output()
        .expect("run micromodel")
}

fn write_config(dir: &Path, config: &Value) -> String {
    let path = dir.join("config.json");
    std::fs::write(&path, serde_json::to_vec_pretty(config).expect("json")).expect("write");
    path.display().to_string()
}

/// Both streams of `out`, asserted free of the secret.
fn assert_clean(what: &str, out: &Output) -> String {
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!text.contains(SECRET), "{what} leaked the secret:\n{text}");
    text
}

/// Hosts that carry the secret as credentials (or in a query), each with another error in
/// the same workflow.
fn secret_hosts() -> Vec<String> {
    vec![
        format!("http://user:{SECRET}@127.0.0.1:1"),
        format!("https://user:{SECRET}@example.com/v1"),
        format!("user:{SECRET}@127.0.0.1:1"),
        format!("http://user:{SECRET}/x@127.0.0.1:1"),
        format!("http://127.0.0.1:1/?api-key={SECRET}"),
    ]
}

#[test]
fn check_and_start_never_print_url_credentials() {
    let dir = tempfile::tempdir().expect("tempdir");
    for host in secret_hosts() {
        let config = json!({
            "w": {"OPENAI_API_HOST": host, "PORT": "x"},
            "ok": {"OPENAI_API_HOST": "http://127.0.0.1:1", "PORT": free_port(), "HOST": host},
        });
        let path = write_config(dir.path(), &config);

        let out = micromodel(&["check", "--config", &path]);
        assert_eq!(out.status.code(), Some(1), "{host}");
        let text = assert_clean("check", &out);
        assert!(
            text.contains("OPENAI_API_HOST") && text.contains("***"),
            "{host}: {text}"
        );

        let data = dir.path().join("data");
        let out = micromodel(&[
            "serve",
            "--config",
            &path,
            "--data-dir",
            &data.display().to_string(),
        ]);
        assert_ne!(out.status.code(), Some(0), "{host}");
        let text = assert_clean("serve", &out);
        assert!(text.contains("OPENAI_API_HOST"), "{host}: {text}");
    }
}

/// A raw HTTP/1.1 request (no client-side path normalisation); the status and whole answer.
fn raw_request(port: u16, method: &str, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
    )
    .expect("write");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {answer:?}"));
    (status, answer)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_running_proxy_never_shows_the_key_or_credentials() {
    let upstream = FakeUpstream::start(|seen| async move {
        if seen.path_and_query.starts_with("/v1/fail") {
            json_response(StatusCode::INTERNAL_SERVER_ERROR, &json!({"error": "no"}))
        } else {
            openai_like(seen).await
        }
    });
    let (dead, live) = (free_port(), free_port());
    let config = json!({
        "dead": {"OPENAI_API_HOST": "http://127.0.0.1:1", "PORT": dead, "API_KEY": SECRET},
        "live": {"OPENAI_API_HOST": upstream.url, "PORT": live, "API_KEY": "env:MM_PLANTED"},
    });
    let mut proxy = Proxy::start_with_env(
        &config,
        &[],
        &[("RUST_LOG", "trace"), ("MM_PLANTED", SECRET)],
    );
    let http = client();
    let mut bodies = Vec::new();
    for port in [dead, live] {
        let base = Proxy::url(port);
        for path in ["/health", "/"] {
            let answer = http.get(format!("{base}{path}")).send().await.expect("get");
            assert_eq!(answer.status(), 200);
            bodies.push(answer.text().await.expect("body"));
        }
        let chat = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
        let answer = http
            .post(format!("{base}/v1/chat/completions"))
            .json(&chat)
            .send()
            .await
            .expect("post");
        let expected = if port == dead { 502 } else { 200 };
        assert_eq!(answer.status(), expected);
        bodies.push(answer.text().await.expect("body"));
        for path in ["/v1/models", "/v1/fail"] {
            let answer = http.get(format!("{base}{path}")).send().await.expect("get");
            bodies.push(answer.text().await.expect("body"));
        }
    }
    assert!(bodies[2].contains("bad_gateway"), "{}", bodies[2]);

    // A reload rejected for a host with credentials plus another error in the same file.
    let mut broken = config.clone();
    broken["dead"]["OPENAI_API_HOST"] = json!(format!("http://user:{SECRET}@127.0.0.1:1"));
    broken["live"]["PORT"] = json!("x");
    proxy.write_config(&broken);
    proxy.wait_log("Reload rejected", 1);
    let answer = http
        .get(format!("{}/health", Proxy::url(dead)))
        .send()
        .await
        .expect("get");
    bodies.push(answer.text().await.expect("body"));

    assert!(proxy.stop().success());
    let logs = proxy.logs();
    assert!(logs.contains("TRACE"), "logs at trace level");
    assert!(
        logs.contains("OPENAI_API_HOST"),
        "the rejection names the field"
    );
    assert!(
        !logs.contains(SECRET),
        "a log line leaked the secret:\n{logs}"
    );
    for body in &bodies {
        assert!(
            !body.contains(SECRET),
            "a response leaked the secret: {body}"
        );
    }
    for seen in upstream.seen() {
        let auth = seen
            .headers
            .get("authorization")
            .expect("key sent upstream");
        assert_eq!(auth, &format!("Bearer {SECRET}"), "the key is still used");
    }
}

#[test]
fn percent_encoded_dot_segments_get_404_like_literal_ones() {
    let upstream = FakeUpstream::start(openai_like);
    let port = free_port();
    let _proxy = Proxy::start(&common::one_workflow("w", &upstream.url, port, ""), &[]);
    for path in [
        "/v1/../x",
        "/v1/%2e%2e/x",
        "/v1/%2E%2e/x",
        "/v1/.%2e/x",
        "/v1/%2e./x",
        "/v1/models/..%2fx",
        "/v1/%2e%2e%2fx",
        "/v1/%2e%2e%5cx",
    ] {
        for method in ["GET", "POST"] {
            let (status, answer) = raw_request(port, method, path);
            assert_eq!(status, 404, "{method} {path}: {answer}");
            assert!(answer.contains("not_found"), "{answer}");
        }
    }
    assert!(upstream.seen().is_empty(), "{:?}", upstream.seen());
    // An encoded slash without dot segments is a valid id (`org/model`): forwarded as sent.
    for path in ["/v1/models/org%2Fmodel", "/v1/models/a..b"] {
        // The fake upstream answers these with its own 404: what counts is that it saw them.
        let (_, answer) = raw_request(port, "GET", path);
        assert!(!answer.contains("not_found"), "{path}: {answer}");
    }
    let seen: Vec<String> = upstream
        .seen()
        .into_iter()
        .map(|s| s.path_and_query)
        .collect();
    assert_eq!(seen, ["/v1/models/org%2Fmodel", "/v1/models/a..b"]);
}

#[test]
fn check_fails_on_an_api_host_that_cannot_form_a_uri() {
    let dir = tempfile::tempdir().expect("tempdir");
    for host in [
        "http://127.0.0.1:1/a`b",
        "http://127.0.0.1:1/<x>",
        "http://127.0.0.1:1/a>",
        "http://127.0.0.1:1/a%zz",
        // The same characters in the host part.
        "http://ho`st:1",
        "http://<host>:1",
        "http://host>:1/v1",
        "http://a<b.example.com",
        "https://api.exa`mple.com/v1",
    ] {
        let path = write_config(
            dir.path(),
            &json!({"w": {"OPENAI_API_HOST": host, "PORT": free_port()}}),
        );
        let out = micromodel(&["check", "--config", &path]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{host}: {stderr}");
        assert!(
            stderr.contains("workflow \"w\"") && stderr.contains("OPENAI_API_HOST"),
            "{host}: {stderr}"
        );
    }
}

/// How many lines the process has logged so far.
fn line_count(proxy: &Proxy) -> usize {
    proxy.logs().lines().count()
}

#[test]
fn a_log_file_in_the_config_folder_does_not_feed_the_watcher() {
    let upstream = FakeUpstream::start(openai_like);
    let port = free_port();
    let config = common::one_workflow("w", &upstream.url, port, "");
    // The harness writes the log into the config's folder; trace makes every line count.
    let proxy = Proxy::start_with_env(&config, &[], &[("RUST_LOG", "trace")]);
    proxy.wait_log("MicroModel is ready.", 1);
    let foreign = proxy.dir.path().join("other.txt");
    for i in 0..5 {
        std::fs::write(&foreign, format!("{i}\n")).expect("write foreign file");
    }
    let mut changed = config.clone();
    changed["w"]["TIMEOUT_SECONDS"] = json!(30);
    proxy.write_config(&changed);
    proxy.wait_log("Config reloaded.", 1);

    // "Nothing more happens" has no event to wait for: watch the log over a quiet window
    // several debounces long and require it to stay (almost) still.
    let after_reload = line_count(&proxy);
    let window = Instant::now() + Duration::from_secs(2);
    while Instant::now() < window {
        assert!(
            line_count(&proxy) < after_reload + 20,
            "the log keeps growing:\n{}",
            proxy.logs()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let logs = proxy.logs();
    assert_eq!(logs.matches("Config reloaded.").count(), 1, "{logs}");
    assert!(!logs.contains("other.txt"), "{logs}");
    assert!(!logs.contains("micromodel.log"), "{logs}");
    assert!(!logs.contains("inotify event"), "{logs}");
}
