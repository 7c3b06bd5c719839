//! Issue 14 (3): `REDACT` through the real binary. What is forwarded and answered is the
//! client's and the upstream's own bytes; only the record is masked, counted in the line
//! (`redacted`, its last key) and in `micromodel_redactions_total`.

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use common::upstream::{json_response, openai_like, Seen};
use common::{client, free_port, FakeUpstream, Proxy};
use serde_json::{json, Value};

/// An upstream answer that repeats personal data: an e-mail in the content and a phone
/// number in a tool call's arguments.
async fn leaky(_seen: Seen) -> axum::response::Response {
    json_response(
        StatusCode::OK,
        &json!({
            "id": "chatcmpl-leak",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": "m",
            "choices": [{
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Noted: ada@example.com",
                    "tool_calls": [{"id": "call_1", "type": "function", "function": {
                        "name": "dial", "arguments": "{\"number\":\"+44 20 7946 0958\"}"}}]
                },
                "finish_reason": "tool_calls"
            }],
            "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}
        }),
    )
}

/// The client's body: an e-mail hidden behind a JSON escape, a card, an AWS key, an IP, an
/// e-mail in a tool description and in `params` (`user`).
const BODY: &str = r#"{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"I am ada\u0040example.com, card 4111 1111 1111 1111,\nkey AKIAIOSFODNN7EXAMPLE from 203.0.113.9"}]}],"tools":[{"type":"function","function":{"name":"dial","description":"Support: help@example.org","parameters":{"type":"object"}}}],"user":"ada@example.com","temperature":0}"#;

