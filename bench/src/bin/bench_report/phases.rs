//! The rows of the table, one function per phase of `bench/run.sh`, each adding its rows and the
//! problems its raw results show (non-2xx answers, errors, missing files) as notes.

use serde_json::Value;

use crate::results::{get, median, oha_errors, oha_latency_ms, oha_statuses, Run};
use crate::table::{fmt, met, signed, thousands, Table};

pub fn phase1(run: &Run, table: &mut Table) {
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

pub fn phase2(run: &Run, table: &mut Table) {
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

pub fn phase3(run: &Run, table: &mut Table) {
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

pub fn phase4(run: &Run, table: &mut Table, streams: f64) {
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

pub fn phase5(run: &Run, table: &mut Table) {
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

pub fn phase6(run: &Run, table: &mut Table) {
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
