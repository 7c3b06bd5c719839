//! Time to first byte of a streamed chat answer, straight from the upstream vs through the
//! proxy.
//!
//! By default it starts a fast fake SSE upstream in-process (its own runtime thread) and the real
//! `micromodel` binary (next to this program: `target/release/micromodel` when built with
//! `--release`) on free ports with a temporary config and data folder:
//!
//! ```text
//! cargo build --release --workspace && target/release/ttfb --runs 300
//! ```
//!
//! Options: `--runs N` (measured runs per path, default 200), `--warmup N` (default 20),
//! `--chunks N` (events after the first, default 20), `--bin PATH` (the proxy binary),
//! `--upstream URL` (an SSE upstream already running instead of the fake one) and
//! `--proxy URL` (a proxy already running, whose workflow points at `--upstream`).
//! Direct and proxied requests alternate; each figure is the median (and p90) of N runs.

use std::net::TcpListener as StdListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::response::Response;
use axum::serve::ListenerExt;
use serde_json::json;

struct Args {
    runs: usize,
    warmup: usize,
    chunks: usize,
    bin: Option<PathBuf>,
    upstream: Option<String>,
    proxy: Option<String>,
}

fn parse_args() -> Args {
    let mut args = Args {
        runs: 200,
        warmup: 20,
        chunks: 20,
        bin: None,
        upstream: None,
        proxy: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .unwrap_or_else(|| usage(&format!("{flag} needs a value")))
        };
        let number = |v: String| -> usize { v.parse().unwrap_or_else(|_| usage("not a number")) };
        match flag.as_str() {
            "--runs" => args.runs = number(value()).max(1),
            "--warmup" => args.warmup = number(value()),
            "--chunks" => args.chunks = number(value()),
            "--bin" => args.bin = Some(PathBuf::from(value())),
            "--upstream" => args.upstream = Some(value().trim_end_matches('/').to_owned()),
            "--proxy" => args.proxy = Some(value().trim_end_matches('/').to_owned()),
            "-h" | "--help" => usage(""),
            other => usage(&format!("unknown argument {other}")),
        }
    }
    if args.proxy.is_some() && args.upstream.is_none() {
        usage("--proxy needs --upstream (the direct path to compare with)");
    }
    args
}

fn usage(problem: &str) -> ! {
    if !problem.is_empty() {
        eprintln!("ttfb: {problem}");
    }
    eprintln!(
        "usage: ttfb [--runs N] [--warmup N] [--chunks N] [--bin PATH] [--upstream URL [--proxy URL]]"
    );
    std::process::exit(2)
}

/// Starts the fake SSE upstream on its own runtime thread; returns its base URL.
fn start_fake_upstream(chunks: usize) -> String {
    let listener = StdListener::bind("127.0.0.1:0").expect("bind the fake upstream");
    listener.set_nonblocking(true).expect("nonblocking");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("upstream runtime");
        runtime.block_on(async move {
            // Like a real server that streams tokens: no Nagle delay on small writes.
            let listener = tokio::net::TcpListener::from_std(listener)
                .expect("listener")
                .tap_io(|tcp| {
                    let _ = tcp.set_nodelay(true);
                });
            let app = axum::Router::new().fallback(move || async move { sse_answer(chunks) });
            axum::serve(listener, app).await.expect("serve");
        });
    });
    url
}