async fn metric(admin: u16, series: &str, at_least: f64) -> f64 {
    common::eventually_async(
        Duration::from_secs(15),
        format_args!("{series} to reach {at_least}"),
        move || async move {
            let text = client()
                .get(format!("http://127.0.0.1:{admin}/metrics"))
                .send()
                .await
                .map_err(|e| e.to_string())?
                .text()
                .await
                .map_err(|e| e.to_string())?;
            let value = text
                .lines()
                .find_map(|l| l.strip_prefix(series)?.trim().parse::<f64>().ok())
                .unwrap_or(0.0);
            if value >= at_least {
                Ok(value)
            } else {
                Err(text)
            }
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_record_is_masked_while_forwarded_and_answered_bytes_are_not() {
    let upstream = FakeUpstream::start(leaky);
    let (port, admin) = (free_port(), free_port());
    let config = json!({"w": {"OPENAI_API_HOST": upstream.url, "PORT": port, "REDACT": ["all"]}});
    let admin_addr = format!("127.0.0.1:{admin}");
    let proxy = Proxy::start(&config, &["--admin-addr", &admin_addr]);
    let response = client()
        .post(format!("{}/v1/chat/completions", Proxy::url(port)))
        .header("content-type", "application/json")
        .body(BODY)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.expect("json");
    assert_eq!(
        answer["choices"][0]["message"]["content"], "Noted: ada@example.com",
        "the answer is passed on unmasked"
    );
    let seen = upstream.seen();
    assert_eq!(
        &seen[0].body[..],
        BODY.as_bytes(),
        "forwarded byte for byte"
    );

    let record = proxy.wait_records("w", 1).remove(0);
    let line = common::raw_lines(&proxy.data_dir.join("w")).remove(0);
    for leaked in ["ada", "4111", "AKIA", "203.0.113", "help@", "7946"] {
        assert!(!line.contains(leaked), "{leaked} left in {line}");
    }
    assert_eq!(
        record["messages"][0]["content"][0]["text"],
        "I am [EMAIL], card [CARD],\nkey [SECRET] from [IP]"
    );
    assert_eq!(record["messages"][1]["content"], "Noted: [EMAIL]");
    assert_eq!(
        record["messages"][1]["tool_calls"][0]["function"]["arguments"],
        "{\"number\":\"[PHONE]\"}"
    );
    assert_eq!(
        record["tools"][0]["function"]["description"],
        "Support: [EMAIL]"
    );
    assert_eq!(
        record["params"],
        json!({"user": "[EMAIL]", "temperature": 0})
    );
    assert_eq!(
        record["redacted"],
        json!({"credit_card": 1, "email": 4, "ipv4": 1, "phone": 1, "secrets": 1})
    );
    let keys = common::keys_in_order(&line);
    assert_eq!(
        keys.last().map(String::as_str),
        Some("redacted"),
        "{keys:?}"
    );

    let series = r#"micromodel_redactions_total{workflow="w",detector="email"}"#;
    assert_eq!(metric(admin, series, 4.0).await, 4.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_finds_or_without_redact_the_record_has_no_redacted_key() {
    let upstream = FakeUpstream::start(openai_like);
    let (plain, masked) = (free_port(), free_port());
    let config = json!({
        "plain": {"OPENAI_API_HOST": upstream.url, "PORT": plain},
        "masked": {"OPENAI_API_HOST": upstream.url, "PORT": masked, "REDACT": ["email"]}
    });
    let proxy = Proxy::start(&config, &[]);
    let body = json!({"model": "m", "messages": [{"role": "user", "content": "mail a@b.example"}]});
    for port in [plain, masked] {
        let response = client()
            .post(format!("{}/v1/chat/completions", Proxy::url(port)))
            .json(&body)
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 200);
    }
    let kept = proxy.wait_records("plain", 1).remove(0);
    assert_eq!(kept["messages"][0]["content"], "mail a@b.example");
    assert!(kept.get("redacted").is_none(), "{kept}");
    let masked = proxy.wait_records("masked", 1).remove(0);
    assert_eq!(masked["messages"][0]["content"], "mail [EMAIL]");
    assert_eq!(masked["redacted"], json!({"email": 1}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_filed_under_another_workflow_gets_both_rules_and_reload_replaces_them() {
    let upstream = FakeUpstream::start(openai_like);
    let (front, back) = (free_port(), free_port());
    let config = |back_rules: Value| {
        json!({
            "front": {"OPENAI_API_HOST": upstream.url, "PORT": front, "REDACT": ["email"]},
            "back": {"OPENAI_API_HOST": upstream.url, "PORT": back, "REDACT": back_rules}
        })
    };
    let proxy = Proxy::start(&config(json!(["ipv4"])), &[]);
    let send = |content: &'static str| {
        let body = json!({"model": "m", "workflow_id": "back",
                          "messages": [{"role": "user", "content": content}]});
        async move {
            let response = client()
                .post(format!("{}/v1/chat/completions", Proxy::url(front)))
                .json(&body)
                .send()
                .await
                .expect("send");
            assert_eq!(response.status(), 200);
        }
    };
    send("a@b.example at 10.1.2.3").await;
    let first = proxy.wait_records("back", 1).remove(0);
    assert_eq!(first["messages"][0]["content"], "[EMAIL] at [IP]");

    let custom = json!([{"pattern": "b\\.example", "replace": "[DOMAIN]", "name": "domain"}]);
    proxy.write_config(&config(custom));
    proxy.wait_log("Config reloaded.", 1);
    send("a@b.example at 10.1.2.3 on b.example").await;
    let second = proxy.wait_records("back", 2).remove(1);
    // The port's e-mail rule still holds; the target's ipv4 rule was replaced by its custom one.
    assert_eq!(
        second["messages"][0]["content"],
        "[EMAIL] at 10.1.2.3 on [DOMAIN]"
    );
    assert_eq!(second["redacted"], json!({"domain": 1, "email": 1}));
}

/// `micromodel validate --redact-check` over `dir`: (exit code, stdout, stderr).
fn redact_check(dir: &std::path::Path) -> (Option<i32>, String, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_micromodel"))
        .args(["validate", "--redact-check", "--data-dir"])
        .arg(dir)
        .output()
        .expect("run validate");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_redact_check_reports_unmasked_lines_and_passes_masked_ones() {
    let upstream = FakeUpstream::start(openai_like);
    let (plain, masked) = (free_port(), free_port());
    let config = json!({
        "plain": {"OPENAI_API_HOST": upstream.url, "PORT": plain},
        "masked": {"OPENAI_API_HOST": upstream.url, "PORT": masked, "REDACT": ["all"]}
    });
    let proxy = Proxy::start(&config, &[]);
    let body = json!({"model": "m", "messages": [
        {"role": "user", "content": "I am ada@example.com on +44 20 7946 0958"}]});
    for port in [plain, masked] {
        let response = client()
            .post(format!("{}/v1/chat/completions", Proxy::url(port)))
            .json(&body)
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 200);
    }
    proxy.wait_records("plain", 1);
    proxy.wait_records("masked", 1);

    let (code, stdout, stderr) = redact_check(&proxy.data_dir);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(
        stdout.contains("/plain/") && stdout.ends_with(":1: redact-check: email (1), phone (1)\n"),
        "{stdout}"
    );
    assert!(stderr.contains("1 lines with finds"), "{stderr}");

    std::fs::remove_dir_all(proxy.data_dir.join("plain")).expect("remove plain");
    let (code, stdout, stderr) = redact_check(&proxy.data_dir);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
}
