//! Benchmark data: writes realistic recorded traffic into a data folder, for the data page's
//! load benchmark (bench/ui_load.sh).
//!
//! ```text
//! cargo run --release -p micromodel-bench --bin bench_gen_records -- --dir DATA --bytes 1073741824
//! ```
//!
//! `--bytes` of record lines (default 1 GiB) spread over `--days` UTC days up to today
//! (default 30) and four workflows with their own shape: `support` (multi-turn chat),
//! `coding` (tool calls and tool results), `summaries` (long prompts, some cut at `length`),
//! `agent` (Responses API, reasoning). Lines are what the proxy writes (docs/recording.md):
//! ascending timestamps per day file, about 40 % streamed, usage, params, latency, unique
//! `request_id`s; about 3 % of the records get a label in the day's `labels.jsonl` (some with
//! tags). One user message in 2 000 mentions "zanzibar", for a search with few hits.
//! Deterministic for a `--seed`. Prints one JSON object: records, bytes, labels, seconds.
//!
//! Modules: `text.rs` (the generator and its words), `record.rs` (one record line per workflow).

mod record;
mod text;

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{Duration, NaiveDate, Utc};
use serde_json::json;

use record::{prefix, record};
use text::Rng;

/// The command line.
struct Args {
    /// `--dir`: the data folder to write into.
    dir: PathBuf,
    /// `--bytes`: record-line bytes in all (default 1 GiB).
    bytes: u64,
    /// `--days`: UTC days up to today (default 30).
    days: i64,
    /// `--seed`: for the generator (default 15).
    seed: u64,
}

fn main() {
    let args = parse_args();
    let started = Instant::now();
    let mut rng = Rng(args.seed.max(1));
    let workflows = ["support", "coding", "summaries", "agent"];
    let today = Utc::now().date_naive();
    let budget = args.bytes / (args.days as u64 * workflows.len() as u64);
    let (mut records, mut bytes, mut labels) = (0u64, 0u64, 0u64);
    for back in (0..args.days).rev() {
        let date = today - Duration::days(back);
        for workflow in workflows {
            let (n, b, l) = day_file(&args.dir, workflow, date, budget, &mut rng, records);
            records += n;
            bytes += b;
            labels += l;
        }
    }
    println!(
        "{}",
        json!({"records": records, "bytes": bytes, "labels": labels, "days": args.days,
               "seconds": started.elapsed().as_secs_f64(), "dir": args.dir.display().to_string()})
    );
}

/// Writes one workflow's day: records until `budget` bytes, then its labels.
fn day_file(
    dir: &Path,
    workflow: &str,
    date: NaiveDate,
    budget: u64,
    rng: &mut Rng,
    first: u64,
) -> (u64, u64, u64) {
    let day = dir.join(workflow).join(date.format("%d-%m-%Y").to_string());
    std::fs::create_dir_all(&day).unwrap_or_else(|e| fail(&format!("{}: {e}", day.display())));
    let mut data = writer(&day.join("data.jsonl"));
    let mut labelled: Vec<(String, u64)> = Vec::new();
    let (mut n, mut written) = (0u64, 0u64);
    // Today's records end now; earlier days fill the whole day.
    let now = Utc::now();
    let span_ms: u64 = if date == now.date_naive() {
        (now - date.and_hms_opt(0, 0, 0).expect("midnight").and_utc())
            .num_milliseconds()
            .max(1) as u64
    } else {
        86_400_000
    };
    let mut at_ms = 0u64;
    while written < budget {
        let id = first + n;
        let timestamp = date.and_hms_opt(0, 0, 0).expect("midnight").and_utc()
            + Duration::milliseconds(at_ms as i64);
        let stamp = timestamp.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
        let line = record(workflow, &stamp, id, rng).to_string();
        data.write_all(line.as_bytes())
            .and_then(|()| data.write_all(b"\n"))
            .unwrap_or_else(|e| fail(&format!("write: {e}")));
        written += line.len() as u64 + 1;
        if rng.chance(3) {
            labelled.push((format!("{}-{id:010}", prefix(workflow)), at_ms));
        }
        n += 1;
        // Spread what is left of the budget evenly (with jitter) over what is left of the span.
        let average = written / n;
        let left = (budget.saturating_sub(written) / average.max(1)).max(1);
        let gap = (span_ms.saturating_sub(at_ms) / (left + 1)).max(1);
        at_ms = (at_ms + rng.range(gap / 2, gap * 3 / 2)).min(span_ms - 1);
    }
    data.flush()
        .unwrap_or_else(|e| fail(&format!("write: {e}")));
    if !labelled.is_empty() {
        let mut out = writer(&day.join("labels.jsonl"));
        for (request_id, at) in &labelled {
            let when = date.and_hms_opt(0, 0, 0).expect("midnight").and_utc()
                + Duration::milliseconds(*at as i64 + 60_000);
            let mut line = json!({"timestamp": when.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
                "request_id": request_id, "choice": 0,
                "label": if rng.chance(70) { "good" } else { "bad" }, "source": "ui"});
            if rng.chance(30) {
                line["tags"] = json!([rng.pick(&["tone", "wrong-tool", "too-long", "gold"])]);
            }
            writeln!(out, "{line}").unwrap_or_else(|e| fail(&format!("write: {e}")));
        }
        out.flush().unwrap_or_else(|e| fail(&format!("write: {e}")));
    }
    (n, written, labelled.len() as u64)
}

fn writer(path: &Path) -> BufWriter<std::fs::File> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap_or_else(|e| fail(&format!("{}: {e}", path.display())));
    BufWriter::with_capacity(1 << 20, file)
}

fn parse_args() -> Args {
    let mut args = Args {
        dir: PathBuf::new(),
        bytes: 1 << 30,
        days: 30,
        seed: 15,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .unwrap_or_else(|| fail(&format!("{flag} needs a value")));
        match flag.as_str() {
            "--dir" => args.dir = PathBuf::from(value),
            "--bytes" => args.bytes = number(&value),
            "--days" => args.days = number(&value).max(1) as i64,
            "--seed" => args.seed = number(&value),
            other => fail(&format!("unknown flag {other}")),
        }
    }
    if args.dir.as_os_str().is_empty() {
        fail("--dir DATA is required");
    }
    args
}

fn number(text: &str) -> u64 {
    text.parse()
        .unwrap_or_else(|_| fail(&format!("not a number: {text}")))
}

fn fail(message: &str) -> ! {
    eprintln!("bench_gen_records: {message}");
    std::process::exit(2)
}
