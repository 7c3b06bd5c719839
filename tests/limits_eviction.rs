//! Making room at the connection cap through the real binary: connections that never send a
//! byte are closed, oldest first, like idle keep-alive ones, when a connection waits for a
//! slot — on the admin listener (its own cap of 64) and on the workflow listeners
//! (`--max-connections`). The header read timeout is set far above the answer deadline, so
//! only eviction can explain a prompt answer.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::upstream::openai_like;
use common::{check, eventually, free_port, one_workflow, FakeUpstream, Proxy};

/// Longest any wait of these tests may take before it counts as a failure.
const PATIENCE: Duration = Duration::from_secs(20);

/// How long a request at the cap may take to be answered: far below the header read timeout
/// (60 s) that would otherwise be the first thing to free a slot.
const PROMPT: Duration = Duration::from_secs(5);

/// Header read timeout of these tests, in seconds.
const HEADER_TIMEOUT: &str = "60";

fn start(args: &[&str]) -> (Proxy, FakeUpstream, u16, u16) {
    let upstream = FakeUpstream::start(openai_like);
    let (port, admin) = (free_port(), free_port());
    let admin_addr = format!("127.0.0.1:{admin}");
    let mut all = vec![
        "--admin-addr",
        admin_addr.as_str(),
        "--header-read-timeout-seconds",
        HEADER_TIMEOUT,
    ];
    all.extend_from_slice(args);
    let proxy = Proxy::start(&one_workflow("evict", &upstream.url, port, ""), &all);
    (proxy, upstream, port, admin)
}

/// `count` connections that never send a byte.
fn silent(port: u16, count: usize) -> Vec<TcpStream> {
    (0..count)
        .map(|_| {
            let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
            stream.set_nonblocking(true).expect("non-blocking");
            stream
        })
        .collect()
}

/// Whether the server has closed `stream` (a non-blocking read sees the end).
fn closed_by_server(mut stream: &TcpStream) -> bool {
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => panic!("a silent connection got an answer"),
        Err(e) if e.kind() == ErrorKind::WouldBlock => false,
        Err(e) if e.kind() == ErrorKind::ConnectionReset => true,
        Err(e) => panic!("reading a silent connection: {e}"),
    }
}

/// Polls until at least `n` of `streams` were closed by the server.
fn wait_closed(streams: &[TcpStream], n: usize) {
    eventually(
        PATIENCE,
        format!("{n} connections closed by the server"),
        || {
            let closed = streams.iter().filter(|s| closed_by_server(s)).count();
            check(closed >= n, || format!("{closed} closed"))
        },
    );
}

/// Sends `request` on a new connection and reads the status line, failing if it takes
/// longer than `within`.
fn status_within(port: u16, request: &str, within: Duration) -> (u16, TcpStream) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(within)).expect("timeout");
    stream.write_all(request.as_bytes()).expect("write");
    (read_status(&mut stream), stream)
}

/// Reads up to the end of a response head; returns its status.
fn read_status(stream: &mut TcpStream) -> u16 {
    let mut data = Vec::new();
    let mut buf = [0u8; 1024];
    while !data.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = match stream.read(&mut buf) {
            Ok(n) => n,
            Err(e) => panic!("no answer in time: {e}"),
        };
        assert!(n > 0, "closed before an answer: {data:?}");
        data.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&data[9..12])
        .parse()
        .expect("a status")
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n")
}

/// The value of a metric series on the admin listener (0 when absent).
fn metric(admin: u16, series: &str) -> f64 {
    let mut stream = TcpStream::connect(("127.0.0.1", admin)).expect("connect");
    stream.set_read_timeout(Some(PATIENCE)).expect("timeout");
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .expect("write");
    let mut text = String::new();
    stream.read_to_string(&mut text).expect("read /metrics");
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

/// Polls until the only open connection is the scrape itself (the harness's start-up
/// probes are closed), so that a test's own connections are the only ones holding slots.
fn wait_settled(admin: u16) {
    eventually(PATIENCE, "the start-up connections to close", || {
        let open = metric(admin, "micromodel_connections_open");
        check(open <= 1.0, || format!("{open} open"))
    });
}

const EVICTED: &str = "micromodel_connections_closed_total{reason=\"evicted\"}";

#[test]
fn seventy_silent_connections_do_not_blind_the_admin_probes() {
    let (_proxy, _upstream, _port, admin) = start(&[]);
    let flood = silent(admin, 70);
    // The flood alone overflows the admin cap of 64: the oldest silent ones make room.
    wait_closed(&flood, 70 - 64);
    for path in ["/healthz", "/readyz", "/healthz"] {
        let (status, _kept) = status_within(admin, &get(path), PROMPT);
        assert_eq!(status, 200, "{path}");
    }
    wait_metric(admin, EVICTED, 6.0);
}

#[test]
fn at_the_workflow_cap_silent_connections_make_room_for_a_real_request() {
    let (_proxy, _upstream, port, admin) = start(&["--max-connections", "3"]);
    // The harness's own start-up probes must be gone first: only this scrape is open.
    wait_settled(admin);
    let held = silent(port, 3);
    // All three hold their slots (the scrape's own connection is the fourth open one).
    wait_metric(admin, "micromodel_connections_open", 4.0);
    let (status, _kept) = status_within(port, &get("/health"), PROMPT);
    assert_eq!(status, 200);
    wait_closed(&held, 1);
    assert!(closed_by_server(&held[0]), "the oldest goes first");
    assert!(!closed_by_server(&held[1]) && !closed_by_server(&held[2]));
    wait_metric(admin, EVICTED, 1.0);
}

#[test]
fn a_connection_sending_its_headers_is_not_evicted() {
    let (_proxy, _upstream, port, admin) = start(&["--max-connections", "1"]);
    wait_settled(admin);
    let mut slow = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    slow.set_read_timeout(Some(PATIENCE)).expect("timeout");
    slow.write_all(b"GET /health HTTP/1.1\r\n").expect("write");
    wait_metric(admin, "micromodel_connections_open", 2.0);
    let mut waiting = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    waiting.set_read_timeout(Some(PATIENCE)).expect("timeout");
    waiting.write_all(get("/health").as_bytes()).expect("write");
    wait_metric(admin, "micromodel_connection_limit_reached_total", 1.0);
    // The half-sent request keeps its slot and is answered once complete; then, idle
    // between requests, it makes room for the waiting one.
    slow.write_all(b"Host: localhost\r\n\r\n").expect("write");
    assert_eq!(read_status(&mut slow), 200);
    assert_eq!(read_status(&mut waiting), 200);
    wait_metric(admin, EVICTED, 1.0);
}
