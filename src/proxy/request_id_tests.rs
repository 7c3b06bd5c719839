//! The hold of a response's head ([`super::hold`]) on bodies fed by hand: the header when
//! the first event is whole in time, however it is split; the head without it at the time
//! limit, and the stream unchanged after it either way.

use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http_body_util::BodyExt;
use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};

use super::{hold, HEADER};

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
    let response = hold(response, true, Some(Duration::from_secs(60)), "w").await;
    assert_eq!(header(&response), Some("msg_1"));
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
    let response = hold(response, true, Some(Duration::from_millis(20)), "w").await;
    assert_eq!(header(&response), None, "no event came: no id");
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
    let response = hold(response, true, Some(Duration::from_millis(20)), "w").await;
    assert_eq!(header(&response), None);
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
    let response = hold(response, false, None, "w").await;
    assert_eq!(header(&response), Some("chatcmpl-1"));
    late.await.expect("sent");
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    assert_eq!(&bytes[..], b"{\"id\": \"chatcmpl-1\", \"choices\": []}");
}
