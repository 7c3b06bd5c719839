//! Benchmark: the CPU cost of `REDACT: ["all"]` on one record, in isolation.
//!
//! ```text
//! cargo run --release -p micromodel-bench --bin bench_redact -- --iterations 200000
//! ```
//!
//! Runs [`Redactor::redact_json`] with every built-in detector over the parts of the record
//! that bench/run.sh's phase 1 writes (its chat request's `messages` with the fake upstream's
//! answer), which hold nothing to redact (the common case: one prefilter scan per string),
//! and over the same record with an e-mail and a phone number in it (the prefilter hits and
//! the two detectors run). Prints one JSON object with nanoseconds per record for each.

use std::time::Instant;

use micromodel::trust::redact::{Counts, Redactor};

const CLEAN: &str = r#"[{"role":"system","content":"You are a storyteller."},{"role":"user","content":"Tell me a story"},{"role":"assistant","content":"Once upon a time, a small proxy recorded every word it was told, and kept them all for training."}]"#;
const DIRTY: &str = r#"[{"role":"system","content":"You are a storyteller."},{"role":"user","content":"Tell me a story, I am ada@example.com, +44 20 7946 0958"},{"role":"assistant","content":"Once upon a time, a small proxy recorded every word it was told, and kept them all for training."}]"#;

fn main() {
    let mut iterations: u32 = 200_000;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        match (flag.as_str(), it.next().and_then(|v| v.parse().ok())) {
            ("--iterations", Some(n)) => iterations = n,
            _ => {
                eprintln!("usage: bench_redact [--iterations N]");
                std::process::exit(2);
            }
        }
    }
    let started = Instant::now();
    let redactor = Redactor::builtins();
    let compile_us = started.elapsed().as_secs_f64() * 1e6;
    let per_record = |text: &str| {
        let started = Instant::now();
        let mut changed = 0u32;
        for _ in 0..iterations {
            let mut counts = Counts::default();
            changed += u32::from(redactor.redact_json(text, &mut counts).is_some());
        }
        (
            started.elapsed().as_secs_f64() * 1e9 / f64::from(iterations),
            changed,
        )
    };
    let (clean_ns, clean_changed) = per_record(CLEAN);
    let (dirty_ns, dirty_changed) = per_record(DIRTY);
    assert_eq!(clean_changed, 0, "the clean record has nothing to redact");
    assert_eq!(
        dirty_changed, iterations,
        "the dirty record is redacted every time"
    );
    println!(
        "{}",
        serde_json::json!({
            "iterations": iterations,
            "compile_us": compile_us,
            "clean_ns_per_record": clean_ns,
            "dirty_ns_per_record": dirty_ns,
        })
    );
}
