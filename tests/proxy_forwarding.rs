//! §3 forwarding through the real binary: workflow_id overrides, headers, keys, pass-through of
//! other paths, `/health` and the info page, HTTP/2 clients. The error table is in
//! proxy_errors.rs.

mod common;
mod proxy_support;

use std::time::Duration;

use common::upstream::openai_like;
use common::{client, free_port, one_workflow, FakeUpstream, Proxy};
use proxy_support::{assert_openai_error, two_workflows, SECRET};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workflow_id_override_files_elsewhere_and_is_not_forwarded() {
    let upstream = FakeUpstream::start(openai_like);
    let (a, b) = (free_port(), free_port());
    let proxy = Proxy::start(&two_workflows(&upstream.url, a, b), &[]);
    let response = client()
        .post(format!("{}/v1/chat/completions", Proxy::url(a)))
        .body(r#"{"model":"m","workflow_id":"custom_workflow","messages":[{"role":"user","content":"hi"}]}"#)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    let records = proxy.wait_records("custom_workflow", 1);
    assert_eq!(records[0]["workflow_id"], "custom_workflow");
    assert!(proxy.records("default").is_empty());
    let seen = upstream.seen();
    assert_eq!(
        std::str::from_utf8(&seen[0].body).expect("utf8"),
        r#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#
    );
    // Upstream and key stay those of the port that received the request (no key on `default`).
    assert!(seen[0].headers.get("authorization").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_or_unsafe_workflow_ids_are_400_and_write_nothing() {
    let upstream = FakeUpstream::start(openai_like);
    let (a, b) = (free_port(), free_port());
    let proxy = Proxy::start(&two_workflows(&upstream.url, a, b), &[]);
    for id in ["nope", "../escaped", "a/b", "", ".."] {
        let response = client()
            .post(format!("{}/v1/chat/completions", Proxy::url(a)))
            .json(&json!({"model":"m","workflow_id":id,"messages":[]}))
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 400, "{id}");
        let body: Value = response.json().await.expect("json");
        assert_openai_error(&body, "unknown_workflow_id");
        let message = body["error"]["message"].as_str().expect("message");
        assert!(
            message.contains("custom_workflow") && message.contains("default"),
            "{message}"
        );
    }
    assert!(upstream.seen().is_empty(), "nothing forwarded");
    let entries: Vec<_> = std::fs::read_dir(proxy.dir.path())
        .expect("dir")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(!proxy.dir.path().join("escaped").exists(), "{entries:?}");
    assert!(
        common::raw_lines(proxy.dir.path()).is_empty(),
        "no record anywhere"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_replaces_client_authorization_and_hop_by_hop_headers_are_dropped() {
    let upstream = FakeUpstream::start(openai_like);
    let (a, b) = (free_port(), free_port());
    let proxy = Proxy::start(&two_workflows(&upstream.url, a, b), &[]);
    // A raw HTTP/1.1 request so that the hop-by-hop headers really are on the wire.
    let body = r#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#;
    let request = format!(
        "POST /v1/chat/completions?x=1 HTTP/1.1\r\nHost: 127.0.0.1:{b}\r\nAuthorization: Bearer client-key\r\n\
         Connection: keep-alive, X-Hop\r\nKeep-Alive: timeout=5\r\nX-Hop: 1\r\nTE: trailers\r\nProxy-Authorization: x\r\n\
         Upgrade: h2c\r\nX-End-To-End: kept\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let reply = raw_http(b, request.as_bytes()).await;
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    let seen = &upstream.seen()[0];
    assert_eq!(
        seen.path_and_query, "/v1/chat/completions?x=1",
        "no doubled /v1, query kept"
    );
    assert_eq!(seen.headers["authorization"], format!("Bearer {SECRET}"));
    assert_eq!(seen.headers["x-end-to-end"], "kept");
    assert_eq!(seen.headers["content-type"], "application/json");
    for hop in [
        "keep-alive",
        "x-hop",
        "te",
        "proxy-authorization",
        "upgrade",
    ] {
        assert!(seen.headers.get(hop).is_none(), "{hop} was forwarded");
    }
    assert_eq!(&seen.body[..], body.as_bytes());
    proxy.wait_records("custom_workflow", 1);

    // Without a configured key the client's own Authorization passes through.
    client()
        .post(format!("{}/v1/chat/completions", Proxy::url(a)))
        .bearer_auth("client-key")
        .body(body)
        .send()
        .await
        .expect("send");
    assert_eq!(
        upstream.seen()[1].headers["authorization"],
        "Bearer client-key"
    );
}

async fn raw_http(port: u16, request: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    stream.write_all(request).await.expect("write");
    let mut buf = vec![0u8; 65536];
    let n = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut buf))
        .await
        .expect("reply in time")
        .expect("read");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_v1_paths_pass_through_and_unknown_paths_are_404() {
    let upstream = FakeUpstream::start(openai_like);
    let port = free_port();
    let mut proxy = Proxy::start(&one_workflow("pass", &upstream.url, port, SECRET), &[]);
    let response = client()
        .get(format!("{}/v1/models?limit=5", Proxy::url(port)))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["data"][0]["id"], "fake-model");
    let seen = &upstream.seen()[0];
    assert_eq!(seen.method, "GET");
    assert_eq!(seen.path_and_query, "/v1/models?limit=5");
    assert_eq!(seen.headers["authorization"], format!("Bearer {SECRET}"));
    assert!(seen.body.is_empty());

    let embedding = r#"{"model":"e","input":"hello"}"#;
    let response = client()
        .post(format!("{}/v1/embeddings", Proxy::url(port)))
        .body(embedding)
        .send()
        .await
        .expect("send");
    assert_eq!(
        response.status(),
        404,
        "fake upstream has no embeddings: its 404 passes through"
    );
    assert_eq!(&upstream.seen()[1].body[..], embedding.as_bytes());

    let response = client()
        .get(format!("{}/nope", Proxy::url(port)))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 404);
    assert_openai_error(&response.json().await.expect("json"), "not_found");
    assert_eq!(upstream.seen().len(), 2, "unknown paths are not forwarded");
    // A graceful stop flushes the recorder: a (wrong) record would be on disk now.
    assert!(proxy.stop().success());
    assert!(
        proxy.records("pass").is_empty(),
        "pass-through is not recorded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_info_shapes_and_the_key_appears_nowhere() {
    let upstream = FakeUpstream::start(openai_like);
    let (a, b) = (free_port(), free_port());
    let mut proxy = Proxy::start_with_env(
        &two_workflows(&upstream.url, a, b),
        &[],
        &[("RUST_LOG", "trace")],
    );
    let mut bodies = String::new();

    let health = client()
        .get(format!("{}/health", Proxy::url(b)))
        .send()
        .await
        .expect("send");
    assert_eq!(health.status(), 200);
    let text = health.text().await.expect("text");
    bodies.push_str(&text);
    let health: Value = serde_json::from_str(&text).expect("json");
    let keys: Vec<&str> = health
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        [
            "api_host",
            "port",
            "service",
            "status",
            "timestamp",
            "workflow_id"
        ]
    );
    assert_eq!(health["status"], "OK");
    assert_eq!(health["workflow_id"], "custom_workflow");
    assert_eq!(
        health["api_host"], upstream.url,
        "normalised: no trailing /v1/"
    );
    assert_eq!(health["port"], b);

    let info = client().get(Proxy::url(b)).send().await.expect("send");
    let text = info.text().await.expect("text");
    bodies.push_str(&text);
    let info: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(info["name"], "MicroModel");
    assert_eq!(info["workflow_id"], "custom_workflow");
    assert_eq!(info["port"], b);
    assert!(info["version"].is_string());
    assert!(info["endpoints"].is_object());

    let response = client()
        .post(format!("{}/v1/chat/completions", Proxy::url(b)))
        .json(&json!({"model":"m","messages":[{"role":"user","content":"hi"}]}))
        .send()
        .await
        .expect("send");
    bodies.push_str(&response.text().await.expect("text"));
    proxy.wait_records("custom_workflow", 1);
    assert!(proxy.stop().success());

    assert!(!bodies.contains(SECRET));
    let logs = proxy.logs();
    assert!(logs.contains("custom_workflow"), "logs captured: {logs}");
    assert!(!logs.contains(SECRET), "the key leaked into the logs");
    assert!(!common::raw_lines(&proxy.data_dir).concat().contains(SECRET));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_clients_are_served_and_their_bodies_forwarded() {
    let upstream = FakeUpstream::start(openai_like);
    let port = free_port();
    let proxy = Proxy::start(&one_workflow("h2", &upstream.url, port, ""), &[]);
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .no_proxy()
        .build()
        .expect("client");
    let embedding = r#"{"model":"e","input":"over h2"}"#;
    let response = h2
        .post(format!("{}/v1/embeddings", Proxy::url(port)))
        .body(embedding)
        .send()
        .await
        .expect("send");
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    assert_eq!(&upstream.seen()[0].body[..], embedding.as_bytes());
    let response = h2
        .post(format!("{}/v1/chat/completions", Proxy::url(port)))
        .body(r#"{"model":"m","messages":[{"role":"user","content":"h2"}]}"#)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    proxy.wait_records("h2", 1);
}
