//! `CLIENT_KEYS` through the real binary (issue 14): who gets in, what reaches the upstream,
//! what is recorded, logged and counted.

mod client_keys_support;
mod common;

use client_keys_support::*;
use common::dialects::dialect_upstream;
use common::{client, free_port, keys_in_order, raw_lines, FakeUpstream, Proxy};
use serde_json::{json, Value};

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
    let (status, _, _) = send(guarded, "POST", chat, &[bearer("wrong")], Some(chat_body())).await;
    assert_eq!(status, 401);

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
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("micromodel_requests_total{")
                && l.contains(r#"workflow="guarded""#)
                && l.contains(r#"status="401",client="""#)),
        "refusals are counted: {metrics}"
    );
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
