//! `micromodel demo`, the real binary: the `serve` flags it takes (`--admin-addr`: metrics of
//! the demo's own traffic), and the demo config file it refuses or reports.

mod common;
mod demo_support;

use std::process::Stdio;
use std::time::Duration;

use serde_json::json;

use common::{check, eventually_async, free_port};
use demo_support::{demo_command, post, Demo};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_with_admin_addr_serves_metrics_of_its_traffic() {
    let admin = free_port();
    let admin_addr = format!("127.0.0.1:{admin}");
    let demo = Demo::start(&["--admin-addr", &admin_addr]);
    let chat = json!({"model": "m", "messages": [{"role": "user", "content": "Hi"}]});
    let (status, _) = post(&demo.base, "/v1/chat/completions", &chat).await;
    assert_eq!(status, 200);
    demo.wait_records(1);
    let url = format!("http://{admin_addr}/metrics");
    let metrics = eventually_async(
        Duration::from_secs(10),
        "/metrics to count the answer",
        || async {
            let text = reqwest::get(&url)
                .await
                .map_err(|e| e.to_string())?
                .text()
                .await
                .map_err(|e| e.to_string())?;
            let counted = text.lines().any(|l| {
                l.starts_with("micromodel_requests_total{")
                    && l.contains("workflow=\"demo\"")
                    && l.contains("status=\"200\"")
            });
            check(counted, || text.clone()).map(|()| text)
        },
    )
    .await;
    assert!(
        metrics.contains("micromodel_records_written_total"),
        "{metrics}"
    );
}

#[test]
fn demo_refuses_to_overwrite_a_config_that_is_not_a_demo_config() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("demo-config.json");
    let text = r#"{"default":{"OPENAI_API_HOST":"http://localhost:11434","PORT":3001}}"#;
    std::fs::write(&config, text).expect("write");
    let output = demo_command(dir.path(), &dir.path().join("data"), &config, &[])
        .stderr(Stdio::piped())
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("is not a demo config"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&config).expect("read"), text);
}

#[test]
fn demo_reports_an_unreadable_or_invalid_demo_config_and_exits_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = dir.path().join("data");
    // A folder where the config should be: it cannot be read.
    let folder = dir.path().join("folder.json");
    std::fs::create_dir(&folder).expect("mkdir");
    let output = demo_command(dir.path(), &data_dir, &folder, &[])
        .stderr(Stdio::piped())
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("could not read"), "{stderr}");

    // A demo config edited into an invalid one: every problem is reported, as by serve.
    let config = dir.path().join("demo-config.json");
    std::fs::write(
        &config,
        r#"{"demo":{"OPENAI_API_HOST":"http://x","PORT":1,"APIKEY":"k"}}"#,
    )
    .expect("write");
    let output = demo_command(dir.path(), &data_dir, &config, &[])
        .stderr(Stdio::piped())
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("the config is not valid"), "{stderr}");
    assert!(
        stderr.contains("APIKEY") && stderr.contains("API_KEY"),
        "{stderr}"
    );
}
