//! The hold of a response's head ([`super::hold`]) on bodies fed by hand: the header when
//! the first event is whole in time, however it is split; the head without it at the time
//! limit, and the stream unchanged after it either way; and why a head went without it, for
//! each way the hold can end without an id (the `reason` label of the metric).

use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http_body_util::BodyExt;
use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};

use super::{hold, Missing, HEADER, MAX_HELD};

/// A streamed response whose body is what is sent on the returned sender.
fn fed() -> (UnboundedSender<&'static str>, Response) {
    let (tx, rx) = unbounded_channel::<&'static str>();
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        let next = rx.recv().await?;
        Some((Ok::<_, std::io::Error>(Bytes::from(next)), rx))
    });
    (tx, Response::new(Body::from_stream(stream)))
}

/// The next data frame of `body` (panics at its end).
async fn next_data(body: &mut Body) -> String {
    let frame = tokio::time::timeout(Duration::from_secs(20), body.frame())
        .await
        .expect("a frame in time")
        .expect("not the end")
        .expect("no error");
    String::from_utf8(frame.into_data().expect("data").to_vec()).expect("utf-8")
}

fn header(response: &Response) -> Option<&str> {
    response
        .headers()
        .get(HEADER)
        .map(|v| v.to_str().expect("ascii"))
}

const FIRST: &str =
    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\"}}\n\n";

#[tokio::test]
async fn a_first_event_split_and_late_still_names_the_stream() {
    let (tx, response) = fed();
    let (head, rest) = FIRST.split_at(30);
    tx.send(": keep-alive\n\n").expect("send");
    tx.send(head).expect("send");
    let late = tokio::spawn(async move {
        // Sent while the head is held: the hold waits for it (the limit is far away).
        tokio::task::yield_now().await;
        tx.send(rest).expect("send");
        tx
    });
    let (response, missing) = hold(response, true, Some(Duration::from_secs(60)), "w").await;
    assert_eq!(header(&response), Some("msg_1"));
    assert_eq!(missing, None);
    let tx = late.await.expect("sender");
    let mut body = response.into_body();
    let mut got = String::new();
    while got.len() < ": keep-alive\n\n".len() + FIRST.len() {
        got.push_str(&next_data(&mut body).await);
    }
    assert_eq!(
        got,
        format!(": keep-alive\n\n{FIRST}"),
        "held bytes unchanged"
    );
    tx.send("data: [DONE]\n\n").expect("send");
    assert_eq!(next_data(&mut body).await, "data: [DONE]\n\n");
    drop(tx);
    assert!(body.frame().await.is_none(), "the end passes on");
}

#[tokio::test]
async fn a_stalled_stream_gets_its_head_at_the_limit_without_the_header() {
    let (tx, response) = fed();
    let (response, missing) = hold(response, true, Some(Duration::from_millis(20)), "w").await;
    assert_eq!(header(&response), None, "no event came: no id");
    assert_eq!(missing, Some(Missing::StreamHoldExpired));
    let mut body = response.into_body();
    tx.send(FIRST).expect("send");
    assert_eq!(next_data(&mut body).await, FIRST, "the stream goes on");
    drop(tx);
    assert!(body.frame().await.is_none());
}

#[tokio::test]
async fn half_an_event_at_the_limit_goes_out_with_the_head() {
    let (tx, response) = fed();
    let (head, rest) = FIRST.split_at(30);
    tx.send(head).expect("send");
    let (response, missing) = hold(response, true, Some(Duration::from_millis(20)), "w").await;
    assert_eq!(header(&response), None);
    assert_eq!(missing, Some(Missing::StreamHoldExpired));
    let mut body = response.into_body();
    assert_eq!(next_data(&mut body).await, head, "the held half first");
    tx.send(rest).expect("send");
    assert_eq!(next_data(&mut body).await, rest);
}

