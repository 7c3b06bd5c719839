//! The reference table: the same closed-loop and fixed-rate load through a plain TCP relay
//! (`bench_tcp_relay`: no HTTP) and a bare hyper proxy (`bench_bare_proxy`:
//! MicroModel's HTTP stack, no parsing or recording), next to direct and MicroModel, with the
//! CPU time per request of the process in the middle: the floors MicroModel starts from.
//!
//! `affine` is the bare proxy with connection affinity (`--affinity`: each downstream
//! connection drives its own upstream connection in the same task), an architecture measured
//! for comparison.
//!
//! Files read (besides phase 1-2's), `<ref>` being `relay`, `bare` or `affine`: `p1-<ref>-<r>.json`,
//! `p1-<ref>-<r>.cpu` (its CPU seconds), `p1-direct-<r>.upcpu` (the fake upstream's CPU
//! seconds in the direct run), `p2-<ref>-<r>.json`.

use serde_json::Value;

use crate::results::{get, median, oha_latency_ms, oha_statuses, Run};
use crate::table::{fmt, signed};

/// Median over repetitions of `f(side a, side b)` where both files of a repetition exist.
fn paired(
    run: &Run,
    phase: &str,
    a: &str,
    b: &str,
    f: impl Fn(&Value, &Value) -> Option<f64>,
) -> Option<f64> {
    median(
        (1..=run.reps)
            .filter_map(|r| {
                let x = run.json(&format!("{phase}-{a}-{r}.json"))?;
                let y = run.json(&format!("{phase}-{b}-{r}.json"))?;
                f(&x, &y)
            })
            .collect(),
    )
}

/// Median over repetitions of CPU seconds (file `cpu`) per request of run `json`, in µs.
fn cpu_per_request(
    run: &Run,
    cpu: impl Fn(usize) -> String,
    json: impl Fn(usize) -> String,
) -> Option<f64> {
    median(
        (1..=run.reps)
            .filter_map(|r| {
                let seconds = run.number(&cpu(r))?;
                let (ok, other) = oha_statuses(&run.json(&json(r))?);
                (ok + other > 0.0).then(|| seconds / (ok + other) * 1e6)
            })
            .collect(),
    )
}

fn side(run: &Run, phase: &str, side: &str, f: impl Fn(&Value) -> Option<f64>) -> Option<f64> {
    median(
        run.each(|r| format!("{phase}-{side}-{r}.json"))
            .iter()
            .filter_map(f)
            .collect(),
    )
}

/// Prints the reference table, if the run has relay results.
pub fn print(run: &Run) {
    if run.json("p1-relay-1.json").is_none() {
        return;
    }
    let rps = |v: &Value| get(v, &["summary", "requestsPerSec"]);
    let ratio = |via: &str| {
        let r = paired(run, "p1", "direct", via, |d, x| Some(rps(x)? / rps(d)?));
        format!(
            "{} ({})",
            fmt(side(run, "p1", via, rps), 0, ""),
            fmt(r, 2, "×")
        )
    };
    println!();
    println!("References: the same load through a plain TCP relay (`bench_tcp_relay`: no");
    println!("HTTP at all) and a bare hyper proxy (`bench_bare_proxy`: MicroModel's HTTP");
    println!("stack forwarding with no parsing, recording or metrics): the floors MicroModel starts from.");
    println!(
        "\"Affine\" is that bare proxy with connection affinity (`--affinity`: each downstream"
    );
    println!(
        "connection drives its own upstream connection in the same task, no pool, no hand-off)."
    );
    println!();
    println!("| metric | direct | via TCP relay | via bare hyper proxy | via affine bare proxy | via MicroModel |");
    println!("|---|---:|---:|---:|---:|---:|");
    println!(
        "| 1. closed loop, requests/s (ratio to direct) | {} | {} | {} | {} | {} |",
        fmt(side(run, "p1", "direct", rps), 0, ""),
        ratio("relay"),
        ratio("bare"),
        ratio("affine"),
        ratio("proxy"),
    );
    let cpu = |side: &str| {
        let cpu_file = |r: usize| format!("p1-{side}-{r}.cpu");
        let json_file = |r: usize| format!("p1-{side}-{r}.json");
        fmt(cpu_per_request(run, cpu_file, json_file), 1, " µs")
    };
    println!(
        "| 1. CPU time/request of the process answering / in the middle | upstream: {} | {} | {} | {} | {} |",
        fmt(cpu_per_request(run, |r| format!("p1-direct-{r}.upcpu"), |r| format!("p1-direct-{r}.json")), 1, " µs"),
        cpu("relay"),
        cpu("bare"),
        cpu("affine"),
        cpu("proxy"),
    );
    for p in ["p50", "p99"] {
        let latency = |v: &Value| oha_latency_ms(v, p);
        let via = |name: &str| {
            let added = paired(run, "p2", "direct", name, |d, x| {
                Some(latency(x)? - latency(d)?)
            });
            format!(
                "{} ({})",
                fmt(side(run, "p2", name, latency), 3, " ms"),
                signed(added, 3, " ms")
            )
        };
        println!(
            "| 2. {p} at 200 req/s (added) | {} | {} | {} | {} | {} |",
            fmt(side(run, "p2", "direct", latency), 3, " ms"),
            via("relay"),
            via("bare"),
            via("affine"),
            via("proxy"),
        );
    }
}
