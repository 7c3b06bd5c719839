//! `CLIENT_KEYS` through the real binary (issue 14): who gets in, what reaches the upstream,
//! what is recorded, logged and counted, and `hash-key`.

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::dialects::dialect_upstream;
use common::{client, eventually_async, free_port, keys_in_order, raw_lines, FakeUpstream, Proxy};
use serde_json::{json, Value};

const ALICE: &str = "alice-literal-key-0001";
const BOB: &str = "bob-env-key-0002";
const CAROL: &str = "carol-hashed-key-0003";
const DAVE: &str = "dave-other-workflow-key-0004";
const UPSTREAM_KEY: &str = "sk-upstream-operator-key";

/// Runs the binary with `stdin`; its output.
fn micromodel(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_micromodel"))
        .args(args)
        .env_remove("MICROMODEL_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run micromodel");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("write stdin");
    child.wait_with_output().expect("output")
}

/// `sha256:<hex>` of `key`, as `micromodel hash-key` prints it.
fn hash_key(key: &str) -> String {
    let out = micromodel(&["hash-key"], format!("{key}\n").as_bytes());
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    String::from_utf8(out.stdout)
        .expect("utf8")
        .trim()
        .to_owned()
}

/// `guarded` (alice: literal, bob: env, carol: hashed by `hash-key`; with an upstream key),
/// `keyless` (dave; no API_KEY), `open` (no CLIENT_KEYS).
fn config(upstream: &str, ports: [u16; 3]) -> Value {
    json!({
        "guarded": {"OPENAI_API_HOST": upstream, "PORT": ports[0], "API_KEY": UPSTREAM_KEY,
            "CLIENT_KEYS": [{"name": "alice", "key": ALICE}, {"name": "bob", "key": "env:BOB_KEY"},
                            {"name": "carol", "key": hash_key(CAROL)}]},
        "keyless": {"OPENAI_API_HOST": upstream, "PORT": ports[1],
            "CLIENT_KEYS": [{"name": "dave", "key": DAVE}]},
        "open": {"OPENAI_API_HOST": upstream, "PORT": ports[2]},
    })
}

fn start(extra: &[&str], log: &str) -> (FakeUpstream, Proxy, [u16; 3]) {
    let upstream = FakeUpstream::start(dialect_upstream);
    let ports = [free_port(), free_port(), free_port()];
    let proxy = Proxy::start_with_env(
        &config(&upstream.url, ports),
        extra,
        &[("BOB_KEY", BOB), ("RUST_LOG", log)],
    );
    (upstream, proxy, ports)
}

fn chat_body() -> Value {
    json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
}

/// A request to `path` on `port` with `headers`; status and body.
async fn send(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: Option<Value>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut request = client().request(method, format!("{}{path}", Proxy::url(port)));
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("send");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, headers, body)
}

