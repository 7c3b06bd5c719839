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

mod floor;

use std::path::{Path, PathBuf};

use serde_json::Value;

struct Table {
    rows: Vec<[String; 7]>,
    notes: Vec<String>,
}

impl Table {
    fn row(&mut self, cells: [&str; 7]) {
        self.rows.push(cells.map(str::to_owned));
    }
}

struct Run {
    dir: PathBuf,
    reps: usize,
}

impl Run {
    fn json(&self, name: &str) -> Option<Value> {
        let text = std::fs::read_to_string(self.dir.join(name)).ok()?;
        serde_json::from_str(&text).ok()
    }

    fn number(&self, name: &str) -> Option<f64> {
        std::fs::read_to_string(self.dir.join(name))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Per repetition: `f(direct, proxy)` where both files exist.
    fn pairs<T>(
        &self,
        phase: &str,
        mut f: impl FnMut(&Value, &Value, usize) -> Option<T>,
    ) -> Vec<T> {
        (1..=self.reps)
            .filter_map(|r| {
                let direct = self.json(&format!("{phase}-direct-{r}.json"))?;
                let proxy = self.json(&format!("{phase}-proxy-{r}.json"))?;
                f(&direct, &proxy, r)
            })
            .collect()
    }

    fn each(&self, name: impl Fn(usize) -> String) -> Vec<Value> {
        (1..=self.reps)
            .filter_map(|r| self.json(&name(r)))
            .collect()
    }

    fn each_number(&self, name: impl Fn(usize) -> String) -> Vec<f64> {
        (1..=self.reps)
            .filter_map(|r| self.number(&name(r)))
            .collect()
    }
}

fn median(mut values: Vec<f64>) -> Option<f64> {
    values.retain(|v| v.is_finite());
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    })
}

fn get(value: &Value, path: &[&str]) -> Option<f64> {
    let mut at = value;
    for key in path {
        at = at.get(key)?;
    }
    at.as_f64()
}

/// oha: responses by status code.
fn oha_statuses(value: &Value) -> (f64, f64) {
    let mut ok = 0.0;
    let mut other = 0.0;
    if let Some(map) = value
        .get("statusCodeDistribution")
        .and_then(Value::as_object)
    {
        for (code, count) in map {
            let count = count.as_f64().unwrap_or(0.0);
            if code.starts_with('2') {
                ok += count;
            } else {
                other += count;
            }
        }
    }
    (ok, other)
}

/// oha: errors other than requests cut by the end of the run (`-z`).
fn oha_errors(value: &Value) -> Vec<(String, f64)> {
    value
        .get("errorDistribution")
        .and_then(Value::as_object)
        .map(|map| {
            map.iter()
                .filter(|(what, _)| !what.contains("deadline"))
                .map(|(what, n)| (what.clone(), n.as_f64().unwrap_or(0.0)))
                .collect()
        })
        .unwrap_or_default()
}

fn oha_latency_ms(value: &Value, p: &str) -> Option<f64> {
    get(value, &["latencyPercentiles", p]).map(|s| s * 1000.0)
}

fn fmt(value: Option<f64>, decimals: usize, unit: &str) -> String {
    match value {
        Some(v) => format!("{v:.decimals$}{unit}"),
        None => "n/a".to_string(),
    }
}

fn signed(value: Option<f64>, decimals: usize, unit: &str) -> String {
    match value {
        Some(v) => format!("{v:+.decimals$}{unit}"),
        None => "n/a".to_string(),
    }
}

fn met(ok: Option<bool>) -> &'static str {
    match ok {
        Some(true) => "yes",
        Some(false) => "**no**",
        None => "n/a",
    }
}

fn thousands(v: f64) -> String {
    let n = v.round() as i64;
    let digits = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

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
    phase1(&run, &mut table);
    phase2(&run, &mut table);
    phase3(&run, &mut table);
    phase4(&run, &mut table, streams);
    phase5(&run, &mut table);
    phase6(&run, &mut table);
    print(&table, &run.dir);
    floor::print(&run);
}

fn phase1(run: &Run, table: &mut Table) {
    let name = "1. closed loop, 32 conn, JSON";
    let direct = median(
        run.each(|r| format!("p1-direct-{r}.json"))
            .iter()
            .filter_map(|v| get(v, &["summary", "requestsPerSec"]))
            .collect(),
    );
    let proxy = median(
        run.each(|r| format!("p1-proxy-{r}.json"))
            .iter()
            .filter_map(|v| get(v, &["summary", "requestsPerSec"]))
            .collect(),
    );
    let ratio = median(run.pairs("p1", |d, p, _| {
        Some(get(p, &["summary", "requestsPerSec"])? / get(d, &["summary", "requestsPerSec"])?)
    }));
    table.row([
        name,
        "requests/s",
        &fmt(direct, 0, ""),
        &fmt(proxy, 0, ""),
        &fmt(ratio, 2, "×"),
        "≥ 0.4× direct",
        met(ratio.map(|r| r >= 0.4)),
    ]);
    let cpu_us: Vec<f64> = (1..=run.reps)
        .filter_map(|r| {
            let cpu = run.number(&format!("p1-proxy-{r}.cpu"))?;
            let oha = run.json(&format!("p1-proxy-{r}.json"))?;
            let (ok, other) = oha_statuses(&oha);
            (ok + other > 0.0).then(|| cpu / (ok + other) * 1e6)
        })
        .collect();
    let cpu = median(cpu_us);
    table.row([
        name,
        "MicroModel CPU time/request",
        "—",
        &fmt(cpu, 1, " µs"),
        "",
        "≤ 25 µs",
        met(cpu.map(|c| c <= 25.0)),
    ]);
    oha_notes(run, "p1", table);
}

