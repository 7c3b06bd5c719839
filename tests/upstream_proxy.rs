//! Proxies from the environment (`HTTP_PROXY`, `HTTPS_PROXY`, `NO_PROXY`): plain upstreams
//! through an HTTP proxy in absolute form, TLS upstreams through a `CONNECT` tunnel.

mod common;

use std::sync::{Arc, Mutex};

use common::upstream::tls::ca_file;
use common::upstream::{chat_completion, openai_like};
use common::{client, free_port, one_workflow, FakeUpstream, Proxy};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// Sends one chat and reads its whole answer (a client that drops the body early is a
/// disconnect, whose record is rightly not written); returns the status and the body.
async fn chat(port: u16) -> (reqwest::StatusCode, String) {
    let response = client()
        .post(format!("{}/v1/chat/completions", Proxy::url(port)))
        .json(&json!({"model": "m", "messages": [{"role": "user", "content": "Hi"}]}))
        .send()
        .await
        .expect("send");
    let status = response.status();
    (status, response.text().await.expect("the answer's body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_upstream_goes_through_http_proxy_with_its_credentials() {
    // The "proxy" answers like the upstream: it sees what a forward proxy would.
    let forward_proxy = FakeUpstream::start(openai_like);
    let port = free_port();
    // A name that does not resolve: only the proxy can reach it.
    let config = one_workflow("p", "http://upstream.invalid:8000", port, "sk-up");
    let proxy_url = format!("http://alice:s3cret@127.0.0.1:{}", forward_proxy.port);
    let proxy = Proxy::start_with_env(&config, &[], &[("HTTP_PROXY", &proxy_url)]);

    let (status, body) = chat(port).await;
    assert_eq!(status, 200);
    let answer: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(answer, chat_completion("Hello from upstream"));

    let seen = forward_proxy.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].target, "http://upstream.invalid:8000/v1/chat/completions",
        "absolute form to a proxy"
    );
    assert_eq!(seen[0].headers["host"], "upstream.invalid:8000");
    // base64("alice:s3cret")
    assert_eq!(
        seen[0].headers["proxy-authorization"],
        "Basic YWxpY2U6czNjcmV0"
    );
    assert_eq!(seen[0].headers["authorization"], "Bearer sk-up");
    proxy.wait_records("p", 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_proxy_hosts_are_reached_directly() {
    let upstream = FakeUpstream::start(openai_like);
    let port = free_port();
    let config = one_workflow("d", &upstream.url, port, "");
    // A proxy that does not exist: using it would be a 502.
    let dead = format!("http://127.0.0.1:{}", free_port());
    let env = [("HTTP_PROXY", dead.as_str()), ("NO_PROXY", "127.0.0.1")];
    let proxy = Proxy::start_with_env(&config, &[], &env);
    assert_eq!(chat(port).await.0, 200);
    assert_eq!(upstream.seen()[0].target, "/v1/chat/completions");
    proxy.wait_records("d", 1);
}

/// A minimal `CONNECT` proxy: remembers each request line, then pipes bytes both ways.
async fn start_connect_proxy() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&lines);
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                let mut client = BufReader::new(client);
                let mut request_line = String::new();
                client.read_line(&mut request_line).await.ok()?;
                loop {
                    let mut header = String::new();
                    client.read_line(&mut header).await.ok()?;
                    if header == "\r\n" || header.is_empty() {
                        break;
                    }
                }
                seen.lock()
                    .expect("lock")
                    .push(request_line.trim_end().to_owned());
                let target = request_line.split_whitespace().nth(1)?.to_owned();
                let mut server = tokio::net::TcpStream::connect(target).await.ok()?;
                client
                    .get_mut()
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await
                    .ok()?;
                tokio::io::copy_bidirectional(&mut client, &mut server)
                    .await
                    .ok()
            });
        }
    });
    (port, lines)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_upstream_goes_through_a_connect_tunnel() {
    let upstream = FakeUpstream::start_tls(openai_like);
    let (proxy_port, connects) = start_connect_proxy().await;
    let port = free_port();
    let config = one_workflow("t", &upstream.url, port, "sk-up");
    let proxy_url = format!("http://127.0.0.1:{proxy_port}");
    let ca = ca_file();
    let env = [
        ("HTTPS_PROXY", proxy_url.as_str()),
        ("SSL_CERT_FILE", ca.to_str().expect("utf-8 path")),
    ];
    let proxy = Proxy::start_with_env(&config, &[], &env);

    assert_eq!(chat(port).await.0, 200);
    assert_eq!(
        *connects.lock().expect("lock"),
        [format!("CONNECT localhost:{} HTTP/1.1", upstream.port)]
    );
    // TLS is end to end through the tunnel: the upstream itself negotiated HTTP/2.
    assert_eq!(upstream.seen()[0].version, axum::http::Version::HTTP_2);
    assert_eq!(upstream.seen()[0].path_and_query, "/v1/chat/completions");
    assert_eq!(upstream.seen()[0].headers["authorization"], "Bearer sk-up");
    proxy.wait_records("t", 1);
}
