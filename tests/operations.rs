//! §6 operations through the real binary: the admin listener (metrics, probes) and logs.

mod common;

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::response::Response;
use common::upstream::openai_like;
use common::{client, free_port, FakeUpstream, Proxy};
use serde_json::{json, Value};

/// Parses Prometheus text exposition: `name{labels} value` → value. Panics on a malformed line.
fn parse_prometheus(text: &str) -> HashMap<String, f64> {
    let mut samples = HashMap::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let kind = rest.split_whitespace().nth(1).expect("TYPE has a kind");
                assert!(
                    ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                    "{line}"
                );
            }
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("no value: {line}"));
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value: {line}"));
        let name_end = series.find('{').unwrap_or(series.len());
        let name = &series[..name_end];
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "bad metric name: {line}"
        );
        if name_end < series.len() {
            assert!(series.ends_with('}'), "unterminated labels: {line}");
        }
        samples.insert(series.to_owned(), value);
    }
    samples
}

async fn scrape(admin: u16) -> HashMap<String, f64> {
    let response = client()
        .get(format!("http://127.0.0.1:{admin}/metrics"))
        .send()
        .await
        .expect("scrape");
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .expect("ct")
        .starts_with("text/plain"));
    parse_prometheus(&response.text().await.expect("text"))
}