#[tokio::test]
async fn a_json_answer_is_held_until_its_id_without_a_limit() {
    let (tx, response) = fed();
    let late = tokio::spawn(async move {
        tokio::task::yield_now().await;
        tx.send("{\"id\": \"chatcmpl-1\", \"choices\": []}")
            .expect("send");
    });
    let (response, missing) = hold(response, false, None, "w").await;
    assert_eq!(header(&response), Some("chatcmpl-1"));
    assert_eq!(missing, None);
    late.await.expect("sent");
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    assert_eq!(&bytes[..], b"{\"id\": \"chatcmpl-1\", \"choices\": []}");
}

/// Holds a response with `body` (a stream when `sse`, held without a time limit) and gives
/// why it has no header, checking that it has none then, and the body's bytes.
async fn why_not(body: Body, sse: bool) -> (Option<&'static str>, Vec<u8>) {
    let (response, missing) = hold(Response::new(body), sse, None, "w").await;
    assert_eq!(
        header(&response).is_none(),
        missing.is_some(),
        "{missing:?}"
    );
    let bytes = match response.into_body().collect().await {
        Ok(collected) => collected.to_bytes().to_vec(),
        Err(_) => b"<error>".to_vec(),
    };
    (missing.map(Missing::label), bytes)
}

#[tokio::test]
async fn each_way_to_no_header_has_its_reason_and_the_body_is_unchanged() {
    let event_without_id = "data: {\"object\":\"chat.completion.chunk\"}\n\ndata: x\n\n";
    let long = format!("{{\"a\":\"{}", "x".repeat(MAX_HELD));
    let cases: Vec<(Body, bool, &str, Vec<u8>)> = vec![
        (
            Body::from(event_without_id),
            true,
            "no_id_in_first_event",
            event_without_id.into(),
        ),
        (
            Body::from("{\"a\":1}"),
            false,
            "no_id_in_answer",
            b"{\"a\":1}".into(),
        ),
        (Body::from("[1]"), false, "no_id_in_answer", b"[1]".into()),
        (
            Body::from(long.clone()),
            false,
            "held_bytes_limit",
            long.into(),
        ),
        (Body::empty(), false, "body_ended", Vec::new()),
        (
            Body::from("{\"a\":"),
            false,
            "body_ended",
            b"{\"a\":".into(),
        ),
        (
            Body::from("data: {\"id\""),
            true,
            "body_ended",
            b"data: {\"id\"".into(),
        ),
        (
            Body::from("{\"id\":\"a\\nb\"}"),
            false,
            "id_not_header_safe",
            b"{\"id\":\"a\\nb\"}".into(),
        ),
    ];
    for (body, sse, reason, sent) in cases {
        let (got, bytes) = why_not(body, sse).await;
        assert_eq!(got, Some(reason), "{}", String::from_utf8_lossy(&sent));
        assert_eq!(bytes, sent, "{reason}: bytes unchanged");
    }
}

#[tokio::test]
async fn trailers_or_a_failed_read_before_the_id_have_their_reasons() {
    let mut trailers = axum::http::HeaderMap::new();
    trailers.insert("x-t", "1".parse().expect("value"));
    let frames = vec![
        Ok::<_, std::io::Error>(http_body::Frame::data(Bytes::from("{\"a\":"))),
        Ok(http_body::Frame::trailers(trailers)),
    ];
    let body = Body::new(http_body_util::StreamBody::new(futures_util::stream::iter(
        frames,
    )));
    assert_eq!(
        why_not(body, false).await,
        (Some("body_ended"), b"{\"a\":".to_vec())
    );

    let chunks = vec![
        Ok(Bytes::from("data: {\"id\"")),
        Err(std::io::Error::other("upstream cut")),
    ];
    let body = Body::from_stream(futures_util::stream::iter(chunks));
    let (response, missing) = hold(Response::new(body), true, None, "w").await;
    assert_eq!(missing, Some(Missing::BodyFailed));
    assert_eq!(header(&response), None);
    let mut body = response.into_body();
    assert_eq!(
        next_data(&mut body).await,
        "data: {\"id\"",
        "held bytes first"
    );
    assert!(
        matches!(body.frame().await, Some(Err(_))),
        "then the error is passed on"
    );
}