/// Request headers a test sends.
type Headers = Vec<(&'static str, String)>;

fn bearer(key: &str) -> (&'static str, String) {
    ("authorization", format!("Bearer {key}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_key_of_the_workflow_nothing_is_forwarded_or_recorded() {
    let (upstream, proxy, [port, _, _]) = start(&[], "micromodel=debug,info");
    let chat = "/v1/chat/completions";
    let refused: Vec<(&str, &str, Headers)> = vec![
        ("POST", chat, vec![]),
        ("POST", chat, vec![bearer("wrong")]),
        ("POST", chat, vec![bearer(DAVE)]),
        (
            "POST",
            chat,
            vec![("authorization", format!("Basic {ALICE}"))],
        ),
        ("POST", chat, vec![("authorization", ALICE.to_owned())]),
        // x-api-key counts on /v1/messages only.
        ("POST", chat, vec![("x-api-key", ALICE.to_owned())]),
        (
            "POST",
            "/v1/messages",
            vec![("x-api-key", "wrong".to_owned())],
        ),
        ("POST", "/v1/messages", vec![("x-api-key", DAVE.to_owned())]),
        ("GET", "/v1/models", vec![]),
        ("GET", "/v1/models", vec![bearer(DAVE)]),
        ("POST", "/v1/messages/count_tokens", vec![]),
        ("GET", "/elsewhere", vec![]),
    ];
    for (method, path, headers) in refused {
        let body = (method == "POST").then(chat_body);
        let (status, response_headers, body) = send(port, method, path, &headers, body).await;
        assert_eq!(status, 401, "{method} {path} {headers:?}: {body}");
        assert_eq!(body["error"]["code"], "invalid_api_key", "{body}");
        assert_eq!(body["error"]["type"], "invalid_request_error", "{body}");
        assert!(response_headers.contains_key("www-authenticate"));
    }
    for path in ["/health", "/"] {
        let (status, _, body) = send(port, "GET", path, &[], None).await;
        assert_eq!(status, 200, "{path} stays open: {body}");
    }
    // The same request with the key goes through: the 401s were the keys' doing.
    let (status, _, _) = send(port, "POST", chat, &[bearer(ALICE)], Some(chat_body())).await;
    assert_eq!(status, 200);
    proxy.wait_records("guarded", 1);
    assert_eq!(
        upstream.seen().len(),
        1,
        "the refused requests reached nobody"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_key_is_consumed_named_in_the_record_and_never_seen_again() {
    let admin = free_port();
    let admin_addr = format!("127.0.0.1:{admin}");
    let (upstream, proxy, [guarded, keyless, open]) =
        start(&["--admin-addr", &admin_addr], "trace");
    let chat = "/v1/chat/completions";
    let (status, _, body) = send(guarded, "POST", chat, &[bearer(ALICE)], Some(chat_body())).await;
    assert_eq!(status, 200, "{body}");
    let messages = json!({"model": "claude", "max_tokens": 8,
        "messages": [{"role": "user", "content": "hi"}]});
    let fixture = ("x-fixture", "messages_text".to_owned());
    let with_x_api_key = [("x-api-key", BOB.to_owned()), fixture.clone()];
    let (status, _, body) = send(
        guarded,
        "POST",
        "/v1/messages",
        &with_x_api_key,
        Some(messages.clone()),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // Bearer is accepted on /v1/messages too.
    let with_bearer = [bearer(CAROL), fixture];
    let (status, _, body) = send(
        guarded,
        "POST",
        "/v1/messages",
        &with_bearer,
        Some(messages),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = send(guarded, "GET", "/v1/models", &[bearer(CAROL)], None).await;
    assert_eq!(status, 200, "pass-through with a key: {body}");
    let (status, _, body) = send(keyless, "POST", chat, &[bearer(DAVE)], Some(chat_body())).await;
    assert_eq!(status, 200, "{body}");
    // Over HTTP/2 too (its header frames are logged at trace).
    let h2 = reqwest::Client::builder()
        .no_proxy()
        .http2_prior_knowledge()
        .build()
        .expect("h2 client");
    let response = h2
        .post(format!("{}{chat}", Proxy::url(guarded)))
        .header("authorization", format!("Bearer {ALICE}"))
        .json(&chat_body())
        .send()
        .await
        .expect("h2 send");
    assert_eq!(response.status(), 200);
    // An open workflow forwards the client's header as it is.
    let (status, _, _) = send(
        open,
        "POST",
        chat,
        &[bearer("client-own")],
        Some(chat_body()),
    )
    .await;
    assert_eq!(status, 200);

    let seen = upstream.seen();
    assert_eq!(seen.len(), 7);
    let auth = |i: usize| {
        seen[i]
            .headers
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let x_api_key = |i: usize| {
        seen[i]
            .headers
            .get("x-api-key")
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let upstream_bearer = Some(format!("Bearer {UPSTREAM_KEY}"));
    assert_eq!(auth(0), upstream_bearer);
    assert_eq!(
        (auth(1), x_api_key(1)),
        (None, Some(UPSTREAM_KEY.to_owned()))
    );
    assert_eq!(
        (auth(2), x_api_key(2)),
        (None, Some(UPSTREAM_KEY.to_owned()))
    );
    assert_eq!(auth(3), upstream_bearer);
    assert_eq!(
        (auth(4), x_api_key(4)),
        (None, None),
        "no API_KEY: nothing goes upstream"
    );
    assert_eq!(auth(5), upstream_bearer);
    assert_eq!(auth(6), Some("Bearer client-own".to_owned()));

    let records = proxy.wait_records("guarded", 4);
    let mut clients: Vec<&str> = records
        .iter()
        .map(|r| r["client"].as_str().unwrap())
        .collect();
    clients.sort_unstable();
    assert_eq!(clients, ["alice", "alice", "bob", "carol"]);
    assert_eq!(proxy.wait_records("keyless", 1)[0]["client"], "dave");
    assert!(proxy.wait_records("open", 1)[0].get("client").is_none());
    let lines = raw_lines(&proxy.data_dir);
    let keys = keys_in_order(&lines[0]);
    let at = keys
        .iter()
        .position(|k| k == "workflow_id")
        .expect("workflow_id");
    assert_eq!(keys[at + 1], "client", "{keys:?}");

    let metrics = client()
        .get(format!("http://{admin_addr}/metrics"))
        .send()
        .await
        .expect("scrape")
        .text()
        .await
        .expect("text");
    assert!(metrics.contains(r#"client="alice""#), "{metrics}");
    assert!(metrics.contains(r#"client="dave""#), "{metrics}");
    let logs = proxy.logs();
    assert!(logs.contains("TRACE"), "the log is at trace");
    for key in [ALICE, BOB, CAROL, DAVE] {
        assert!(!logs.contains(key), "{key} in the log");
        assert!(!metrics.contains(key), "{key} in /metrics");
        assert!(!lines.iter().any(|l| l.contains(key)), "{key} in a record");
        for request in &seen {
            for value in request.headers.values() {
                let value = String::from_utf8_lossy(value.as_bytes());
                assert!(!value.contains(key), "{key} went upstream");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_workflow_ids_are_listed_only_to_clients() {
    let (_upstream, _proxy, [guarded, _, open]) = start(&[], "micromodel=debug,info");
    let mut body = chat_body();
    body["workflow_id"] = json!("nope");
    let path = "/v1/chat/completions";
    let (status, _, answer) =
        send(guarded, "POST", path, &[bearer(ALICE)], Some(body.clone())).await;
    assert_eq!(status, 400);
    assert_eq!(answer["error"]["code"], "unknown_workflow_id");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(message.contains("guarded, keyless, open"), "{message}");
    // The open workflow's callers are nobody in particular: the ids stay hidden.
    let (status, _, answer) = send(open, "POST", path, &[], Some(body)).await;
    assert_eq!(status, 400);
    assert_eq!(answer["error"]["code"], "unknown_workflow_id");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(
        !message.contains("guarded") && !message.contains("keyless"),
        "{message}"
    );
}

#[test]
fn hash_key_prints_the_sha256_form_and_refuses_nothing_or_junk() {
    // SHA-256("abc"), FIPS 180-2 appendix B.1.
    let abc = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    for input in [&b"abc"[..], b"abc\n", b"abc\r\n"] {
        let out = micromodel(&["hash-key"], input);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), abc);
    }
    for input in [&b""[..], b"\n", b" abc", b"a\x01c"] {
        let out = micromodel(&["hash-key"], input);
        assert_eq!(out.status.code(), Some(1), "{input:?}: {out:?}");
        assert!(out.stdout.is_empty());
        assert!(String::from_utf8_lossy(&out.stderr).contains("micromodel hash-key:"));
    }
}

#[test]
fn check_says_which_workflows_are_open_and_reports_every_key_problem() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.json");
    let text = json!({
        "a": {"OPENAI_API_HOST": "http://h", "PORT": 1, "HOST": "0.0.0.0",
              "CLIENT_KEYS": [{"name": "x", "key": "k-1"}, {"name": "y", "key": "k-2"}]},
        "b": {"OPENAI_API_HOST": "http://h", "PORT": 2, "HOST": "0.0.0.0"},
        "c": {"OPENAI_API_HOST": "http://h", "PORT": 3},
    });
    std::fs::write(&path, text.to_string()).expect("write");
    let config = path.to_str().unwrap();
    let out = micromodel(&["check", "--config", config], b"");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let line = |id: &str| {
        stdout
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{id}:")))
            .unwrap()
            .to_owned()
    };
    assert!(line("a").contains("protected: 2 client keys"), "{stdout}");
    assert!(line("b").contains("open"), "{stdout}");
    assert!(line("c").contains("open"), "{stdout}");

    let out = micromodel(&["check", "--require-client-keys", "--config", config], b"");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        stderr.contains(r#"workflow "b" listens on 0.0.0.0:2"#),
        "{stderr}"
    );
    assert!(
        !stderr.contains(r#"workflow "a""#) && !stderr.contains(r#"workflow "c""#),
        "{stderr}"
    );

    let text = json!({"a": {"OPENAI_API_HOST": "http://h", "PORT": 1, "CLIENT_KEYS": [
        {"name": "x", "key": "secret-k1"}, {"name": "x", "key": "secret-k2"},
        {"name": "y", "key": "secret-k1"}, {"name": "z", "key": "sha256:12"},
        {"name": "w", "key": "env:MICROMODEL_TEST_UNSET_KEY"}]}});
    std::fs::write(&path, text.to_string()).expect("write");
    let out = micromodel(&["check", "--config", config], b"");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    for expected in [
        r#"the name "x" is used by 2 clients"#,
        r#"clients "x" and "y" have the same key"#,
        r#"client "z": a "sha256:" key must be followed by 64 hex digits"#,
        "MICROMODEL_TEST_UNSET_KEY is not set",
    ] {
        assert!(stderr.contains(expected), "{expected}: {stderr}");
    }
    assert_eq!(stderr.matches("field CLIENT_KEYS").count(), 4, "{stderr}");
    assert!(!stderr.contains("secret-k"), "{stderr}");
}

#[test]
fn require_client_keys_refuses_to_start_an_open_shared_port() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.json");
    let port = free_port();
    let text = json!({"w": {"OPENAI_API_HOST": "http://h", "PORT": port, "HOST": "0.0.0.0"}});
    std::fs::write(&path, text.to_string()).expect("write");
    let data = dir.path().join("data");
    let args = [
        "serve",
        "--require-client-keys",
        "--config",
        path.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
    ];
    let out = micromodel(&args, b"");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("is not a loopback address, and has no CLIENT_KEYS"),
        "{stderr}"
    );
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

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
