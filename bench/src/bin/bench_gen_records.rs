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

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{Duration, NaiveDate, Utc};
use serde_json::{json, Value};

const WORDS: &[&str] = &[
    "the",
    "order",
    "account",
    "refund",
    "shipping",
    "invoice",
    "please",
    "could",
    "you",
    "help",
    "with",
    "my",
    "password",
    "reset",
    "error",
    "when",
    "I",
    "try",
    "to",
    "log",
    "in",
    "thanks",
    "function",
    "returns",
    "null",
    "instead",
    "of",
    "a",
    "list",
    "how",
    "do",
    "parse",
    "this",
    "JSON",
    "file",
    "in",
    "Rust",
    "Python",
    "query",
    "database",
    "timeout",
    "after",
    "seconds",
    "summary",
    "meeting",
    "notes",
    "quarter",
    "revenue",
    "growth",
    "customer",
    "feedback",
    "product",
    "launch",
    "delayed",
    "because",
    "supplier",
    "report",
    "draft",
    "email",
    "team",
    "schedule",
    "tomorrow",
    "weather",
    "Paris",
    "Berlin",
    "Tokyo",
    "flight",
    "hotel",
    "booking",
    "price",
    "discount",
    "subscription",
    "cancel",
    "upgrade",
    "plan",
    "monthly",
    "annual",
    "and",
    "or",
    "but",
    "is",
    "are",
    "was",
    "will",
    "should",
    "can",
    "not",
    "it",
    "that",
    "we",
    "they",
    "there",
    "here",
    "new",
    "old",
    "first",
    "last",
    "next",
    "step",
    "check",
    "value",
    "config",
    "deploy",
    "server",
    "logs",
    "memory",
    "latency",
    "cache",
    "index",
    "record",
];

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
    /// Between `lo` and `hi` bytes of sentences.
    fn text_in(&mut self, lo: u64, hi: u64) -> String {
        let bytes = self.range(lo, hi);
        self.text(bytes)
    }
    /// About `bytes` of sentences.
    fn text(&mut self, bytes: u64) -> String {
        let mut out = String::with_capacity(bytes as usize + 16);
        let mut sentence = 0;
        while (out.len() as u64) < bytes {
            let word = self.pick(WORDS);
            if sentence == 0 {
                let mut chars = word.chars();
                if let Some(c) = chars.next() {
                    out.extend(c.to_uppercase());
                    out.push_str(chars.as_str());
                }
            } else {
                out.push_str(word);
            }
            sentence += 1;
            if sentence > 6 && self.chance(15) {
                out.push_str(". ");
                sentence = 0;
            } else {
                out.push(' ');
            }
        }
        out.truncate(out.trim_end().len());
        out.push('.');
        out
    }
}

struct Args {
    dir: PathBuf,
    bytes: u64,
    days: i64,
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

fn prefix(workflow: &str) -> &'static str {
    if workflow == "agent" {
        "resp"
    } else {
        "chatcmpl"
    }
}

/// One record line of `workflow`'s shape.
fn record(workflow: &str, timestamp: &str, id: u64, rng: &mut Rng) -> Value {
    let mut user = rng.text_in(40, 400);
    if rng.below(2000) == 0 {
        user.push_str(" Is the zanzibar office open?");
    }
    let (endpoint, model, mut messages, finish, tools) = match workflow {
        "support" => {
            let mut m = vec![json!({"role": "system", "content": rng.text(300)})];
            for _ in 0..rng.range(0, 2) {
                m.push(json!({"role": "user", "content": rng.text_in(40, 300)}));
                m.push(json!({"role": "assistant", "content": rng.text_in(100, 600)}));
            }
            m.push(json!({"role": "user", "content": user}));
            m.push(json!({"role": "assistant", "content": rng.text_in(200, 1500)}));
            let finish = if rng.chance(6) { "length" } else { "stop" };
            ("/v1/chat/completions", "gpt-4.1-mini", m, finish, None)
        }
        "coding" => {
            let tools = json!([{"type": "function", "function": {"name": "run_tests",
                "description": "Runs the test suite", "parameters": {"type": "object",
                "properties": {"path": {"type": "string"}}}}}]);
            let mut m = vec![
                json!({"role": "system", "content": "You are a careful coding assistant."}),
                json!({"role": "user", "content": user}),
            ];
            let finish = if rng.chance(40) {
                m.push(
                    json!({"role": "assistant", "content": null, "tool_calls": [{"id":
                    format!("call_{id}"), "type": "function", "function": {"name": "run_tests",
                    "arguments": format!("{{\"path\":\"src/{}.rs\"}}", rng.pick(WORDS))}}]}),
                );
                "tool_calls"
            } else {
                m.push(
                    json!({"role": "assistant", "content": format!("```rust\n{}\n```\n{}",
                    rng.text_in(200, 900), rng.text(200))}),
                );
                "stop"
            };
            ("/v1/chat/completions", "gpt-4.1", m, finish, Some(tools))
        }
        "summaries" => {
            let m = vec![
                json!({"role": "user", "content": format!("Summarise: {}", rng.text_in(1500, 5000))}),
                json!({"role": "assistant", "content": rng.text_in(200, 500)}),
            ];
            let finish = if rng.chance(10) { "length" } else { "stop" };
            ("/v1/chat/completions", "gpt-4.1-nano", m, finish, None)
        }
        _ => {
            let m = vec![
                json!({"role": "developer", "content": "Plan, then answer briefly."}),
                json!({"role": "user", "content": user}),
                json!({"role": "assistant", "content": rng.text_in(100, 800),
                       "reasoning_content": rng.text_in(100, 600)}),
            ];
            ("/v1/responses", "o4-mini", m, "stop", None)
        }
    };
    if messages.is_empty() {
        messages.push(json!({"role": "user", "content": "hi"}));
    }
    let prompt_tokens = rng.range(20, 2000);
    let completion_tokens = rng.range(10, 800);
    let mut line = json!({
        "messages": messages,
        "timestamp": timestamp,
        "endpoint": endpoint,
        "model": model,
        "workflow_id": workflow,
    });
    if let Some(tools) = tools {
        line["tools"] = tools;
    }
    line["params"] = json!({"temperature": rng.range(0, 10) as f64 / 10.0, "max_tokens": 1024});
    line["finish_reason"] = json!(finish);
    line["usage"] = json!({"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                           "total_tokens": prompt_tokens + completion_tokens});
    line["stream"] = json!(rng.chance(40));
    line["latency_ms"] = json!(rng.range(150, 9000));
    line["request_id"] = json!(format!("{}-{id:010}", prefix(workflow)));
    line
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
