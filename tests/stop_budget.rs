//! One stop budget (`--drain-seconds`): drain, then the recorder's flush in what remains, then
//! one last attempt and exit, even when a record can never be written or a write never
//! returns; a second signal skips to the last attempt; exit code 3 with `lost=N` in the last
//! log line when records were lost.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use common::upstream::{chat_completion, json_response, sse_response, Seen};
use common::{client, free_port, FakeUpstream, Proxy};
use futures_util::StreamExt;
use serde_json::{json, Value};

/// How long `wait_exit` polls before it fails with the log; the assertion on how long the stop
/// took is [`assert_stopped_within`], much tighter.
const EXIT_LIMIT: Duration = Duration::from_secs(20);

/// The budget of the tests below (`--drain-seconds 2`).
const BUDGET: Duration = Duration::from_secs(2);

/// Scheduling slack for a loaded 2-core CI machine (process start-up of the signal handler,
/// the poll interval of `wait_exit`, a busy scheduler); not part of the product's promise.
const ALLOWANCE: Duration = Duration::from_millis(1500);

/// Fails unless `took` is within `budget` + the worst-case grace of a stop without admin
/// listener and sink (`micromodel::stop::worst_case_grace`: last attempt 2 s + runtime
/// shutdown 0.5 s) + [`ALLOWANCE`].
fn assert_stopped_within(proxy: &Proxy, took: Duration, budget: Duration, admin: bool) {
    let limit = budget + micromodel::stop::worst_case_grace(admin, false) + ALLOWANCE;
    assert!(
        took <= limit,
        "the stop took {took:?}, more than {budget:?} + grace + allowance = {limit:?}\n{}",
        proxy.logs()
    );
}

/// Sends SIGTERM and waits for the exit; the status and how long it took from the signal.
fn stop_timed(proxy: &mut Proxy) -> (std::process::ExitStatus, Duration) {
    let began = Instant::now();
    proxy.signal(libc::SIGTERM);
    let status = proxy.wait_exit(EXIT_LIMIT);
    (status, began.elapsed())
}

/// Answers `"stall"` with a stream that sends one chunk and then nothing, forever; anything
/// else with a plain chat completion.
async fn stalling_upstream(seen: Seen) -> axum::response::Response {
    if seen.body.windows(5).any(|w| w == b"stall") {
        let first = Bytes::from_static(
            b"data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"hi\"},\"finish_reason\":null}]}\n\n",
        );
        let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(first) })
            .chain(futures_util::stream::pending());
        return sse_response(Body::from_stream(stream));
    }
    json_response(StatusCode::OK, &chat_completion("ok"))
}

/// Today's day folder of `workflow` (UTC, as the recorder names it).
fn day_dir(data_dir: &std::path::Path, workflow: &str) -> PathBuf {
    data_dir
        .join(workflow)
        .join(chrono::Utc::now().format("%d-%m-%Y").to_string())
}

/// Starts the proxy for workflow `w` with today's day path blocked by a file, so no record
/// of today can ever be written.
fn start_blocked(upstream: &FakeUpstream, extra_args: &[&str]) -> (Proxy, u16) {
    let port = free_port();
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = dir.path().join("data");
    let day = day_dir(&data_dir, "w");
    std::fs::create_dir_all(day.parent().expect("workflow folder")).expect("mkdir");
    std::fs::write(&day, "a file where the day folder should be").expect("block");
    let config = json!({"w": {"OPENAI_API_HOST": upstream.url, "PORT": port}});
    (
        Proxy::start_in(dir, data_dir, &config, extra_args, &[]),
        port,
    )
}

/// Sends a non-streamed chat and reads the whole answer: a client that drops the response
/// before its body ends is a disconnect, and its record is (rightly) not written.
async fn answered(port: u16, content: &str) -> StatusCode {
    let response = chat(port, content, false).await;
    let status = response.status();
    response.bytes().await.expect("the answer's body");
    status
}

async fn chat(port: u16, content: &str, stream: bool) -> reqwest::Response {
    client()
        .post(format!("{}/v1/chat/completions", Proxy::url(port)))
        .json(&json!({"model":"m","stream":stream,"messages":[{"role":"user","content":content}]}))
        .send()
        .await
        .expect("send")
}

/// The last non-empty line of the log.
fn last_log_line(proxy: &Proxy) -> String {
    proxy
        .logs()
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .to_owned()
}

