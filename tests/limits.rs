//! Connection and body limits (issue 11, items 3 and 8) through the real binary, with raw TCP
//! clients: slowloris, idle keep-alive, stalled and broken bodies, the connection cap, the
//! buffered-bytes budget, and a clean stop of the admin listener.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use common::upstream::{chat_completion, json_response, openai_like};
use common::{check, eventually, free_port, one_workflow, FakeUpstream, Proxy};
use serde_json::{json, Value};

/// Longest any single wait of these tests may take before it counts as a failure.
const PATIENCE: Duration = Duration::from_secs(20);

fn connect(port: u16) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(PATIENCE)).expect("timeout");
    stream
}

/// One HTTP/1.1 response: status, head (lower-cased), body.
struct Answer {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// Reads one response with a `Content-Length` body.
fn read_answer(stream: &mut TcpStream) -> Answer {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse().expect("length"));
            if data.len() >= end + 4 + length {
                let status = head[9..12].parse().expect("status");
                let body = data[end + 4..end + 4 + length].to_vec();
                return Answer { status, head, body };
            }
        }
        let n = stream.read(&mut buf).expect("read the answer");
        assert!(n > 0, "closed before a whole answer: {data:?}");
        data.extend_from_slice(&buf[..n]);
    }
}

/// Reads until the server closes the connection; returns what came before.
fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return data,
            Ok(n) => data.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return data,
            Err(e) => panic!("the server never closed the connection: {e}"),
        }
    }
}

/// Nothing arrives on `stream` for a moment (a negative check: it cannot fail by slowness).
fn assert_no_answer_yet(stream: &mut TcpStream) {
    stream
        .set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    let mut buf = [0u8; 64];
    match stream.read(&mut buf) {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        other => panic!("expected no answer yet, got {other:?}"),
    }
    stream.set_read_timeout(Some(PATIENCE)).expect("timeout");
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n")
}

fn post_head(path: &str, length: usize) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    )
}

/// A chat request body of about `size` bytes.
fn chat_body(size: usize) -> String {
    let text = "x".repeat(size);
    json!({"model": "m", "messages": [{"role": "user", "content": text}]}).to_string()
}

/// The value of a metric series on the admin listener (0 when absent).
fn metric(admin: u16, series: &str) -> f64 {
    let mut stream = connect(admin);
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .expect("write");
    let text = String::from_utf8(read_until_closed(&mut stream)).expect("utf-8");
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |v| v.trim().parse().expect("a number"))
}

/// Polls until `series` reaches `at_least`.
fn wait_metric(admin: u16, series: &str, at_least: f64) {
    eventually(PATIENCE, format!("{series} to reach {at_least}"), || {
        let now = metric(admin, series);
        check(now >= at_least, || format!("{now}"))
    });
}

fn start(upstream: &str, args: &[&str]) -> (Proxy, u16, u16) {
    let (port, admin) = (free_port(), free_port());
    let admin_addr = format!("127.0.0.1:{admin}");
    let mut all = vec!["--admin-addr", admin_addr.as_str()];
    all.extend_from_slice(args);
    let proxy = Proxy::start(&one_workflow("limits", upstream, port, ""), &all);
    (proxy, port, admin)
}

/// A fake upstream that holds every answer until the test releases one.
fn holding_upstream() -> (FakeUpstream, Arc<tokio::sync::Semaphore>) {
    let release = Arc::new(tokio::sync::Semaphore::new(0));
    let gate = Arc::clone(&release);
    let upstream = FakeUpstream::start(move |_| {
        let gate = Arc::clone(&gate);
        async move {
            gate.acquire().await.expect("open").forget();
            json_response(StatusCode::OK, &chat_completion("held"))
        }
    });
    (upstream, release)
}

fn wait_seen(upstream: &FakeUpstream, n: usize) {
    eventually(
        PATIENCE,
        format!("the upstream to see {n} requests"),
        || {
            let seen = upstream.seen().len();
            check(seen >= n, || format!("{seen} seen"))
        },
    );
}

