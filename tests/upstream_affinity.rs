//! Connection affinity (`upstream::affinity`): an HTTP/1.1 client connection keeps one plain
//! `http://` upstream connection of its own; it closes with the client connection, and a
//! closed or replaced upstream connection is opened again.

mod common;

use std::sync::mpsc;
use std::time::Duration;

use common::upstream::openai_like;
use common::{free_port, one_workflow, FakeUpstream, Proxy};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

/// A client with at most one connection (so sequential requests share it).
fn one_connection_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(1)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

/// One chat request, its answer read to the end (so the client can reuse its connection).
async fn chat(client: &reqwest::Client, port: u16) -> reqwest::StatusCode {
    let response = client
        .post(format!("{}/v1/chat/completions", Proxy::url(port)))
        .json(&json!({"model": "m", "messages": [{"role": "user", "content": "Hi"}]}))
        .send()
        .await
        .expect("send");
    let status = response.status();
    response.bytes().await.expect("whole answer");
    status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_client_connection_keeps_its_own_upstream_connection() {
    let upstream = FakeUpstream::start(openai_like);
    let port = free_port();
    let proxy = Proxy::start(&one_workflow("a", &upstream.url, port, ""), &[]);
    let first = one_connection_client();
    let second = one_connection_client();
    for client in [&first, &first, &second, &first, &second] {
        assert_eq!(chat(client, port).await, 200);
    }
    let peers: Vec<_> = upstream.seen().iter().map(|s| s.peer).collect();
    assert_eq!(peers.len(), 5);
    assert_eq!(
        peers[0], peers[1],
        "same client connection, same upstream one"
    );
    assert_eq!(peers[0], peers[3]);
    assert_eq!(peers[2], peers[4]);
    assert_ne!(
        peers[0], peers[2],
        "another client connection, another upstream one"
    );
    proxy.wait_records("a", 5);
}

/// What the raw upstream saw.
#[derive(Debug, PartialEq)]
enum Event {
    Accepted,
    Closed,
}

/// A minimal HTTP/1.1 upstream on raw sockets that reports connections opened and closed.
/// With `close_after_answer`, it answers `Connection: close` and closes.
async fn raw_upstream(close_after_answer: bool) -> (u16, mpsc::Receiver<Event>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (tx, rx) = mpsc::channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let tx = tx.clone();
            let _ = tx.send(Event::Accepted);
            tokio::spawn(async move {
                let mut stream = BufReader::new(stream);
                loop {
                    let mut length = 0usize;
                    let mut line = String::new();
                    let mut got_head = false;
                    while stream.read_line(&mut line).await.unwrap_or(0) > 0 {
                        got_head = true;
                        if line == "\r\n" {
                            break;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap_or(0);
                        }
                        line.clear();
                    }
                    if !got_head || line != "\r\n" {
                        break;
                    }
                    let mut body = vec![0; length];
                    if stream.read_exact(&mut body).await.is_err() {
                        break;
                    }
                    let answer = serde_json::to_string(&common::upstream::chat_completion("raw"))
                        .expect("json");
                    let connection = if close_after_answer {
                        "close"
                    } else {
                        "keep-alive"
                    };
                    let head = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: {connection}\r\n\r\n",
                        answer.len()
                    );
                    let out = stream.get_mut();
                    if out.write_all(head.as_bytes()).await.is_err()
                        || out.write_all(answer.as_bytes()).await.is_err()
                        || close_after_answer
                    {
                        break;
                    }
                }
                let _ = tx.send(Event::Closed);
            });
        }
    });
    (port, rx)
}

fn next_event(rx: &mpsc::Receiver<Event>) -> Event {
    rx.recv_timeout(Duration::from_secs(10))
        .expect("an upstream connection event in time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_connection_closes_with_the_client_connection() {
    let (upstream_port, events) = raw_upstream(false).await;
    let port = free_port();
    let config = one_workflow("r", &format!("http://127.0.0.1:{upstream_port}"), port, "");
    let proxy = Proxy::start(&config, &[]);
    let client = one_connection_client();
    assert_eq!(chat(&client, port).await, 200);
    assert_eq!(chat(&client, port).await, 200);
    assert_eq!(next_event(&events), Event::Accepted);
    assert!(
        events.try_recv().is_err(),
        "two requests on one client connection: one upstream connection, still open"
    );
    drop(client);
    assert_eq!(
        next_event(&events),
        Event::Closed,
        "the upstream connection ends with the client's"
    );
    proxy.wait_records("r", 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_that_closes_after_each_answer_is_reconnected() {
    let (upstream_port, events) = raw_upstream(true).await;
    let port = free_port();
    let config = one_workflow("c", &format!("http://127.0.0.1:{upstream_port}"), port, "");
    let proxy = Proxy::start(&config, &[]);
    let client = one_connection_client();
    for _ in 0..3 {
        assert_eq!(chat(&client, port).await, 200);
    }
    let opened = std::iter::from_fn(|| events.recv_timeout(Duration::from_millis(500)).ok())
        .filter(|e| *e == Event::Accepted)
        .count();
    assert_eq!(opened, 3, "one upstream connection per answer");
    proxy.wait_records("c", 3);
}
