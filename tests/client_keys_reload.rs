//! `CLIENT_KEYS` and live reload: keys added, changed and removed under an in-flight stream;
//! `--require-client-keys` rejecting a reload.

mod client_keys_support;
mod common;

use std::time::Duration;

use client_keys_support::*;
use common::dialects::dialect_upstream;
use common::{client, eventually_async, free_port, FakeUpstream, Proxy};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_client_keys_rejects_a_reload_that_opens_a_shared_port() {
    let upstream = FakeUpstream::start(dialect_upstream);
    let (a, b) = (free_port(), free_port());
    let keys = json!([{"name": "alice", "key": ALICE}]);
    let first = json!({
        "shared": {"OPENAI_API_HOST": upstream.url, "PORT": a, "HOST": "0.0.0.0", "CLIENT_KEYS": keys},
        "local": {"OPENAI_API_HOST": upstream.url, "PORT": b},
    });
    let proxy = Proxy::start(&first, &["--require-client-keys"]);
    let path = "/v1/chat/completions";
    // Drops the keys and adds a workflow: all or nothing, so neither happens.
    let c = free_port();
    let second = json!({
        "shared": {"OPENAI_API_HOST": upstream.url, "PORT": a, "HOST": "0.0.0.0"},
        "local": {"OPENAI_API_HOST": upstream.url, "PORT": b},
        "added": {"OPENAI_API_HOST": upstream.url, "PORT": c},
    });
    proxy.write_config(&second);
    proxy.wait_log("Reload rejected", 1);
    assert!(
        proxy
            .logs()
            .contains("has no CLIENT_KEYS (--require-client-keys)"),
        "{}",
        proxy.logs()
    );
    let (status, _, _) = send(a, "POST", path, &[], Some(chat_body())).await;
    assert_eq!(status, 401, "the keys in force stay");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", c)).is_err(),
        "nothing was applied"
    );
    let (status, _, _) = send(a, "POST", path, &[bearer(ALICE)], Some(chat_body())).await;
    assert_eq!(status, 200);
    assert!(upstream.seen().len() == 1);
}

/// Polls until a request with `headers` gets `want` (a reload is applied asynchronously).
async fn until_status(port: u16, headers: &[(&str, String)], want: u16) {
    eventually_async(
        Duration::from_secs(15),
        format_args!("status {want}"),
        || async {
            let (status, _, body) = send(
                port,
                "POST",
                "/v1/chat/completions",
                headers,
                Some(chat_body()),
            )
            .await;
            if status == want {
                Ok(())
            } else {
                Err(format!("{status}: {body}"))
            }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_added_changed_and_removed_live_while_a_stream_runs() {
    let (upstream, mut handles) = common::upstream::controlled_sse();
    let port = free_port();
    let with_keys = |keys: Value| json!({"w": {"OPENAI_API_HOST": upstream.url, "PORT": port, "CLIENT_KEYS": keys}});
    let proxy = Proxy::start(&with_keys(json!([{"name": "alice", "key": ALICE}])), &[]);
    let mut stream = client()
        .post(format!("{}/v1/chat/completions", Proxy::url(port)))
        .header("authorization", format!("Bearer {ALICE}"))
        .json(&json!({"model": "m", "stream": true, "messages": [{"role": "user", "content": "long"}]}))
        .send()
        .await
        .expect("stream starts");
    assert_eq!(stream.status(), 200);
    let mut handle = handles.recv().await.expect("the upstream got the stream");
    let chunk = |content: &str, finish: Value| {
        let event = json!({"id": "chatcmpl-live", "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": finish}]});
        format!("data: {event}\n\n")
    };
    handle.send(chunk("one, ", Value::Null));

    // Changed (alice gets a new key) and added (bob).
    let alice_new = "alice-rotated-key-0005";
    proxy.write_config(&with_keys(json!([
        {"name": "alice", "key": alice_new}, {"name": "bob", "key": BOB}])));
    // Answers to the polls: the controlled upstream streams each of them, ended at once.
    let answer_polls = tokio::spawn(async move {
        while let Some(mut other) = handles.recv().await {
            other.send("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n");
            other.end();
        }
    });
    until_status(port, &[bearer(alice_new)], 200).await;
    until_status(port, &[bearer(BOB)], 200).await;
    let (status, _, _) = send(
        port,
        "POST",
        "/v1/chat/completions",
        &[bearer(ALICE)],
        Some(chat_body()),
    )
    .await;
    assert_eq!(status, 401, "the old key is gone");
    handle.send(chunk("two, ", Value::Null));

    // Removed: the workflow is open again.
    proxy.write_config(&json!({"w": {"OPENAI_API_HOST": upstream.url, "PORT": port}}));
    until_status(port, &[], 200).await;
    handle.send(chunk("three", json!("stop")));
    handle.send("data: [DONE]\n\n");
    handle.end();
    let mut text = String::new();
    while let Some(piece) = stream.chunk().await.expect("the stream did not fail") {
        text.push_str(&String::from_utf8_lossy(&piece));
    }
    assert!(text.contains("three") && text.contains("[DONE]"), "{text}");
    let streamed = common::eventually(Duration::from_secs(10), "the stream's record", || {
        let records = proxy.records("w");
        records
            .iter()
            .find(|r| r["messages"][1]["content"] == "one, two, three")
            .cloned()
            .ok_or_else(|| format!("{records:?}"))
    });
    assert_eq!(
        streamed["client"], "alice",
        "named by the keys it started with"
    );
    answer_polls.abort();
}
