//! `stream: true` through the real binary, as the client sees it: SSE passed on chunk by chunk
//! (each chunk at the client before the next exists) and byte for byte however the upstream
//! splits it; a non-SSE answer to a stream request passed through and not recorded; a real
//! client library (async-openai) reading a tool-call stream through the proxy.

mod common;
mod streaming_support;

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::Response;
use common::upstream::{controlled_sse, json_response, sse_events};
use common::{FakeUpstream, Proxy, Seen};
use serde_json::{json, Value};
use streaming_support::{
    assert_barrier_only, chat_request, chunk, completion, delta, full_sse, next_handle, pieces,
    post, read_exactly, read_to_end, start_proxy, text_chunks, LIMIT,
};

// ---------------------------------------------------------------------------------------------
// Passing the stream on
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_then_each_chunk_reach_the_client_before_the_next_exists() {
    let (upstream, mut handles) = controlled_sse();
    let (proxy, port) = start_proxy(&upstream.url, None);

    // The upstream has sent its headers and no body byte: the client has the headers.
    let mut response = post(port, "/v1/chat/completions", &chat_request("Hi", true))
        .send()
        .await
        .expect("headers arrive before any body byte exists");
    let mut handle = next_handle(&mut handles).await;
    assert_eq!(handle.request.json()["stream"], true);
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    assert_eq!(response.headers()["x-upstream-marker"], "fake-sse");

    // Chunk n is at the client while chunk n+1 has not been written by the upstream.
    let events = sse_events(&text_chunks("chatcmpl-live", &["Hel", "lo", " there"]));
    let mut got = Vec::new();
    let mut sent = Vec::new();
    for event in &events {
        assert!(handle.send(event.clone()));
        sent.extend_from_slice(event.as_bytes());
        read_exactly(&mut response, &mut got, &sent).await;
    }
    handle.end();
    let rest = read_to_end(&mut response).await.expect("end of body");
    assert!(rest.is_empty(), "nothing after the upstream's bytes");
    assert_eq!(got, events.concat().into_bytes(), "byte-identical stream");

    let records = proxy.wait_records("w", 1);
    assert_eq!(
        records[0]["messages"][1],
        json!({"role": "assistant", "content": "Hello there"})
    );
    assert_eq!(records[0]["stream"], true);
    assert_eq!(records[0]["finish_reason"], "stop");
    assert_eq!(records[0]["request_id"], "chatcmpl-live");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_are_identical_however_the_upstream_splits_them() {
    let (upstream, mut handles) = controlled_sse();
    let (proxy, port) = start_proxy(&upstream.url, None);
    let mut response = post(port, "/v1/chat/completions", &chat_request("Hi", true))
        .send()
        .await
        .expect("send");
    let mut handle = next_handle(&mut handles).await;

    // CRLF and LF line ends, a comment, `data:` without a space, an explicit event type,
    // non-ASCII text; then cut into 7-byte pieces (inside lines, terminators and characters).
    let id = "chatcmpl-split";
    let c = |choices: Value| serde_json::to_string(&chunk(id, choices)).expect("json");
    let stream = [
        ": keep-alive\r\n\r\n".to_owned(),
        format!(
            "data: {}\r\n\r\n",
            c(json!([delta(
                0,
                json!({"role": "assistant", "content": ""}),
                None
            )]))
        ),
        format!(
            "data:{}\n\n",
            c(json!([delta(0, json!({"content": "héllo 🌍"}), None)]))
        ),
        format!(
            "event: message\ndata: {}\n\n",
            c(json!([delta(0, json!({"content": " wörld"}), None)]))
        ),
        format!(
            "data: {}\r\n\r\n",
            c(json!([delta(0, json!({}), Some("stop"))]))
        ),
        "data: [DONE]\r\n\r\n".to_owned(),
    ]
    .concat()
    .into_bytes();

    let mut got = Vec::new();
    let mut sent = Vec::new();
    for piece in stream.chunks(7) {
        assert!(handle.send(piece.to_vec()));
        sent.extend_from_slice(piece);
        read_exactly(&mut response, &mut got, &sent).await;
    }
    handle.end();
    assert!(read_to_end(&mut response).await.expect("end").is_empty());
    assert_eq!(got, stream);

    let records = proxy.wait_records("w", 1);
    assert_eq!(records[0]["messages"][1]["content"], "héllo 🌍 wörld");
}

// ---------------------------------------------------------------------------------------------
// Non-SSE answers to `stream: true`
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_answered_without_sse_is_passed_through_and_not_recorded() {
    const BAD: &str = "{\"error\": {\"message\": \"stream_options is only allowed when stream is true\",\n  \"type\": \"invalid_request_error\", \"param\": \"stream_options\", \"code\": null}}";
    let upstream = FakeUpstream::start(|seen: Seen| async move {
        match seen.json()["messages"][0]["content"].as_str() {
            Some("barrier") => full_sse(sse_events(&text_chunks("chatcmpl-barrier", &["ok"]))),
            Some("bad") => Response::builder()
                .status(StatusCode::BAD_REQUEST)
                .header("content-type", "application/json")
                .header("x-request-id", "req-400")
                .body(Body::from(BAD))
                .expect("response"),
            // A 200 JSON answer although a stream was asked for.
            _ => json_response(
                StatusCode::OK,
                &completion(
                    "chatcmpl-json",
                    json!([{"index": 0, "message": {"role": "assistant", "content": "not a stream"}, "finish_reason": "stop"}]),
                    None,
                ),
            ),
        }
    });
    let (proxy, port) = start_proxy(&upstream.url, None);

    let response = post(port, "/v1/chat/completions", &chat_request("bad", true))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 400);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["x-request-id"], "req-400");
    assert_eq!(response.bytes().await.expect("body"), BAD.as_bytes());

    let response = post(port, "/v1/chat/completions", &chat_request("json", true))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json passed through");
    assert_eq!(body["id"], "chatcmpl-json");

    let response = post(port, "/v1/chat/completions", &chat_request("barrier", true))
        .send()
        .await
        .expect("barrier");
    response.bytes().await.expect("barrier body");
    assert_barrier_only(&proxy);
}

