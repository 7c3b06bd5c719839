//! `stream: true` through the real binary: SSE passed on chunk by chunk and byte for byte,
//! recorded like the non-streamed answer, cancelled when the client leaves, idle timeout.
//!
//! No timing thresholds: "no buffering" is shown by the client holding chunk 1 while chunk 2
//! does not exist yet; disconnects are seen by the upstream's body stream being dropped; "not
//! recorded" is checked with the proxy's log and a barrier request recorded afterwards (one
//! recorder queue, so a stray record would show up first). Deadlines are generous.

mod common;

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::Response;
use common::upstream::{
    controlled_sse, json_response, sse_events, sse_response, DropSignal, StreamHandle,
};
use common::{client, free_port, one_workflow, FakeUpstream, Proxy, Seen};
use serde_json::{json, Value};
use tokio::sync::mpsc::UnboundedReceiver;

/// Longest wait for anything that should happen (a noisy machine must never hit it).
const LIMIT: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Starts the proxy (JSON logs) for one workflow `w` on a free port.
fn start_proxy(upstream: &str, timeout_seconds: Option<f64>) -> (Proxy, u16) {
    let port = free_port();
    let mut config = one_workflow("w", upstream, port, "");
    if let Some(seconds) = timeout_seconds {
        config["w"]["TIMEOUT_SECONDS"] = json!(seconds);
    }
    (Proxy::start(&config, &["--log-format", "json"]), port)
}

fn post(port: u16, path: &str, body: &Value) -> reqwest::RequestBuilder {
    client()
        .post(format!("{}{path}", Proxy::url(port)))
        .header("content-type", "application/json")
        .body(serde_json::to_vec(body).expect("json"))
}

fn chat_request(content: &str, stream: bool) -> Value {
    json!({"model": "fake-model", "stream": stream,
           "messages": [{"role": "user", "content": content}]})
}

async fn next_handle(handles: &mut UnboundedReceiver<StreamHandle>) -> StreamHandle {
    tokio::time::timeout(LIMIT, handles.recv())
        .await
        .expect("the upstream got no request in time")
        .expect("upstream running")
}

/// Reads until `got` holds as many bytes as `expected`, then checks they are the same.
async fn read_exactly(response: &mut reqwest::Response, got: &mut Vec<u8>, expected: &[u8]) {
    while got.len() < expected.len() {
        let chunk = tokio::time::timeout(LIMIT, response.chunk())
            .await
            .expect("the expected bytes did not arrive in time")
            .expect("read the body")
            .unwrap_or_else(|| {
                panic!(
                    "the body ended early after {:?}",
                    String::from_utf8_lossy(got)
                )
            });
        got.extend_from_slice(&chunk);
    }
    assert_eq!(
        String::from_utf8_lossy(got),
        String::from_utf8_lossy(expected)
    );
    assert_eq!(&got[..], expected);
}

/// Reads the rest of the body (at most `LIMIT`).
async fn read_to_end(response: &mut reqwest::Response) -> Result<Vec<u8>, reqwest::Error> {
    let mut out = Vec::new();
    loop {
        let next = tokio::time::timeout(LIMIT, response.chunk())
            .await
            .expect("the body did not end in time");
        match next? {
            Some(chunk) => out.extend_from_slice(&chunk),
            None => return Ok(out),
        }
    }
}

/// The proxy's WARN log lines (JSON), parsed.
fn warnings(proxy: &Proxy) -> Vec<Value> {
    proxy
        .logs()
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["level"] == "WARN")
        .collect()
}

/// Waits for a WARN line whose message contains `message` and whose fields match `fields`.
fn wait_warning(proxy: &Proxy, message: &str, fields: &[(&str, &str)]) -> Value {
    common::eventually(
        LIMIT,
        format_args!("a WARN {message:?} with {fields:?} in the log"),
        || {
            let found = warnings(proxy).into_iter().find(|line| {
                line["message"]
                    .as_str()
                    .is_some_and(|m| m.contains(message))
                    && fields.iter().all(|(k, v)| line[*k] == *v)
            });
            found.ok_or_else(|| common::lazily(|| proxy.logs()))
        },
    )
}