fn assert_lost(proxy: &Proxy, status: std::process::ExitStatus, lost: &str) {
    assert_eq!(
        status.code(),
        Some(3),
        "records lost: exit 3\n{}",
        proxy.logs()
    );
    let last = last_log_line(proxy);
    assert!(
        last.contains(lost),
        "the last log line says {lost}: {last:?}\n{}",
        proxy.logs()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unwritable_record_and_nothing_in_flight_stops_within_the_budget_with_exit_3() {
    let upstream = FakeUpstream::start(stalling_upstream);
    let (mut proxy, port) = start_blocked(&upstream, &["--drain-seconds", "2"]);
    assert_eq!(answered(port, "never written").await, 200);
    proxy.wait_log("recorder write failed", 1);
    let (status, took) = stop_timed(&mut proxy);
    assert_lost(&proxy, status, "lost=1");
    assert_stopped_within(&proxy, took, BUDGET, false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_stream_and_an_unwritable_record_stop_within_the_budget() {
    let upstream = FakeUpstream::start(stalling_upstream);
    let (mut proxy, port) = start_blocked(&upstream, &["--drain-seconds", "2"]);
    assert_eq!(answered(port, "never written").await, 200);
    let stalled = chat(port, "stall", true).await;
    assert_eq!(stalled.status(), 200);
    proxy.wait_log("recorder write failed", 1);
    let (status, took) = stop_timed(&mut proxy);
    assert_eq!(status.code(), Some(3), "{}", proxy.logs());
    let last = last_log_line(&proxy);
    assert!(last.contains("lost="), "{last:?}");
    assert_stopped_within(&proxy, took, BUDGET, false);
    drop(stalled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_admin_listener_a_stalled_stream_and_an_unwritable_record_stop_within_the_budget()
{
    let upstream = FakeUpstream::start(stalling_upstream);
    let admin = free_port();
    let admin_addr = format!("127.0.0.1:{admin}");
    let (mut proxy, port) = start_blocked(
        &upstream,
        &["--drain-seconds", "2", "--admin-addr", &admin_addr],
    );
    assert_eq!(answered(port, "never written").await, 200);
    let stalled = chat(port, "stall", true).await;
    assert_eq!(stalled.status(), 200);
    // A scraper with a keep-alive connection open on the admin listener during the stop.
    let scraper = client();
    let metrics = scraper
        .get(format!("{}/metrics", Proxy::url(admin)))
        .send()
        .await
        .expect("scrape");
    assert_eq!(metrics.status(), 200);
    metrics.bytes().await.expect("metrics body");
    proxy.wait_log("recorder write failed", 1);
    let (status, took) = stop_timed(&mut proxy);
    assert_lost(&proxy, status, "lost=");
    assert_stopped_within(&proxy, took, BUDGET, true);
    drop(stalled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_during_the_drain_cuts_straight_to_the_last_attempt() {
    let upstream = FakeUpstream::start(stalling_upstream);
    // A budget far beyond the exit limit: only the second signal can end the stop in time.
    let (mut proxy, port) = start_blocked(&upstream, &["--drain-seconds", "600"]);
    assert_eq!(answered(port, "never written").await, 200);
    let stalled = chat(port, "stall", true).await;
    proxy.wait_log("recorder write failed", 1);
    proxy.signal(libc::SIGTERM);
    proxy.wait_log("draining connections", 1);
    // Measured from the second signal: it leaves no budget, only the grace.
    let (status, took) = stop_timed(&mut proxy);
    assert_eq!(status.code(), Some(3), "{}", proxy.logs());
    assert!(last_log_line(&proxy).contains("lost="), "{}", proxy.logs());
    assert_stopped_within(&proxy, took, Duration::ZERO, false);
    drop(stalled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_during_the_flush_cuts_straight_to_the_last_attempt() {
    let upstream = FakeUpstream::start(stalling_upstream);
    let (mut proxy, port) = start_blocked(&upstream, &["--drain-seconds", "600"]);
    assert_eq!(answered(port, "never written").await, 200);
    proxy.wait_log("recorder write failed", 1);
    proxy.signal(libc::SIGTERM);
    // Nothing in flight: the drain is over at once and the recorder is retrying.
    proxy.wait_log("flushing the recorder", 1);
    let (status, took) = stop_timed(&mut proxy);
    assert_lost(&proxy, status, "lost=1");
    assert_stopped_within(&proxy, took, Duration::ZERO, false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_that_never_returns_does_not_hold_the_exit() {
    let upstream = FakeUpstream::start(stalling_upstream);
    let port = free_port();
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = dir.path().join("data");
    let day = day_dir(&data_dir, "w");
    std::fs::create_dir_all(&day).expect("mkdir");
    // Opening a FIFO for writing blocks until a reader comes; none ever does.
    let fifo = day.join("data.jsonl");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("run mkfifo");
    assert!(made.success(), "mkfifo failed");
    let config = json!({"w": {"OPENAI_API_HOST": upstream.url, "PORT": port}});
    let mut proxy = Proxy::start_in(dir, data_dir, &config, &["--drain-seconds", "2"], &[]);
    assert_eq!(answered(port, "stuck in the kernel").await, 200);
    let (status, took) = stop_timed(&mut proxy);
    assert_lost(&proxy, status, "lost=1");
    assert_stopped_within(&proxy, took, BUDGET, false);
    assert!(
        proxy.logs().contains("a write is stuck"),
        "the stuck write is named:\n{}",
        proxy.logs()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_stop_says_lost_0_and_exits_0() {
    let upstream = FakeUpstream::start(stalling_upstream);
    let port = free_port();
    let config = json!({"w": {"OPENAI_API_HOST": upstream.url, "PORT": port}});
    let mut proxy = Proxy::start(&config, &["--drain-seconds", "2"]);
    for i in 0..20 {
        assert_eq!(answered(port, &format!("fine {i}")).await, 200);
    }
    let (status, took) = stop_timed(&mut proxy);
    assert_eq!(status.code(), Some(0), "{}", proxy.logs());
    assert_stopped_within(&proxy, took, BUDGET, false);
    assert!(last_log_line(&proxy).contains("lost=0"), "{}", proxy.logs());
    let records: Vec<Value> = proxy.records("w");
    assert_eq!(records.len(), 20);
}
