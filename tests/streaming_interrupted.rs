//! Streamed answers that do not complete, through the real binary: the client leaving (after
//! some chunks, after the headers, before the upstream answered) cancels the upstream and is not
//! recorded; an upstream `error` event, cut body or aborted body is passed on and not recorded;
//! `TIMEOUT_SECONDS` of upstream silence ends the stream with an error event. And the cases
//! that must still count as complete: a client leaving right after `[DONE]`, a healthy stream
//! longer than the timeout.

mod common;
mod streaming_support;

use std::time::{Duration, Instant};

use common::upstream::{controlled_sse, sse_events, DropSignal};
use common::{FakeUpstream, Seen};
use serde_json::Value;
use streaming_support::{
    assert_barrier_only, barrier, chat_request, full_sse, next_handle, post, read_exactly,
    read_to_end, start_proxy, text_chunks, wait_warning, LIMIT,
};

// ---------------------------------------------------------------------------------------------
// Streams that do not complete
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_gone_after_two_chunks_cancels_the_upstream_and_is_not_recorded() {
    let (upstream, mut handles) = controlled_sse();
    let (proxy, port) = start_proxy(&upstream.url, None);
    let mut response = post(port, "/v1/chat/completions", &chat_request("Hi", true))
        .send()
        .await
        .expect("send");
    let mut handle = next_handle(&mut handles).await;
    let events = sse_events(&text_chunks("chatcmpl-gone", &["one", "two", "three"]));
    let mut got = Vec::new();
    let mut sent = Vec::new();
    for event in &events[..2] {
        handle.send(event.clone());
        sent.extend_from_slice(event.as_bytes());
        read_exactly(&mut response, &mut got, &sent).await;
    }
    drop(response);

    handle.wait_closed(LIMIT).await;
    wait_warning(
        &proxy,
        "not recorded",
        &[
            ("workflow", "w"),
            ("upstream_id", "chatcmpl-gone"),
            ("reason", "client disconnected"),
        ],
    );
    barrier(&proxy, port, &mut handles).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_gone_after_the_headers_before_the_first_byte() {
    let (upstream, mut handles) = controlled_sse();
    let (proxy, port) = start_proxy(&upstream.url, None);
    let response = post(port, "/v1/chat/completions", &chat_request("Hi", true))
        .send()
        .await
        .expect("send");
    let mut handle = next_handle(&mut handles).await;
    assert_eq!(response.status(), 200);
    drop(response);

    handle.wait_closed(LIMIT).await;
    wait_warning(
        &proxy,
        "not recorded",
        &[("workflow", "w"), ("reason", "client disconnected")],
    );
    barrier(&proxy, port, &mut handles).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_gone_before_the_upstream_answered_cancels_the_upstream() {
    // The upstream never answers "wait" requests; its handler future holds a drop signal.
    let (started_tx, mut started) = tokio::sync::mpsc::unbounded_channel();
    let upstream = FakeUpstream::start(move |seen: Seen| {
        let started_tx = started_tx.clone();
        async move {
            if seen.json()["messages"][0]["content"] == "barrier" {
                return full_sse(sse_events(&text_chunks("chatcmpl-barrier", &["ok"])));
            }
            let (guard, closed) = DropSignal::new();
            let _ = started_tx.send(closed);
            std::future::pending::<()>().await;
            drop(guard);
            unreachable!()
        }
    });
    let (proxy, port) = start_proxy(&upstream.url, None);

    // A raw client, so that "gone" is exactly a closed socket.
    use tokio::io::AsyncWriteExt;
    let mut socket = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let body = serde_json::to_string(&chat_request("wait", true)).expect("json");
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    socket
        .write_all(format!("{head}{body}").as_bytes())
        .await
        .expect("write");
    let closed = tokio::time::timeout(LIMIT, started.recv())
        .await
        .expect("the upstream got the request")
        .expect("upstream running");
    drop(socket);

    tokio::time::timeout(LIMIT, closed)
        .await
        .expect("the upstream never saw its connection closed")
        .ok();
    wait_warning(
        &proxy,
        "not recorded",
        &[("workflow", "w"), ("reason", "client disconnected")],
    );

    let response = post(port, "/v1/chat/completions", &chat_request("barrier", true))
        .send()
        .await
        .expect("barrier");
    response.bytes().await.expect("barrier body");
    assert_barrier_only(&proxy);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_leaving_right_after_done_is_still_recorded() {
    // Clients (async-openai, the OpenAI SDKs) stop reading at `[DONE]` and close the
    // connection; the upstream may end its body a little later. The answer is complete.
    let (upstream, mut handles) = controlled_sse();
    let (proxy, port) = start_proxy(&upstream.url, None);
    let mut response = post(port, "/v1/chat/completions", &chat_request("Hi", true))
        .send()
        .await
        .expect("send");
    let mut handle = next_handle(&mut handles).await;
    let stream = sse_events(&text_chunks("chatcmpl-done", &["All", " done"])).concat();
    handle.send(stream.clone());
    let mut got = Vec::new();
    read_exactly(&mut response, &mut got, stream.as_bytes()).await;
    drop(response);
    handle.wait_closed(LIMIT).await;

    let records = proxy.wait_records("w", 1);
    assert_eq!(records[0]["messages"][1]["content"], "All done");
    assert_eq!(records[0]["stream"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_error_event_cut_or_abort_is_passed_on_and_not_recorded() {
    let (upstream, mut handles) = controlled_sse();
    let (proxy, port) = start_proxy(&upstream.url, None);

    // An `error` event mid-stream, then the upstream ends the body.
    let mut response = post(port, "/v1/chat/completions", &chat_request("Hi", true))
        .send()
        .await
        .expect("send");
    let mut handle = next_handle(&mut handles).await;
    let events = sse_events(&text_chunks("chatcmpl-errev", &["Partial"]));
    let error = "event: error\ndata: {\"error\":{\"message\":\"Overloaded\",\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\n";
    let sent = format!("{}{}{error}", events[0], events[1]);
    handle.send(sent.clone());
    handle.end();
    let got = read_to_end(&mut response).await.expect("body");
    assert_eq!(String::from_utf8_lossy(&got), sent);
    let line = wait_warning(
        &proxy,
        "not recorded",
        &[("workflow", "w"), ("upstream_id", "chatcmpl-errev")],
    );
    assert!(
        line.to_string().contains("Overloaded"),
        "the warning says what the upstream said: {line}"
    );

    // The upstream ends the body without a finish reason or `[DONE]`.
    let mut response = post(port, "/v1/chat/completions", &chat_request("Hi", true))
        .send()
        .await
        .expect("send");
    let mut handle = next_handle(&mut handles).await;
    let sent = format!("{}{}", events[0], events[1]).replace("errev", "cut");
    handle.send(sent.clone());
    handle.end();
    let got = read_to_end(&mut response).await.expect("body");
    assert_eq!(String::from_utf8_lossy(&got), sent);
    wait_warning(
        &proxy,
        "not recorded",
        &[("workflow", "w"), ("upstream_id", "chatcmpl-cut")],
    );

    // The upstream aborts the body: the client's body breaks too.
    let mut response = post(port, "/v1/chat/completions", &chat_request("Hi", true))
        .send()
        .await
        .expect("send");
    let handle = next_handle(&mut handles).await;
    let first = events[0].replace("errev", "abort");
    handle.send(first.clone());
    let mut got = Vec::new();
    read_exactly(&mut response, &mut got, first.as_bytes()).await;
    handle.fail();
    assert!(
        read_to_end(&mut response).await.is_err(),
        "a cut upstream is not turned into a clean end"
    );
    wait_warning(
        &proxy,
        "not recorded",
        &[
            ("workflow", "w"),
            ("upstream_id", "chatcmpl-abort"),
            ("reason", "upstream body broke"),
        ],
    );

    barrier(&proxy, port, &mut handles).await;
}

// ---------------------------------------------------------------------------------------------
// TIMEOUT_SECONDS between chunks
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_silent_past_the_timeout_ends_the_stream_with_an_error_event() {
    let (upstream, mut handles) = controlled_sse();
    let (proxy, port) = start_proxy(&upstream.url, Some(0.5));
    let events = sse_events(&text_chunks("chatcmpl-stall", &["Never", " ends"]));
    let sent = format!("{}{}", events[0], events[1]);
    // The two events are sent as soon as the upstream has the request, not after the client
    // has the head: the proxy holds a stream's head up to a second for its first event
    // (docs/labels.md), longer than the 0.5 s of silence allowed here.
    let request = post(port, "/v1/chat/completions", &chat_request("Hi", true)).send();
    let (mut response, mut handle) = tokio::join!(async { request.await.expect("send") }, async {
        let handle = next_handle(&mut handles).await;
        handle.send(sent.clone());
        handle
    });
    // ...and nothing more: the proxy gives up after 0.5 s of silence.
    let got = read_to_end(&mut response)
        .await
        .expect("the stream ends cleanly");
    let got = String::from_utf8(got).expect("utf-8");
    let rest = got
        .strip_prefix(&sent)
        .unwrap_or_else(|| panic!("the upstream's bytes first: {got:?}"));
    let data = rest
        .strip_prefix("data: ")
        .and_then(|r| r.strip_suffix("\n\n"))
        .unwrap_or_else(|| panic!("one SSE data event: {rest:?}"));
    let event: Value = serde_json::from_str(data).expect("JSON event");
    let error = &event["error"];
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty() && m.contains("0.5")),
        "{event}"
    );
    assert_eq!(error["type"], "upstream_error");
    assert_eq!(error["code"], "gateway_timeout");
    assert!(error.get("param").is_some_and(Value::is_null), "{event}");

    handle.wait_closed(LIMIT).await;
    wait_warning(
        &proxy,
        "not recorded",
        &[
            ("workflow", "w"),
            ("upstream_id", "chatcmpl-stall"),
            ("reason", "upstream idle timeout"),
        ],
    );
    barrier(&proxy, port, &mut handles).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_stream_longer_than_the_timeout_is_never_cut() {
    let (upstream, mut handles) = controlled_sse();
    // 2 s of allowed silence; chunks every 100 ms; more than 3 s in all.
    let (proxy, port) = start_proxy(&upstream.url, Some(2.0));
    let started = Instant::now();
    let mut response = post(port, "/v1/chat/completions", &chat_request("Hi", true))
        .send()
        .await
        .expect("send");
    let mut handle = next_handle(&mut handles).await;
    let words: Vec<String> = (0..30).map(|i| format!("w{i} ")).collect();
    let refs: Vec<&str> = words.iter().map(String::as_str).collect();
    let events = sse_events(&text_chunks("chatcmpl-long", &refs));
    let expected = events.concat();
    let writer = tokio::spawn(async move {
        for event in events {
            handle.send(event);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        handle.end();
        handle
    });
    let got = read_to_end(&mut response).await.expect("body");
    assert!(started.elapsed() > Duration::from_secs(3));
    assert_eq!(
        String::from_utf8_lossy(&got),
        expected,
        "complete, no error event"
    );
    drop(writer.await.expect("writer"));

    let records = proxy.wait_records("w", 1);
    assert_eq!(records[0]["messages"][1]["content"], words.concat());
    assert_eq!(records[0]["finish_reason"], "stop");
}