/// Polls `/metrics` until `series` reaches `at_least` (at most 15 s).
async fn wait_metric(admin: u16, series: &str, at_least: f64) -> HashMap<String, f64> {
    common::eventually_async(
        Duration::from_secs(15),
        format_args!("{series} to reach {at_least}"),
        move || async move {
            let samples = scrape(admin).await;
            if samples.get(series).copied().unwrap_or(0.0) >= at_least {
                Ok(samples)
            } else {
                Err(format!("{samples:#?}"))
            }
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_parse_and_move_with_requests_and_reloads() {
    let upstream = FakeUpstream::start(openai_like);
    let (port, second, admin, dead) = (free_port(), free_port(), free_port(), free_port());
    let admin_addr = format!("127.0.0.1:{admin}");
    let proxy = Proxy::start(
        &json!({"w": {"OPENAI_API_HOST": upstream.url, "PORT": port}}),
        &["--admin-addr", &admin_addr],
    );
    let before = scrape(admin).await;
    assert_eq!(before["micromodel_config_generation"], 1.0);
    assert_eq!(before["micromodel_workflows"], 1.0);
    assert_eq!(before["micromodel_config_last_reload_successful"], 1.0);

    for _ in 0..2 {
        let response = client()
            .post(format!("{}/v1/chat/completions", Proxy::url(port)))
            .json(&json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}))
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 200);
    }
    proxy.wait_records("w", 2);
    let samples = wait_metric(
        admin,
        r#"micromodel_records_written_total{workflow="w"}"#,
        2.0,
    )
    .await;
    assert_eq!(
        samples[r#"micromodel_requests_total{workflow="w",endpoint="/v1/chat/completions",status="200",client=""}"#],
        2.0
    );
    assert!(
        samples[r#"micromodel_request_duration_seconds_count{workflow="w",endpoint="/v1/chat/completions"}"#]
            >= 2.0
    );
    assert!(samples.contains_key("micromodel_recorder_queue_depth"));

    // An applied reload: a second workflow whose upstream is down.
    proxy.write_config(&json!({
        "w": {"OPENAI_API_HOST": upstream.url, "PORT": port},
        "down": {"OPENAI_API_HOST": format!("http://127.0.0.1:{dead}"), "PORT": second}
    }));
    let samples = wait_metric(
        admin,
        r#"micromodel_config_reloads_total{result="applied"}"#,
        1.0,
    )
    .await;
    assert_eq!(samples["micromodel_config_generation"], 2.0);
    assert_eq!(samples["micromodel_workflows"], 2.0);
    let response = client()
        .post(format!("{}/v1/chat/completions", Proxy::url(second)))
        .json(&json!({"model": "m", "messages": []}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 502);
    let samples = scrape(admin).await;
    assert_eq!(
        samples[r#"micromodel_upstream_errors_total{workflow="down",kind="connect"}"#],
        1.0
    );

    // A rejected reload.
    std::fs::write(&proxy.config_path, "{ broken").expect("write");
    let samples = wait_metric(
        admin,
        r#"micromodel_config_reloads_total{result="rejected"}"#,
        1.0,
    )
    .await;
    assert_eq!(samples["micromodel_config_last_reload_successful"], 0.0);
    assert_eq!(samples["micromodel_config_generation"], 2.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_is_503_during_the_shutdown_drain() {
    // A stream that sends one chunk and then never ends: it holds the drain open.
    let upstream = FakeUpstream::start(|_| async {
        let stream = futures_util::stream::unfold(0u8, |step| async move {
            if step == 0 {
                let chunk = "data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n";
                Some((Ok::<_, Infallible>(Bytes::from(chunk)), 1))
            } else {
                futures_util::future::pending::<()>().await;
                None
            }
        });
        Response::builder()
            .header("content-type", "text/event-stream")
            .body(Body::from_stream(stream))
            .expect("response")
    });
    let (port, admin) = (free_port(), free_port());
    let admin_addr = format!("127.0.0.1:{admin}");
    let mut proxy = Proxy::start(
        &json!({"w": {"OPENAI_API_HOST": upstream.url, "PORT": port}}),
        &["--admin-addr", &admin_addr, "--drain-seconds", "600"],
    );
    let ready = |admin: u16| async move {
        client()
            .get(format!("http://127.0.0.1:{admin}/readyz"))
            .send()
            .await
            .expect("readyz")
            .status()
            .as_u16()
    };
    assert_eq!(ready(admin).await, 200);
    let mut stream = client()
        .post(format!("{}/v1/chat/completions", Proxy::url(port)))
        .json(&json!({"model": "m", "stream": true, "messages": []}))
        .send()
        .await
        .expect("stream");
    stream.chunk().await.expect("chunk").expect("bytes");
    let samples = scrape(admin).await;
    assert_eq!(samples[r#"micromodel_streams_active{workflow="w"}"#], 1.0);

    proxy.signal(libc::SIGTERM);
    proxy.wait_log("draining", 1);
    assert_eq!(ready(admin).await, 503, "not ready while draining");
    let alive = client()
        .get(format!("http://127.0.0.1:{admin}/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(alive.status(), 200, "still alive while draining");
    proxy.signal(libc::SIGTERM);
    assert_eq!(proxy.wait_exit(Duration::from_secs(60)).code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_are_one_object_per_line() {
    let upstream = FakeUpstream::start(openai_like);
    let port = free_port();
    let mut proxy = Proxy::start_with_env(
        &json!({"w": {"OPENAI_API_HOST": upstream.url, "PORT": port, "API_KEY": "sk-json-secret"}}),
        &["--log-format", "json"],
        &[("RUST_LOG", "trace")],
    );
    client()
        .post(format!("{}/v1/chat/completions", Proxy::url(port)))
        .json(&json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .expect("send");
    proxy.wait_records("w", 1);
    assert!(proxy.stop().success());
    let logs = proxy.logs();
    let mut saw_workflow_line = false;
    for line in logs.lines() {
        let entry: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(entry["timestamp"].is_string(), "{line}");
        assert!(entry["level"].is_string(), "{line}");
        assert!(
            entry["message"].is_string() || entry.get("message").is_none(),
            "{line}"
        );
        if entry["message"] == "Workflow listening." {
            assert_eq!(entry["workflow"], "w");
            saw_workflow_line = true;
        }
    }
    assert!(saw_workflow_line, "{logs}");
    assert!(
        !logs.contains("sk-json-secret"),
        "the key leaked into the logs"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sd_notify_says_ready_reloading_and_stopping() {
    let upstream = FakeUpstream::start(openai_like);
    let port = free_port();
    let dir = tempfile::tempdir().expect("tempdir");
    let socket_path = dir.path().join("notify.sock");
    let socket = std::os::unix::net::UnixDatagram::bind(&socket_path).expect("bind notify socket");
    socket
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let mut proxy = Proxy::start_with_env(
        &json!({"w": {"OPENAI_API_HOST": upstream.url, "PORT": port}}),
        &[],
        &[("NOTIFY_SOCKET", socket_path.to_str().expect("utf8 path"))],
    );
    let read = || {
        let mut buf = [0u8; 256];
        let n = socket.recv(&mut buf).expect("a notification");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    assert_eq!(read(), "READY=1", "once every listener is bound");
    proxy.signal(libc::SIGHUP);
    assert_eq!(read(), "RELOADING=1");
    assert_eq!(read(), "READY=1");
    proxy.signal(libc::SIGTERM);
    assert_eq!(read(), "STOPPING=1");
    assert!(proxy.wait_exit(Duration::from_secs(30)).success());
}