fn phase2(run: &Run, table: &mut Table) {
    let name = "2. fixed rate 200 req/s";
    let side = |side: &str, f: &dyn Fn(&Value) -> Option<f64>| {
        median(
            run.each(|r| format!("p2-{side}-{r}.json"))
                .iter()
                .filter_map(f)
                .collect(),
        )
    };
    let rate = |v: &Value| get(v, &["summary", "requestsPerSec"]);
    table.row([
        name,
        "achieved requests/s",
        &fmt(side("direct", &rate), 1, ""),
        &fmt(side("proxy", &rate), 1, ""),
        "",
        "",
        "",
    ]);
    for (p, target) in [("p50", Some(0.1)), ("p90", None), ("p99", Some(0.5))] {
        let direct = side("direct", &|v| oha_latency_ms(v, p));
        let proxy = side("proxy", &|v| oha_latency_ms(v, p));
        let added = median(run.pairs("p2", |d, x, _| {
            Some(oha_latency_ms(x, p)? - oha_latency_ms(d, p)?)
        }));
        table.row([
            name,
            &format!("{p} latency"),
            &fmt(direct, 3, " ms"),
            &fmt(proxy, 3, " ms"),
            &signed(added, 3, " ms"),
            &target.map_or(String::new(), |t| format!("added ≤ {t} ms")),
            if let Some(t) = target {
                met(added.map(|a| a <= t))
            } else {
                ""
            },
        ]);
    }
    oha_notes(run, "p2", table);
}

fn oha_notes(run: &Run, phase: &str, table: &mut Table) {
    for side in ["direct", "proxy"] {
        for r in 1..=run.reps {
            let file = format!("{phase}-{side}-{r}.json");
            let Some(v) = run.json(&file) else {
                table.notes.push(format!("{file}: missing or not JSON"));
                continue;
            };
            let (ok, other) = oha_statuses(&v);
            if other > 0.0 {
                table.notes.push(format!(
                    "{file}: {other} non-2xx responses (of {})",
                    ok + other
                ));
            }
            for (what, n) in oha_errors(&v) {
                table.notes.push(format!("{file}: {n} errors: {what}"));
            }
        }
    }
}

fn phase3(run: &Run, table: &mut Table) {
    let name = "3. streaming, 16 conn, 20 chunks × 5 ms";
    let side = |side: &str, path: &[&str]| {
        median(
            run.each(|r| format!("p3-{side}-{r}.json"))
                .iter()
                .filter_map(|v| get(v, path))
                .collect(),
        )
    };
    for (p, target) in [("p50", Some(0.3)), ("p99", None)] {
        let path = ["ttfb_ms", p];
        let added = median(run.pairs("p3", |d, x, _| Some(get(x, &path)? - get(d, &path)?)));
        table.row([
            name,
            &format!("time to first byte {p}"),
            &fmt(side("direct", &path), 3, " ms"),
            &fmt(side("proxy", &path), 3, " ms"),
            &signed(added, 3, " ms"),
            &target.map_or(String::new(), |t| format!("added ≤ {t} ms")),
            if let Some(t) = target {
                met(added.map(|a| a <= t))
            } else {
                ""
            },
        ]);
    }
    let path = ["total_ms", "p50"];
    let added = median(run.pairs("p3", |d, x, _| Some(get(x, &path)? - get(d, &path)?)));
    table.row([
        name,
        "whole stream p50",
        &fmt(side("direct", &path), 2, " ms"),
        &fmt(side("proxy", &path), 2, " ms"),
        &signed(added, 3, " ms"),
        "",
        "",
    ]);
    for s in ["direct", "proxy"] {
        for r in 1..=run.reps {
            let file = format!("p3-{s}-{r}.json");
            match run.json(&file) {
                Some(v) if get(&v, &["errors"]).unwrap_or(0.0) > 0.0 => table.notes.push(format!(
                    "{file}: {} errors, first: {}",
                    v["errors"], v["first_error"]
                )),
                Some(_) => {}
                None => table.notes.push(format!("{file}: missing or not JSON")),
            }
        }
    }
}