/// A streamed chat answer: a role chunk, `chunks` content chunks, a finish chunk, `[DONE]`;
/// every event is ready at once (the upstream is "infinitely fast").
fn sse_answer(chunks: usize) -> Response {
    let event = |delta: serde_json::Value, finish: Option<&str>| {
        let chunk = json!({"id": "chatcmpl-ttfb", "object": "chat.completion.chunk",
            "created": 1_700_000_000, "model": "fake-model",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
        format!("data: {chunk}\n\n")
    };
    let mut events = vec![event(json!({"role": "assistant", "content": ""}), None)];
    events.extend((0..chunks).map(|i| event(json!({"content": format!("token{i} ")}), None)));
    events.push(event(json!({}), Some("stop")));
    events.push("data: [DONE]\n\n".to_owned());
    let body = Body::from_stream(futures_util::stream::iter(
        events.into_iter().map(Ok::<_, std::convert::Infallible>),
    ));
    Response::builder()
        .header("content-type", "text/event-stream")
        .header("cache-control", "no-cache")
        .body(body)
        .expect("response")
}

/// The proxy binary: `--bin`, else `micromodel` next to this program (the same target folder).
fn proxy_binary(args: &Args) -> PathBuf {
    if let Some(bin) = &args.bin {
        return bin.clone();
    }
    let exe = std::env::current_exe().expect("current exe");
    let profile_dir = exe.parent().expect("target/<profile>/ttfb");
    let bin = profile_dir.join(format!("micromodel{}", std::env::consts::EXE_SUFFIX));
    if !bin.is_file() {
        usage(&format!(
            "{} not found: build it first (cargo build --release --workspace) or pass --bin",
            bin.display()
        ));
    }
    bin
}

/// The proxy, running; killed when dropped.
struct RunningProxy {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for RunningProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_proxy(bin: &PathBuf, upstream: &str) -> (RunningProxy, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let config = dir.path().join("config.json");
    let text = json!({"bench": {"OPENAI_API_HOST": upstream, "PORT": port}}).to_string();
    std::fs::write(&config, text).expect("write config");
    let child = Command::new(bin)
        .arg("serve")
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| usage(&format!("cannot start {}: {e}", bin.display())));
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the proxy never opened its port");
        std::thread::sleep(Duration::from_millis(20));
    }
    (
        RunningProxy { child, _dir: dir },
        format!("http://127.0.0.1:{port}"),
    )
}

/// One run's timings.
#[derive(Clone, Copy)]
struct Sample {
    headers: Duration,
    first_byte: Duration,
    total: Duration,
}

async fn measure(client: &reqwest::Client, base: &str) -> Sample {
    let body = json!({"model": "fake-model", "stream": true,
        "messages": [{"role": "user", "content": "Count to twenty."}]})
    .to_string();
    let start = Instant::now();
    let mut response = client
        .post(format!("{base}/v1/chat/completions"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("send");
    let headers = start.elapsed();
    assert!(response.status().is_success(), "{}", response.status());
    let first = response
        .chunk()
        .await
        .expect("first chunk")
        .expect("a non-empty stream");
    let first_byte = start.elapsed();
    let mut tail = first.to_vec();
    while let Some(chunk) = response.chunk().await.expect("chunk") {
        tail.extend_from_slice(&chunk);
    }
    let total = start.elapsed();
    assert!(
        tail.ends_with(b"data: [DONE]\n\n"),
        "the stream ends with [DONE]"
    );
    Sample {
        headers,
        first_byte,
        total,
    }
}

fn percentile(values: &mut [Duration], p: f64) -> Duration {
    values.sort();
    let rank = ((values.len() as f64 - 1.0) * p).round() as usize;
    values[rank]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn signed_ms(a: Duration, b: Duration) -> String {
    let delta = a.as_secs_f64() - b.as_secs_f64();
    format!("{:+.3} ms", delta * 1e3)
}

struct Summary {
    headers: Duration,
    first_byte: Duration,
    first_byte_p90: Duration,
    total: Duration,
}

fn summarise(samples: &[Sample]) -> Summary {
    let mut headers: Vec<Duration> = samples.iter().map(|s| s.headers).collect();
    let mut first: Vec<Duration> = samples.iter().map(|s| s.first_byte).collect();
    let mut total: Vec<Duration> = samples.iter().map(|s| s.total).collect();
    Summary {
        headers: percentile(&mut headers, 0.5),
        first_byte: percentile(&mut first, 0.5),
        first_byte_p90: percentile(&mut first, 0.9),
        total: percentile(&mut total, 0.5),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = parse_args();
    let upstream = match &args.upstream {
        Some(url) => url.clone(),
        None => start_fake_upstream(args.chunks),
    };
    let mut _running = None;
    let proxy = match &args.proxy {
        Some(url) => url.clone(),
        None => {
            let bin = proxy_binary(&args);
            eprintln!("proxy binary: {}", bin.display());
            let (running, url) = start_proxy(&bin, &upstream);
            _running = Some(running);
            url
        }
    };
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client");

    for _ in 0..args.warmup {
        measure(&client, &upstream).await;
        measure(&client, &proxy).await;
    }
    let mut direct = Vec::with_capacity(args.runs);
    let mut proxied = Vec::with_capacity(args.runs);
    for i in 0..args.runs {
        // Alternate which goes first so that neither always follows the other.
        if i % 2 == 0 {
            direct.push(measure(&client, &upstream).await);
            proxied.push(measure(&client, &proxy).await);
        } else {
            proxied.push(measure(&client, &proxy).await);
            direct.push(measure(&client, &upstream).await);
        }
    }
    let d = summarise(&direct);
    let p = summarise(&proxied);

    println!(
        "streamed chat answer, {} events + [DONE]; {} runs per path after {} warm-up; keep-alive client",
        args.chunks + 2,
        args.runs,
        args.warmup
    );
    println!("upstream: {upstream}   proxy: {proxy}");
    println!();
    println!(
        "{:<10} {:>14} {:>14} {:>14} {:>14}",
        "path", "headers p50", "TTFB p50", "TTFB p90", "full p50"
    );
    for (name, s) in [("direct", &d), ("proxy", &p)] {
        println!(
            "{:<10} {:>14} {:>14} {:>14} {:>14}",
            name,
            ms(s.headers),
            ms(s.first_byte),
            ms(s.first_byte_p90),
            ms(s.total)
        );
    }
    println!(
        "{:<10} {:>14} {:>14} {:>14} {:>14}",
        "overhead",
        signed_ms(p.headers, d.headers),
        signed_ms(p.first_byte, d.first_byte),
        signed_ms(p.first_byte_p90, d.first_byte_p90),
        signed_ms(p.total, d.total)
    );
}
