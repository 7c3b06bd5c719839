//! `micromodel demo`, the real binary: the built-in upstream answers `POST /v1/responses` and
//! `POST /v1/messages`, whole and streamed, in their published shapes, and each answer leaves
//! a record whose streamed and non-streamed forms agree.

mod common;
mod demo_support;

use serde_json::{json, Value};

use demo_support::{post, Demo};

/// The record without what differs between a streamed and a non-streamed answer.
fn comparable(record: &Value) -> Value {
    let mut record = record.clone();
    for key in ["stream", "latency_ms", "timestamp", "request_id"] {
        record.as_object_mut().expect("record").remove(key);
    }
    record
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_answers_responses_and_messages_whole_and_streamed() {
    let demo = Demo::start(&[]);
    let responses =
        json!({"model": "demo", "instructions": "Be brief.", "input": "Hi", "temperature": 0.5});
    let (status, body) = post(&demo.base, "/v1/responses", &responses).await;
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(answer["object"], "response");
    assert_eq!(answer["status"], "completed");
    let text = answer["output"][0]["content"][0]["text"]
        .as_str()
        .expect("text")
        .to_owned();
    assert!(text.contains("\"Hi\""), "{text}");

    let mut streamed = responses.clone();
    streamed["stream"] = json!(true);
    let (status, sse) = post(&demo.base, "/v1/responses", &streamed).await;
    assert_eq!(status, 200);
    assert!(sse.starts_with("event: response.created\n"), "{sse}");
    assert!(sse.contains("event: response.completed\n"), "{sse}");
    let records = demo.wait_records(2);
    assert_eq!(records[0]["endpoint"], "/v1/responses");
    assert_eq!(
        records[0]["messages"],
        json!([{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"},{"role":"assistant","content":text}])
    );
    assert_eq!(records[0]["params"], json!({"temperature": 0.5}));
    assert_eq!(comparable(&records[0]), comparable(&records[1]));

    let messages = json!({"model": "demo", "max_tokens": 64, "system": "Be brief.",
                          "messages": [{"role": "user", "content": "Hi"}]});
    let (status, body) = post(&demo.base, "/v1/messages", &messages).await;
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(answer["type"], "message");
    assert_eq!(answer["stop_reason"], "end_turn");
    let mut streamed = messages.clone();
    streamed["stream"] = json!(true);
    let (status, sse) = post(&demo.base, "/v1/messages", &streamed).await;
    assert_eq!(status, 200);
    assert!(sse.starts_with("event: message_start\n"), "{sse}");
    assert!(
        sse.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"),
        "{sse}"
    );
    let records = demo.wait_records(4);
    assert_eq!(records[2]["endpoint"], "/v1/messages");
    assert_eq!(
        records[2]["messages"][2]["content"],
        answer["content"][0]["text"]
    );
    assert_eq!(records[2]["finish_reason"], "stop");
    assert_eq!(comparable(&records[2]), comparable(&records[3]));
}