fn phase4(run: &Run, table: &mut Table, streams: f64) {
    let name = format!("4. {} concurrent slow streams", thousands(streams));
    let name = name.as_str();
    // Worst repetition: "all" must hold in every one.
    let worst = |side: &str| {
        run.each(|r| format!("p4-{side}-{r}.json"))
            .iter()
            .filter_map(|v| get(v, &["completed"]))
            .reduce(f64::min)
    };
    let (direct, proxy) = (worst("direct"), worst("proxy"));
    let of = |v: Option<f64>| v.map_or("n/a".into(), |v| format!("{v:.0}/{streams:.0}"));
    table.row([
        name,
        "completed (worst rep)",
        &of(direct),
        &of(proxy),
        "",
        "all",
        met(proxy.map(|p| p >= streams)),
    ]);
    let recorded = run
        .each_number(|r| format!("p4-proxy-{r}.recorded"))
        .into_iter()
        .reduce(f64::min);
    table.row([
        name,
        "recorded lines (worst rep)",
        "—",
        &of(recorded),
        "",
        "all",
        met(recorded.map(|n| n >= streams)),
    ]);
    let hwm = median(run.each_number(|r| format!("p4-proxy-{r}.hwm_kb"))).map(|kb| kb / 1024.0);
    table.row([
        name,
        "MicroModel peak RSS (VmHWM)",
        "—",
        &fmt(hwm, 1, " MiB"),
        "",
        "≤ 64 MiB",
        met(hwm.map(|m| m <= 64.0)),
    ]);
    let slowest = |side: &str| {
        median(
            run.each(|r| format!("p4-{side}-{r}.json"))
                .iter()
                .filter_map(|v| get(v, &["stream_ms", "max"]))
                .collect(),
        )
    };
    table.row([
        name,
        "slowest stream",
        &fmt(slowest("direct").map(|ms| ms / 1000.0), 2, " s"),
        &fmt(slowest("proxy").map(|ms| ms / 1000.0), 2, " s"),
        "",
        "",
        "",
    ]);
    let overflows = |side: &str| median(run.each_number(|r| format!("p4-{side}-{r}.overflows")));
    let (direct, proxy) = (overflows("direct"), overflows("proxy"));
    table.row([
        name,
        "listen-queue overflows (SYN dropped, machine-wide)",
        &fmt(direct, 0, ""),
        &fmt(proxy, 0, ""),
        "",
        "",
        "",
    ]);
    if proxy.is_some_and(|n| n > 0.0) {
        table.notes.push(format!(
            "phase 4: {} connections were dropped by a full listen queue during the proxied run \
             (each waits for a 1 s SYN retransmit); the fake upstream listens with a backlog of \
             4096, so this is MicroModel's accept queue",
            proxy.unwrap_or(0.0)
        ));
    }
    for s in ["direct", "proxy"] {
        for r in 1..=run.reps {
            let file = format!("p4-{s}-{r}.json");
            match run.json(&file) {
                Some(v) if get(&v, &["errors"]).unwrap_or(0.0) > 0.0 => table.notes.push(format!(
                    "{file}: {} errors, first: {}",
                    v["errors"], v["first_error"]
                )),
                Some(_) => {}
                None => table.notes.push(format!("{file}: missing or not JSON")),
            }
        }
    }
}

fn phase5(run: &Run, table: &mut Table) {
    let rss = median(run.each_number(|r| format!("p5-proxy-{r}.rss_kb"))).map(|kb| kb / 1024.0);
    table.row([
        "5. idle",
        "MicroModel RSS after start",
        "—",
        &fmt(rss, 1, " MiB"),
        "",
        "≤ 10 MiB",
        met(rss.map(|m| m <= 10.0)),
    ]);
}

fn phase6(run: &Run, table: &mut Table) {
    let results = run.each(|r| format!("p6-{r}.json"));
    let rate = median(
        results
            .iter()
            .filter_map(|v| get(v, &["records_per_sec"]))
            .collect(),
    );
    let size = median(
        results
            .iter()
            .filter_map(|v| get(v, &["record_bytes_avg"]))
            .collect(),
    );
    table.row([
        "6. recorder alone, `--fsync interval`",
        &format!("records/s (~{} B records)", fmt(size, 0, "")),
        "—",
        &rate.map_or("n/a".into(), thousands),
        "",
        "≥ 200,000",
        met(rate.map(|r| r >= 200_000.0)),
    ]);
    for (i, v) in results.iter().enumerate() {
        if get(v, &["dropped"]).unwrap_or(0.0) > 0.0 {
            table.notes.push(format!(
                "p6-{}.json: {} records dropped",
                i + 1,
                v["dropped"]
            ));
        }
        if get(v, &["lines_in_files"]) != get(v, &["records"]) {
            table.notes.push(format!(
                "p6-{}.json: {} lines in the files for {} records",
                i + 1,
                v["lines_in_files"],
                v["records"]
            ));
        }
    }
}

fn print(table: &Table, dir: &Path) {
    println!("| phase | metric | direct | via MicroModel | added/ratio | target | met? |");
    println!("|---|---|---:|---:|---:|---|---|");
    for row in &table.rows {
        println!("| {} |", row.join(" | "));
    }
    if !table.notes.is_empty() {
        println!();
        println!("Problems seen (raw results in {}):", dir.display());
        for note in &table.notes {
            println!("- {note}");
        }
    }
}