#[test]
fn slowloris_headers_and_silent_connections_are_closed_after_the_header_timeout() {
    let upstream = FakeUpstream::start(openai_like);
    let (_proxy, port, admin) = start(&upstream.url, &["--header-read-timeout-seconds", "1"]);
    let mut partial = connect(port);
    partial
        .write_all(b"POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        .expect("write");
    let mut silent = connect(port);
    assert!(
        read_until_closed(&mut partial).is_empty(),
        "closed, no answer"
    );
    assert!(
        read_until_closed(&mut silent).is_empty(),
        "closed, no answer"
    );
    wait_metric(
        admin,
        "micromodel_connections_closed_total{reason=\"header_timeout\"}",
        2.0,
    );
    // A prompt client on the same listener is served.
    let mut prompt = connect(port);
    prompt.write_all(get("/health").as_bytes()).expect("write");
    assert_eq!(read_answer(&mut prompt).status, 200);
}

#[test]
fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let upstream = FakeUpstream::start(openai_like);
    let (_proxy, port, admin) = start(&upstream.url, &["--idle-timeout-seconds", "1"]);
    let mut stream = connect(port);
    stream.write_all(get("/health").as_bytes()).expect("write");
    assert_eq!(read_answer(&mut stream).status, 200);
    assert!(read_until_closed(&mut stream).is_empty());
    wait_metric(
        admin,
        "micromodel_connections_closed_total{reason=\"idle_timeout\"}",
        1.0,
    );
}

#[test]
fn a_stalled_body_gets_408_on_recorded_and_pass_through_endpoints() {
    let upstream = FakeUpstream::start(openai_like);
    let (_proxy, port, admin) = start(&upstream.url, &["--body-read-timeout-seconds", "1"]);
    for path in ["/v1/chat/completions", "/v1/embeddings"] {
        let mut stream = connect(port);
        stream
            .write_all(format!("{}{{\"model\":", post_head(path, 100)).as_bytes())
            .expect("write");
        let answer = read_answer(&mut stream);
        assert_eq!(answer.status, 408, "{path}");
        let error = &answer.json()["error"];
        assert_eq!(error["code"], "body_read_timeout", "{path}");
        assert_eq!(error["type"], "invalid_request_error");
        // The rest of that body can never be read: the connection ends.
        read_until_closed(&mut stream);
    }
    wait_metric(
        admin,
        "micromodel_requests_rejected_total{reason=\"body_read_timeout\"}",
        2.0,
    );
}

