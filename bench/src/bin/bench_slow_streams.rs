//! Benchmark client: many concurrent slow streams at once.
//!
//! ```text
//! cargo run --release -p micromodel-bench --bin bench_slow_streams -- --url http://127.0.0.1:28472/v1/chat/completions \
//!     --streams 1000 --chunks 20 --delay-ms 100
//! ```
//!
//! Opens `--streams` streamed chat completions at the same time (each on its own connection),
//! reads every one to the end and checks it ends with `data: [DONE]`. `--chunks` and
//! `--delay-ms` go to the fake upstream as `x-bench-chunks` / `x-bench-delay-ms`.
//! `--timeout-secs` bounds each stream. Prints one JSON object.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::json;

const BODY: &str = r#"{"model":"bench-model","stream":true,"messages":[{"role":"user","content":"Tell me a long story"}]}"#;

#[tokio::main]
async fn main() {
    let mut url = "http://127.0.0.1:28472/v1/chat/completions".to_string();
    let (mut streams, mut chunks, mut delay_ms, mut timeout_secs) =
        (1000u64, 20u64, 100u64, 120u64);
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .unwrap_or_else(|| fail(&format!("{flag} needs a value")));
        match flag.as_str() {
            "--url" => url = value,
            "--streams" => streams = number(&value),
            "--chunks" => chunks = number(&value),
            "--delay-ms" => delay_ms = number(&value),
            "--timeout-secs" => timeout_secs = number(&value),
            other => fail(&format!("unknown flag {other}")),
        }
    }
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(streams as usize)
        .timeout(Duration::from_secs(timeout_secs))
        .build()
        .expect("http client");

    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..streams {
        let client = client.clone();
        let url = url.clone();
        set.spawn(async move {
            let start = Instant::now();
            let response = client
                .post(&url)
                .header("content-type", "application/json")
                .header("x-bench-chunks", chunks)
                .header("x-bench-delay-ms", delay_ms)
                .body(BODY)
                .send()
                .await
                .map_err(|e| format!("send: {e}"))?;
            if !response.status().is_success() {
                return Err(format!("status {}", response.status()));
            }
            let mut body = response.bytes_stream();
            let mut tail: Vec<u8> = Vec::new();
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|e| format!("body: {e}"))?;
                tail.extend_from_slice(&chunk);
                if tail.len() > 64 {
                    tail.drain(..tail.len() - 64);
                }
            }
            if !tail.ends_with(b"data: [DONE]\n\n") {
                return Err("stream ended without [DONE]".to_string());
            }
            Ok(start.elapsed())
        });
    }
    let (mut completed, mut errors, mut first_error) = (0u64, 0u64, None::<String>);
    let mut durations_ms = Vec::new();
    while let Some(done) = set.join_next().await {
        match done.expect("stream task panicked") {
            Ok(took) => {
                completed += 1;
                durations_ms.push(took.as_secs_f64() * 1000.0);
            }
            Err(e) => {
                errors += 1;
                first_error.get_or_insert(e);
            }
        }
    }
    durations_ms.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let rank = ((q * durations_ms.len() as f64).ceil() as usize).max(1);
        durations_ms.get(rank - 1).copied()
    };
    let report = json!({
        "streams": streams,
        "completed": completed,
        "errors": errors,
        "first_error": first_error,
        "elapsed_ms": started.elapsed().as_secs_f64() * 1000.0,
        "stream_ms": { "p50": at(0.5), "p90": at(0.9), "p99": at(0.99), "max": at(1.0) },
    });
    println!("{report}");
}

fn number(value: &str) -> u64 {
    value
        .parse()
        .unwrap_or_else(|_| fail(&format!("not a number: {value}")))
}

fn fail(message: &str) -> ! {
    eprintln!("bench_slow_streams: {message}");
    std::process::exit(2)
}