// ---------------------------------------------------------------------------------------------
// A real client library
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_openai_reads_a_tool_call_stream_through_the_proxy() {
    use async_openai::config::OpenAIConfig;
    use async_openai::types::{
        ChatCompletionToolArgs, ChatCompletionToolType, CreateChatCompletionRequestArgs,
        FunctionObjectArgs,
    };
    use futures_util::StreamExt;

    let id = "chatcmpl-sdk";
    let arguments = r#"{"city":"Lyon","unit":"celsius"}"#;
    let mut chunks = vec![
        chunk(
            id,
            json!([delta(
                0,
                json!({"role": "assistant", "content": "Checking"}),
                None
            )]),
        ),
        chunk(id, json!([delta(0, json!({"content": "..."}), None)])),
        chunk(
            id,
            json!([delta(
                0,
                json!({"tool_calls": [{"index": 0, "id": "call_sdk", "type": "function",
            "function": {"name": "get_weather", "arguments": ""}}]}),
                None
            )]),
        ),
    ];
    for piece in pieces(arguments, 4) {
        chunks.push(chunk(
            id,
            json!([delta(
                0,
                json!({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}),
                None
            )]),
        ));
    }
    chunks.push(chunk(id, json!([delta(0, json!({}), Some("tool_calls"))])));
    let events = sse_events(&chunks);
    let upstream = FakeUpstream::start(move |_| {
        let events = events.clone();
        async move { full_sse(events) }
    });
    let (proxy, port) = start_proxy(&upstream.url, None);

    let client = async_openai::Client::with_config(
        OpenAIConfig::new()
            .with_api_base(format!("{}/v1", Proxy::url(port)))
            .with_api_key("sk-client"),
    );
    let request = CreateChatCompletionRequestArgs::default()
        .model("fake-model")
        .messages([
            async_openai::types::ChatCompletionRequestUserMessageArgs::default()
                .content("Weather in Lyon?")
                .build()
                .expect("user")
                .into(),
        ])
        .tools([ChatCompletionToolArgs::default()
            .r#type(ChatCompletionToolType::Function)
            .function(
                FunctionObjectArgs::default()
                    .name("get_weather")
                    .description("Weather of a city")
                    .parameters(json!({"type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string"}}}))
                    .build()
                    .expect("function"),
            )
            .build()
            .expect("tool")])
        .build()
        .expect("request");
    let mut stream = client
        .chat()
        .create_stream(request)
        .await
        .expect("stream through the proxy");
    let (mut content, mut name, mut call_id, mut args, mut finish) = (
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        None,
    );
    while let Some(item) = tokio::time::timeout(LIMIT, stream.next())
        .await
        .expect("next chunk in time")
    {
        let response = item.expect("a chunk");
        for choice in response.choices {
            content.push_str(choice.delta.content.as_deref().unwrap_or(""));
            for call in choice.delta.tool_calls.unwrap_or_default() {
                call_id.push_str(call.id.as_deref().unwrap_or(""));
                if let Some(function) = call.function {
                    name.push_str(function.name.as_deref().unwrap_or(""));
                    args.push_str(function.arguments.as_deref().unwrap_or(""));
                }
            }
            if choice.finish_reason.is_some() {
                finish = choice.finish_reason;
            }
        }
    }
    assert_eq!(content, "Checking...");
    assert_eq!(
        (call_id.as_str(), name.as_str(), args.as_str()),
        ("call_sdk", "get_weather", arguments)
    );
    assert!(finish.is_some());
    assert_eq!(upstream.seen()[0].json()["stream"], true);

    let records = proxy.wait_records("w", 1);
    let record = &records[0];
    assert_eq!(
        record["messages"][1],
        json!({"role": "assistant", "content": "Checking...", "tool_calls": [{"id": "call_sdk", "type": "function",
            "function": {"name": "get_weather", "arguments": arguments}}]})
    );
    assert_eq!(record["finish_reason"], "tool_calls");
    assert_eq!(record["stream"], true);
    assert_eq!(record["tools"][0]["function"]["name"], "get_weather");
    assert_eq!(record["request_id"], id);
}
