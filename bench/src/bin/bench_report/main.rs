//! Benchmark report: reads the raw results `bench/run.sh` left in a folder and prints the
//! Markdown table (medians over the repetitions; "added" and "ratio" are medians of the
//! per-repetition differences and ratios, each repetition pairing a direct and a proxied run).
//!
//! ```text
//! cargo run --release -p micromodel-bench --bin bench_report -- --dir target/bench/<run> --reps 3
//! ```
//!
//! Files read, `<r>` being the repetition (1-based), `<side>` `direct` or `proxy`:
//! `p1-<side>-<r>.json` (oha, closed loop), `p1-proxy-<r>.cpu` (MicroModel CPU seconds),
//! `p2-<side>-<r>.json` (oha, fixed rate), `p3-<side>-<r>.json` (bench_ttfb),
//! `p4-<side>-<r>.json` (bench_slow_streams), `p4-<side>-<r>.overflows` (listen-queue
//! overflows, machine-wide), `p4-proxy-<r>.recorded` (lines recorded),
//! `p4-proxy-<r>.hwm_kb` (VmHWM), `p5-proxy-<r>.rss_kb` (VmRSS after start),
//! `p6-<r>.json` (bench_recorder). Missing files show as `n/a`. The reference table of a
//! plain TCP relay is in `floor.rs`.
//!
//! Modules: `results.rs` reads the files, `phases.rs` makes each phase's rows, `table.rs` formats
//! and prints the table.

mod floor;
mod phases;
mod results;
mod table;

use std::path::PathBuf;

use results::Run;
use table::Table;

fn main() {
    let mut dir = PathBuf::from(".");
    let mut reps = 3usize;
    let mut streams = 1000f64;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_default();
        match flag.as_str() {
            "--dir" => dir = PathBuf::from(value),
            "--reps" => reps = value.parse().unwrap_or(3),
            "--streams" => streams = value.parse().unwrap_or(1000.0),
            other => {
                eprintln!("bench_report: unknown flag {other}");
                std::process::exit(2);
            }
        }
    }
    let run = Run { dir, reps };
    let mut table = Table {
        rows: Vec::new(),
        notes: Vec::new(),
    };
    phases::phase1(&run, &mut table);
    phases::phase2(&run, &mut table);
    phases::phase3(&run, &mut table);
    phases::phase4(&run, &mut table, streams);
    phases::phase5(&run, &mut table);
    phases::phase6(&run, &mut table);
    table::print(&table, &run.dir);
    floor::print(&run);
}