/// One `chat.completion.chunk`.
fn chunk(id: &str, choices: Value) -> Value {
    json!({"id": id, "object": "chat.completion.chunk", "created": 1_700_000_000,
           "model": "fake-model", "system_fingerprint": null, "choices": choices})
}

/// One streamed choice.
fn delta(index: u32, delta: Value, finish_reason: Option<&str>) -> Value {
    json!({"index": index, "delta": delta, "logprobs": null, "finish_reason": finish_reason})
}

/// The chunks of a plain text answer: role, the pieces, then the finish reason.
fn text_chunks(id: &str, pieces: &[&str]) -> Vec<Value> {
    let mut chunks = vec![chunk(
        id,
        json!([delta(0, json!({"role": "assistant", "content": ""}), None)]),
    )];
    for piece in pieces {
        chunks.push(chunk(
            id,
            json!([delta(0, json!({"content": piece}), None)]),
        ));
    }
    chunks.push(chunk(id, json!([delta(0, json!({}), Some("stop"))])));
    chunks
}

/// A complete SSE answer in one response (each event its own frame).
fn full_sse(events: Vec<String>) -> Response {
    let stream =
        futures_util::stream::iter(events.into_iter().map(Ok::<_, std::convert::Infallible>));
    sse_response(Body::from_stream(stream))
}

/// After a request that must not be recorded: a complete streamed answer through the
/// controlled upstream, which must be the only record of `w`.
async fn barrier(proxy: &Proxy, port: u16, handles: &mut UnboundedReceiver<StreamHandle>) {
    let request = post(port, "/v1/chat/completions", &chat_request("barrier", true)).send();
    // The answer is sent once the upstream has the request, without waiting for the client to
    // have the head, which the proxy holds up to a second for the first event (longer than
    // the 0.5 s of silence some tests allow).
    let (response, _handle) =
        tokio::join!(async { request.await.expect("send the barrier") }, async {
            let mut handle = next_handle(handles).await;
            handle.send(sse_events(&text_chunks("chatcmpl-barrier", &["ok"])).concat());
            handle.end();
            handle
        });
    let mut response = response;
    read_to_end(&mut response).await.expect("barrier body");
    assert_barrier_only(proxy);
}

/// The one record of `w` is the barrier's.
fn assert_barrier_only(proxy: &Proxy) {
    let records = proxy.wait_records("w", 1);
    assert_eq!(
        records[0]["messages"][0]["content"], "barrier",
        "something else was recorded: {records:?}"
    );
}

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
// The record of a stream is the record of the same answer not streamed
// ---------------------------------------------------------------------------------------------

/// One answer given both ways.
struct Scenario {
    /// Also the request's `model`, which the upstream uses to pick the scenario.
    name: &'static str,
    path: &'static str,
    /// The request, without `stream`.
    request: Value,
    /// The non-streamed answer.
    json: Value,
    /// The streamed answer's chunks (then `[DONE]`).
    chunks: Vec<Value>,
}