#[test]
fn bad_chunked_encoding_from_the_client_is_a_400_not_a_502() {
    let upstream = FakeUpstream::start(openai_like);
    let (_proxy, port, admin) = start(&upstream.url, &[]);
    for path in ["/v1/chat/completions", "/v1/embeddings"] {
        let mut stream = connect(port);
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{{\"a\":\r\nZZ-not-a-size\r\n"
        );
        stream.write_all(request.as_bytes()).expect("write");
        let answer = read_answer(&mut stream);
        assert_eq!(answer.status, 400, "{path}: {}", answer.head);
        let error = &answer.json()["error"];
        assert_eq!(error["code"], "body_read_failed", "{path}");
        assert_eq!(error["type"], "invalid_request_error");
    }
    wait_metric(
        admin,
        "micromodel_requests_rejected_total{reason=\"body_read_failed\"}",
        2.0,
    );
    assert_eq!(
        metric(
            admin,
            "micromodel_upstream_errors_total{workflow=\"limits\",kind=\"connect\"}"
        ),
        0.0
    );
}

#[test]
fn connections_over_the_cap_wait_until_one_closes() {
    let (upstream, release) = holding_upstream();
    let (_proxy, port, admin) = start(&upstream.url, &["--max-connections", "2"]);
    let body = chat_body(10);
    let mut busy: Vec<TcpStream> = (0..2)
        .map(|_| {
            let mut stream = connect(port);
            let request = format!("{}{body}", post_head("/v1/chat/completions", body.len()));
            stream.write_all(request.as_bytes()).expect("write");
            stream
        })
        .collect();
    wait_seen(&upstream, 2);
    let mut waiting = connect(port);
    waiting.write_all(get("/health").as_bytes()).expect("write");
    wait_metric(admin, "micromodel_connection_limit_reached_total", 1.0);
    assert_no_answer_yet(&mut waiting);
    // One busy client leaves: its slot goes to the waiting connection.
    drop(busy.remove(0));
    assert_eq!(read_answer(&mut waiting).status, 200);
    // The held request still completes.
    release.add_permits(2);
    assert_eq!(read_answer(&mut busy[0]).status, 200);
}

#[test]
fn at_the_cap_an_idle_keep_alive_connection_makes_room() {
    let upstream = FakeUpstream::start(openai_like);
    let (_proxy, port, admin) = start(&upstream.url, &["--max-connections", "1"]);
    let mut idle = connect(port);
    idle.write_all(get("/health").as_bytes()).expect("write");
    assert_eq!(read_answer(&mut idle).status, 200);
    let mut newcomer = connect(port);
    newcomer
        .write_all(get("/health").as_bytes())
        .expect("write");
    assert_eq!(read_answer(&mut newcomer).status, 200);
    assert!(read_until_closed(&mut idle).is_empty());
    wait_metric(
        admin,
        "micromodel_connections_closed_total{reason=\"evicted\"}",
        1.0,
    );
}

#[test]
fn bodies_over_the_buffered_budget_get_503_server_overloaded() {
    let (upstream, release) = holding_upstream();
    let (_proxy, port, admin) = start(
        &upstream.url,
        &[
            "--max-buffered-bytes",
            "100000",
            "--max-body-bytes",
            "1000000",
        ],
    );
    let body = chat_body(60_000);
    let send = |chunked: bool| {
        let mut stream = connect(port);
        if chunked {
            let head = "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
            let request = format!("{head}{:x}\r\n{body}\r\n0\r\n\r\n", body.len());
            stream.write_all(request.as_bytes()).expect("write");
        } else {
            let request = format!("{}{body}", post_head("/v1/chat/completions", body.len()));
            stream.write_all(request.as_bytes()).expect("write");
        }
        stream
    };
    // The first body is held (its answer is held upstream, its messages kept for the record).
    let mut held = send(false);
    wait_seen(&upstream, 1);
    for chunked in [false, true] {
        let answer = read_answer(&mut send(chunked));
        assert_eq!(answer.status, 503, "chunked: {chunked}");
        assert!(answer.head.contains("retry-after: 1"), "{}", answer.head);
        let error = &answer.json()["error"];
        assert_eq!(error["code"], "server_overloaded");
        assert_eq!(error["type"], "server_error");
    }
    assert_eq!(
        metric(
            admin,
            "micromodel_requests_rejected_total{reason=\"buffered_bytes\"}"
        ),
        2.0
    );
    assert_eq!(
        upstream.seen().len(),
        1,
        "refused bodies never reach the upstream"
    );
    // Once the first answer is done, its bytes are given back.
    release.add_permits(2);
    assert_eq!(read_answer(&mut held).status, 200);
    let mut again = send(false);
    assert_eq!(read_answer(&mut again).status, 200);
}

#[test]
fn the_admin_listener_stops_without_a_false_drain_warning() {
    let upstream = FakeUpstream::start(openai_like);
    let (mut proxy, port, admin) = start(&upstream.url, &[]);
    // A scraper that keeps its connection open, as Prometheus does.
    let mut scraper = connect(admin);
    scraper
        .write_all(get("/metrics").as_bytes())
        .expect("write");
    assert_eq!(read_answer(&mut scraper).status, 200);
    let mut client = connect(port);
    client.write_all(get("/health").as_bytes()).expect("write");
    assert_eq!(read_answer(&mut client).status, 200);
    assert!(proxy.stop().success());
    let logs = proxy.logs();
    assert!(logs.contains("Bye."), "{logs}");
    assert!(!logs.contains("Drain limit reached"), "{logs}");
}
