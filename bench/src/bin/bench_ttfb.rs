//! Benchmark client: time to first byte of streamed chat completions, closed loop.
//!
//! ```text
//! cargo run --release -p micromodel-bench --bin bench_ttfb -- --url http://127.0.0.1:28472/v1/chat/completions \
//!     --concurrency 16 --duration-secs 10 --chunks 20 --delay-ms 5
//! ```
//!
//! `--concurrency` workers each send `"stream": true` requests back to back for
//! `--duration-secs`. TTFB is the time from sending a request to receiving the first body chunk;
//! each stream is read to the end and must end with `data: [DONE]`. Each worker's first request
//! (connection set-up) is not counted. `--chunks` and `--delay-ms` go to the fake upstream as
//! `x-bench-chunks` / `x-bench-delay-ms`. Prints one JSON object (milliseconds).

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::json;

struct Args {
    url: String,
    concurrency: usize,
    duration: Duration,
    chunks: u64,
    delay_ms: u64,
}

#[derive(Default)]
struct Tally {
    ttfb_us: Vec<u64>,
    total_us: Vec<u64>,
    errors: u64,
    first_error: Option<String>,
}

const BODY: &str = r#"{"model":"bench-model","stream":true,"messages":[{"role":"system","content":"You are a storyteller."},{"role":"user","content":"Tell me a story"}]}"#;

#[tokio::main]
async fn main() {
    let args = parse_args();
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(args.concurrency)
        .build()
        .expect("http client");
    let deadline = Instant::now() + args.duration;
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..args.concurrency {
        let client = client.clone();
        let url = args.url.clone();
        let (chunks, delay_ms) = (args.chunks, args.delay_ms);
        workers.spawn(async move {
            let mut tally = Tally::default();
            let mut warm = true;
            while warm || Instant::now() < deadline {
                let outcome = one_stream(&client, &url, chunks, delay_ms).await;
                if warm {
                    warm = false;
                    continue;
                }
                match outcome {
                    Ok((ttfb, total)) => {
                        tally.ttfb_us.push(ttfb.as_micros() as u64);
                        tally.total_us.push(total.as_micros() as u64);
                    }
                    Err(e) => {
                        tally.errors += 1;
                        tally.first_error.get_or_insert(e);
                    }
                }
            }
            tally
        });
    }
    let mut all = Tally::default();
    while let Some(done) = workers.join_next().await {
        let tally = done.expect("worker panicked");
        all.ttfb_us.extend(tally.ttfb_us);
        all.total_us.extend(tally.total_us);
        all.errors += tally.errors;
        if all.first_error.is_none() {
            all.first_error = tally.first_error;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let report = json!({
        "requests": all.ttfb_us.len(),
        "errors": all.errors,
        "first_error": all.first_error,
        "streams_per_sec": all.ttfb_us.len() as f64 / elapsed,
        "ttfb_ms": percentiles(&mut all.ttfb_us),
        "total_ms": percentiles(&mut all.total_us),
    });
    println!("{report}");
}

async fn one_stream(
    client: &reqwest::Client,
    url: &str,
    chunks: u64,
    delay_ms: u64,
) -> Result<(Duration, Duration), String> {
    let start = Instant::now();
    let response = client
        .post(url)
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
    let mut ttfb = None;
    let mut tail: Vec<u8> = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| format!("body: {e}"))?;
        if chunk.is_empty() {
            continue;
        }
        ttfb.get_or_insert_with(|| start.elapsed());
        tail.extend_from_slice(&chunk);
        if tail.len() > 64 {
            tail.drain(..tail.len() - 64);
        }
    }
    let total = start.elapsed();
    if !tail.ends_with(b"data: [DONE]\n\n") {
        return Err("stream ended without [DONE]".into());
    }
    Ok((ttfb.unwrap_or(total), total))
}

/// p50/p90/p99/max in milliseconds (nearest rank).
fn percentiles(us: &mut [u64]) -> serde_json::Value {
    if us.is_empty() {
        return serde_json::Value::Null;
    }
    us.sort_unstable();
    let at = |q: f64| {
        let rank = ((q * us.len() as f64).ceil() as usize).clamp(1, us.len());
        us[rank - 1] as f64 / 1000.0
    };
    json!({ "p50": at(0.50), "p90": at(0.90), "p99": at(0.99), "max": at(1.0) })
}

fn parse_args() -> Args {
    let mut args = Args {
        url: "http://127.0.0.1:28472/v1/chat/completions".into(),
        concurrency: 16,
        duration: Duration::from_secs(10),
        chunks: 20,
        delay_ms: 5,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .unwrap_or_else(|| fail(&format!("{flag} needs a value")));
        match flag.as_str() {
            "--url" => args.url = value,
            "--concurrency" => args.concurrency = number(&value) as usize,
            "--duration-secs" => args.duration = Duration::from_secs_f64(float(&value)),
            "--chunks" => args.chunks = number(&value),
            "--delay-ms" => args.delay_ms = number(&value),
            other => fail(&format!("unknown flag {other}")),
        }
    }
    args.concurrency = args.concurrency.max(1);
    args
}

fn number(value: &str) -> u64 {
    value
        .parse()
        .unwrap_or_else(|_| fail(&format!("not a number: {value}")))
}

fn float(value: &str) -> f64 {
    value
        .parse()
        .unwrap_or_else(|_| fail(&format!("not a number: {value}")))
}

fn fail(message: &str) -> ! {
    eprintln!("bench_ttfb: {message}");
    std::process::exit(2)
}