fn weather_tools() -> Value {
    json!([
        {"type": "function", "function": {"name": "get_weather", "description": "Weather of a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}, "required": ["city"]}}},
        {"type": "function", "function": {"name": "get_time",
            "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}}}}
    ])
}

fn completion(id: &str, choices: Value, usage: Option<Value>) -> Value {
    let mut out = json!({"id": id, "object": "chat.completion", "created": 1_700_000_000,
                         "model": "fake-model", "choices": choices});
    if let Some(usage) = usage {
        out["usage"] = usage;
    }
    out
}

/// Splits `text` into pieces of `size` characters.
fn pieces(text: &str, size: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars.chunks(size).map(|c| c.iter().collect()).collect()
}

fn scenarios() -> Vec<Scenario> {
    let user = |model: &str, content: &str| {
        json!({"model": model, "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": content}]})
    };
    let mut out = Vec::new();

    // Plain chat.
    let id = "chatcmpl-chat";
    out.push(Scenario {
        name: "chat",
        path: "/v1/chat/completions",
        request: user("chat", "Say hello"),
        json: completion(
            id,
            json!([{"index": 0, "message": {"role": "assistant", "content": "Hello there, friend.", "refusal": null},
                    "logprobs": null, "finish_reason": "stop"}]),
            None,
        ),
        chunks: text_chunks(id, &["Hello", " there", ",", " friend", "."]),
    });

    // One tool call whose arguments arrive over many deltas.
    let id = "chatcmpl-tool";
    let arguments = r#"{"city":"Paris, France","unit":"celsius"}"#;
    let mut chunks = vec![chunk(
        id,
        json!([delta(
            0,
            json!({"role": "assistant", "content": null, "tool_calls": [
            {"index": 0, "id": "call_abc", "type": "function",
             "function": {"name": "get_weather", "arguments": ""}}]}),
            None
        )]),
    )];
    for piece in pieces(arguments, 3) {
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
    let mut request = user("tool", "Weather in Paris?");
    request["tools"] = weather_tools();
    out.push(Scenario {
        name: "tool",
        path: "/v1/chat/completions",
        request,
        json: completion(
            id,
            json!([{"index": 0, "message": {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_abc", "type": "function", "function": {"name": "get_weather", "arguments": arguments}}]},
                "logprobs": null, "finish_reason": "tool_calls"}]),
            None,
        ),
        chunks,
    });

    // Two parallel tool calls, their deltas interleaved.
    let id = "chatcmpl-parallel";
    let (args_a, args_b) = (r#"{"city":"Oslo"}"#, r#"{"tz":"Europe/Oslo"}"#);
    let call = |index: u32, value: Value| {
        chunk(
            id,
            json!([delta(
                0,
                json!({"tool_calls": [{"index": index, "function": value}]}),
                None
            )]),
        )
    };
    let mut chunks = vec![
        chunk(
            id,
            json!([delta(
                0,
                json!({"role": "assistant", "content": null, "tool_calls": [
            {"index": 0, "id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": ""}}]}),
                None
            )]),
        ),
        call(0, json!({"arguments": &args_a[..6]})),
        chunk(
            id,
            json!([delta(
                0,
                json!({"tool_calls": [
            {"index": 1, "id": "call_b", "type": "function", "function": {"name": "get_time", "arguments": ""}}]}),
                None
            )]),
        ),
        call(1, json!({"arguments": &args_b[..9]})),
        call(0, json!({"arguments": &args_a[6..]})),
        call(1, json!({"arguments": &args_b[9..]})),
    ];
    chunks.push(chunk(id, json!([delta(0, json!({}), Some("tool_calls"))])));
    let mut request = user("parallel", "Weather and time in Oslo?");
    request["tools"] = weather_tools();
    request["parallel_tool_calls"] = json!(true);
    out.push(Scenario {
        name: "parallel",
        path: "/v1/chat/completions",
        request,
        json: completion(
            id,
            json!([{"index": 0, "message": {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": args_a}},
                {"id": "call_b", "type": "function", "function": {"name": "get_time", "arguments": args_b}}]},
                "finish_reason": "tool_calls"}]),
            None,
        ),
        chunks,
    });

    // Reasoning before the answer.
    let id = "chatcmpl-reasoning";
    let mut chunks = vec![chunk(
        id,
        json!([delta(
            0,
            json!({"role": "assistant", "content": null, "reasoning_content": ""}),
            None
        )]),
    )];
    for piece in ["Six", " times", " seven", "."] {
        chunks.push(chunk(
            id,
            json!([delta(
                0,
                json!({"content": null, "reasoning_content": piece}),
                None
            )]),
        ));
    }
    for piece in ["4", "2"] {
        chunks.push(chunk(
            id,
            json!([delta(
                0,
                json!({"content": piece, "reasoning_content": null}),
                None
            )]),
        ));
    }
    chunks.push(chunk(id, json!([delta(0, json!({}), Some("stop"))])));
    out.push(Scenario {
        name: "reasoning",
        path: "/v1/chat/completions",
        request: user("reasoning", "6*7?"),
        json: completion(
            id,
            json!([{"index": 0, "message": {"role": "assistant", "content": "42",
                "reasoning_content": "Six times seven."}, "finish_reason": "stop"}]),
            None,
        ),
        chunks,
    });

    // n = 2, the choices interleaved, different finish reasons.
    let id = "chatcmpl-n2";
    let chunks = vec![
        chunk(
            id,
            json!([delta(0, json!({"role": "assistant", "content": ""}), None)]),
        ),
        chunk(
            id,
            json!([delta(1, json!({"role": "assistant", "content": ""}), None)]),
        ),
        chunk(id, json!([delta(0, json!({"content": "Red"}), None)])),
        chunk(id, json!([delta(1, json!({"content": "Blue"}), None)])),
        chunk(
            id,
            json!([delta(1, json!({"content": " and green"}), Some("length"))]),
        ),
        chunk(id, json!([delta(0, json!({"content": "."}), Some("stop"))])),
    ];
    let mut request = user("n2", "A colour?");
    request["n"] = json!(2);
    out.push(Scenario {
        name: "n2",
        path: "/v1/chat/completions",
        request,
        json: completion(
            id,
            json!([
                {"index": 0, "message": {"role": "assistant", "content": "Red."}, "finish_reason": "stop"},
                {"index": 1, "message": {"role": "assistant", "content": "Blue and green"}, "finish_reason": "length"}
            ]),
            None,
        ),
        chunks,
    });

    // stream_options.include_usage: usage null on every chunk, then a last chunk without
    // choices that carries it.
    let id = "chatcmpl-usage";
    let usage = json!({"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11,
                       "completion_tokens_details": {"reasoning_tokens": 0}});
    let mut chunks: Vec<Value> = text_chunks(id, &["Fine", "."])
        .into_iter()
        .map(|mut c| {
            c["usage"] = Value::Null;
            c
        })
        .collect();
    let mut last = chunk(id, json!([]));
    last["usage"] = usage.clone();
    chunks.push(last);
    let mut request = user("usage", "How are you?");
    request["stream_options"] = json!({"include_usage": true});
    out.push(Scenario {
        name: "usage",
        path: "/v1/chat/completions",
        request,
        json: completion(
            id,
            json!([{"index": 0, "message": {"role": "assistant", "content": "Fine."}, "finish_reason": "stop"}]),
            Some(usage),
        ),
        chunks,
    });

    // Completions.
    let id = "cmpl-text";
    let text_chunk = |text: &str, finish: Option<&str>| {
        json!({"id": id, "object": "text_completion", "created": 1_700_000_000, "model": "fake-model",
               "choices": [{"index": 0, "text": text, "logprobs": null, "finish_reason": finish}]})
    };
    out.push(Scenario {
        name: "completions",
        path: "/v1/completions",
        request: json!({"model": "completions", "prompt": "Once upon a time", "max_tokens": 5}),
        json: json!({"id": id, "object": "text_completion", "created": 1_700_000_000, "model": "fake-model",
            "choices": [{"index": 0, "text": " there was a fox", "logprobs": null, "finish_reason": "length"}],
            "usage": {"prompt_tokens": 4, "completion_tokens": 5, "total_tokens": 9}}),
        chunks: {
            let mut chunks = vec![
                text_chunk(" there", None),
                text_chunk(" was", None),
                text_chunk(" a", None),
                text_chunk(" fox", Some("length")),
            ];
            let mut last = json!({"id": id, "object": "text_completion", "created": 1_700_000_000,
                "model": "fake-model", "choices": []});
            last["usage"] = json!({"prompt_tokens": 4, "completion_tokens": 5, "total_tokens": 9});
            chunks.push(last);
            chunks
        },
    });
    out
}

/// Answers with the scenario named by the request's `model`, as JSON or as SSE.
async fn scenario_upstream(seen: Seen) -> Response {
    let request = seen.json();
    let name = request["model"].as_str().expect("model").to_owned();
    let scenario = scenarios()
        .into_iter()
        .find(|s| s.name == name)
        .expect("known scenario");
    if request["stream"] == true {
        full_sse(sse_events(&scenario.chunks))
    } else {
        json_response(StatusCode::OK, &scenario.json)
    }
}

/// The line with the values of `timestamp`, `latency_ms` and `stream` blanked (key order kept).
fn masked(line: &str) -> String {
    let mut value: serde_json::Map<String, Value> = serde_json::from_str(line).expect("json");
    // Object key order is the line's: serde_json keeps insertion order only with
    // `preserve_order`, so compare key orders separately.
    for key in ["timestamp", "latency_ms", "stream"] {
        value.remove(key);
    }
    let keys: Vec<String> = common::keys_in_order(line)
        .into_iter()
        .filter(|k| !["timestamp", "latency_ms", "stream"].contains(&k.as_str()))
        .collect();
    format!("{keys:?} {}", Value::Object(value))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_and_non_streamed_answers_make_the_same_record() {
    let upstream = FakeUpstream::start(scenario_upstream);
    let (proxy, port) = start_proxy(&upstream.url, None);
    let data = proxy.data_dir.join("w");
    let mut total = 0;
    for scenario in scenarios() {
        let choices = scenario.json["choices"].as_array().expect("choices").len();
        let mut lines = Vec::new();
        for stream in [false, true] {
            let mut request = scenario.request.clone();
            request["stream"] = json!(stream);
            let response = post(port, scenario.path, &request)
                .send()
                .await
                .expect("send");
            assert_eq!(response.status(), 200, "{}", scenario.name);
            let body = response.bytes().await.expect("body");
            let expected = if stream {
                sse_events(&scenario.chunks).concat()
            } else {
                serde_json::to_string(&scenario.json).expect("json")
            };
            assert_eq!(
                String::from_utf8_lossy(&body),
                expected,
                "{}: the client gets the upstream's bytes",
                scenario.name
            );
            total += choices;
            proxy.wait_records("w", total);
            let new: Vec<String> = common::raw_lines(&data)
                .into_iter()
                .filter(|line| {
                    let record: Value = serde_json::from_str(line).expect("json");
                    record["model"] == scenario.name && record["stream"] == stream
                })
                .collect();
            assert_eq!(new.len(), choices, "{}: one line per choice", scenario.name);
            lines.push(new);
        }
        let mut plain: Vec<String> = lines[0].iter().map(|l| masked(l)).collect();
        let mut streamed: Vec<String> = lines[1].iter().map(|l| masked(l)).collect();
        plain.sort();
        streamed.sort();
        assert_eq!(
            plain, streamed,
            "{}: same record streamed and not",
            scenario.name
        );
    }

    // Spot checks of what was assembled.
    let records = proxy.records("w");
    let find = |model: &str, stream: bool| -> Vec<Value> {
        records
            .iter()
            .filter(|r| r["model"] == model && r["stream"] == stream)
            .cloned()
            .collect()
    };
    let tool = &find("tool", true)[0];
    assert_eq!(
        tool["messages"][2],
        json!({"role": "assistant", "content": null, "tool_calls": [{"id": "call_abc", "type": "function",
            "function": {"name": "get_weather", "arguments": r#"{"city":"Paris, France","unit":"celsius"}"#}}]})
    );
    assert_eq!(tool["tools"], weather_tools());
    let parallel = &find("parallel", true)[0];
    assert_eq!(
        parallel["messages"][2]["tool_calls"],
        json!([
            {"id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": r#"{"city":"Oslo"}"#}},
            {"id": "call_b", "type": "function", "function": {"name": "get_time", "arguments": r#"{"tz":"Europe/Oslo"}"#}}
        ])
    );
    assert_eq!(
        find("reasoning", true)[0]["messages"][2],
        json!({"role": "assistant", "content": "42", "reasoning_content": "Six times seven."})
    );
    let mut n2: Vec<(String, String)> = find("n2", true)
        .iter()
        .map(|r| {
            (
                r["messages"][2]["content"].as_str().expect("c").to_owned(),
                r["finish_reason"].as_str().expect("f").to_owned(),
            )
        })
        .collect();
    n2.sort();
    assert_eq!(
        n2,
        [
            ("Blue and green".to_owned(), "length".to_owned()),
            ("Red.".to_owned(), "stop".to_owned())
        ]
    );
    assert_eq!(find("usage", true)[0]["usage"]["total_tokens"], 11);
    let completions = &find("completions", true)[0];
    assert_eq!(
        completions["messages"],
        json!([{"role": "user", "content": "Once upon a time"}, {"role": "assistant", "content": " there was a fox"}])
    );
    assert_eq!(completions["endpoint"], "/v1/completions");
    assert_eq!(completions["usage"]["total_tokens"], 9);
}

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
