//! Benchmark fake upstream: a fast OpenAI-shaped server for `bench/run.sh`.
//!
//! ```text
//! cargo run --release -p micromodel-bench --bin bench_upstream -- --port 28471 --chunks 20 --delay-ms 5
//! ```
//!
//! - `POST /v1/chat/completions` (and `/v1/completions`): a fixed chat completion as JSON, or, when
//!   the body says `"stream": true`, an SSE stream: one role chunk, `--chunks` content chunks
//!   `--delay-ms` apart (the first one right away), a finish chunk with usage, `data: [DONE]`.
//!   The headers `x-bench-chunks` and `x-bench-delay-ms` override both per request (MicroModel
//!   forwards them), so one upstream serves every phase.
//! - `GET /health`: `{"status":"OK"}`.
//!
//! Prints `listening on ADDR` once bound. `--threads N` sets the tokio worker count (default:
//! tokio's, one per core).

use std::convert::Infallible;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use futures_util::stream;

#[derive(Clone, Copy)]
struct Settings {
    chunks: usize,
    delay: Duration,
}

const JSON_ANSWER: &str = concat!(
    r#"{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"bench-model","#,
    r#""choices":[{"index":0,"message":{"role":"assistant","content":"Once upon a time, a small proxy "#,
    r#"recorded every answer it passed on, and nobody noticed it was there."},"finish_reason":"stop"}],"#,
    r#""usage":{"prompt_tokens":12,"completion_tokens":20,"total_tokens":32}}"#
);

const ROLE_CHUNK: &str = concat!(
    r#"data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"#,
    r#""model":"bench-model","choices":[{"index":0,"delta":{"role":"assistant","content":""},"#,
    r#""finish_reason":null}]}"#,
    "\n\n"
);

const CONTENT_CHUNK: &str = concat!(
    r#"data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"#,
    r#""model":"bench-model","choices":[{"index":0,"delta":{"content":"token "},"#,
    r#""finish_reason":null}]}"#,
    "\n\n"
);

const FINISH_CHUNKS: &str = concat!(
    r#"data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"#,
    r#""model":"bench-model","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"#,
    r#""usage":{"prompt_tokens":12,"completion_tokens":20,"total_tokens":32}}"#,
    "\n\n",
    "data: [DONE]\n\n"
);

fn main() {
    let mut port: u16 = 28471;
    let mut settings = Settings {
        chunks: 20,
        delay: Duration::from_millis(5),
    };
    let mut threads: Option<usize> = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| fail(&format!("{flag} needs a value")))
        };
        match flag.as_str() {
            "--port" => port = parse(&value()),
            "--chunks" => settings.chunks = parse(&value()),
            "--delay-ms" => settings.delay = Duration::from_millis(parse(&value())),
            "--threads" => threads = Some(parse(&value())),
            "-h" | "--help" => {
                println!("bench_upstream [--port N] [--chunks N] [--delay-ms MS] [--threads N]");
                return;
            }
            other => fail(&format!("unknown flag {other}")),
        }
    }

    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = threads {
        builder.worker_threads(threads.max(1));
    }
    let runtime = builder.enable_all().build().expect("tokio runtime");
    runtime.block_on(async move {
        let app = Router::new()
            .route("/v1/chat/completions", post(completion))
            .route("/v1/completions", post(completion))
            .route("/health", get(|| async { r#"{"status":"OK"}"# }))
            .with_state(settings);
        // A deep accept queue (tokio's `TcpListener::bind` uses 128), so that a burst of
        // connections (phase 4) never waits for a SYN retransmit here.
        let listener = tokio::net::TcpSocket::new_v4()
            .and_then(|socket| {
                socket.set_reuseaddr(true)?;
                socket.bind(([127, 0, 0, 1], port).into())?;
                socket.listen(4096)
            })
            .unwrap_or_else(|e| fail(&format!("cannot listen on 127.0.0.1:{port}: {e}")));
        println!(
            "listening on {}",
            listener.local_addr().expect("local address")
        );
        axum::serve(listener, app).await.expect("serve");
    });
}

async fn completion(State(defaults): State<Settings>, headers: HeaderMap, body: Bytes) -> Response {
    if !wants_stream(&body) {
        return Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(JSON_ANSWER))
            .expect("response");
    }
    let number = |name: &str| -> Option<u64> { headers.get(name)?.to_str().ok()?.parse().ok() };
    let chunks = number("x-bench-chunks").map_or(defaults.chunks, |n| n as usize);
    let delay = number("x-bench-delay-ms").map_or(defaults.delay, Duration::from_millis);

    // Step 0: role chunk and the first content chunk at once; then one content chunk per
    // delay; the last content chunk goes out together with the finish chunk and [DONE].
    let frames = stream::unfold(0usize, move |step| async move {
        if step > chunks {
            return None;
        }
        if step > 0 && !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let mut frame = String::with_capacity(512);
        if step == 0 {
            frame.push_str(ROLE_CHUNK);
        }
        if step < chunks {
            frame.push_str(CONTENT_CHUNK);
        }
        if step + 1 >= chunks {
            // Last content chunk (or no content at all): finish right after it.
            frame.push_str(FINISH_CHUNKS);
            return Some((Ok::<_, Infallible>(Bytes::from(frame)), chunks + 1));
        }
        Some((Ok(Bytes::from(frame)), step + 1))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from_stream(frames))
        .expect("response")
}

/// Cheap check for `"stream": true` (any whitespace around the colon) without parsing JSON.
fn wants_stream(body: &[u8]) -> bool {
    const KEY: &[u8] = b"\"stream\"";
    let mut rest = body;
    while let Some(at) = rest.windows(KEY.len()).position(|w| w == KEY) {
        rest = &rest[at + KEY.len()..];
        let after = trim_start(rest);
        if let Some(after) = after.strip_prefix(b":") {
            return trim_start(after).starts_with(b"true");
        }
    }
    false
}

fn trim_start(bytes: &[u8]) -> &[u8] {
    let skip = bytes.iter().take_while(|b| b.is_ascii_whitespace()).count();
    &bytes[skip..]
}

fn parse<T: std::str::FromStr>(value: &str) -> T {
    value
        .parse()
        .unwrap_or_else(|_| fail(&format!("not a valid number: {value}")))
}

fn fail(message: &str) -> ! {
    eprintln!("bench_upstream: {message}");
    std::process::exit(2)
}
