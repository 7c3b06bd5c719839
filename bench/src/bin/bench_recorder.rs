//! Benchmark: the recorder alone, records per second for ~1 KB records.
//!
//! ```text
//! cargo run --release -p micromodel-bench --bin bench_recorder -- --records 200000 --fsync interval --dir target
//! ```
//!
//! Starts `micromodel::recorder` on a fresh temporary data folder under `--dir` (default
//! `target`, so the disk is a real one, not a tmpfs), submits `--records` ChatML lines of about
//! 1 KB with [`Recorder::submit`] as fast as the queue takes them (the submitter backs off for
//! 1 ms when the queue is 3/4 full, so nothing is dropped), and times from the first submit until
//! `stats().written` reaches the total. Then drops the submit side and times
//! `RecorderHandle::finish` (drain and final fsync). Prints one JSON object; the folder is
//! removed afterwards.
//!
//! `--sink URL` (with `--sink-compression gzip|zstd|none`, `--sink-segment-bytes N`) turns the
//! object-storage sink on, as `serve --sink` does: every line also goes to the spool, segments
//! are sealed and uploaded meanwhile. The rate is still timed until `written` reaches the total;
//! then the sink's stop (seal and upload what is left, at most 120 s) is timed apart.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use micromodel::recorder::{self, FsyncPolicy, RecordLine, RecorderOptions};
use serde_json::json;

fn main() {
    let mut records: u64 = 200_000;
    let mut dir = PathBuf::from("target");
    let mut fsync = FsyncPolicy::Interval;
    let mut queue_records: usize = 65_536;
    let mut sink = micromodel::sink::SinkArgs {
        sink: None,
        instance_id: Some("bench".into()),
        sink_segment_bytes: 64 * 1024 * 1024,
        sink_segment_seconds: 300,
        sink_compression: micromodel::sink::Compression::Gzip,
        sink_spool_bytes: 10 * 1024 * 1024 * 1024,
        local_retention_days: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .unwrap_or_else(|| fail(&format!("{flag} needs a value")));
        match flag.as_str() {
            "--records" => records = number(&value),
            "--dir" => dir = PathBuf::from(value),
            "--queue-records" => queue_records = number(&value) as usize,
            "--sink" => sink.sink = Some(value),
            "--sink-segment-bytes" => sink.sink_segment_bytes = number(&value),
            "--sink-compression" => {
                sink.sink_compression = match value.as_str() {
                    "gzip" => micromodel::sink::Compression::Gzip,
                    "zstd" => micromodel::sink::Compression::Zstd,
                    "none" => micromodel::sink::Compression::None,
                    other => fail(&format!("unknown compression {other}")),
                }
            }
            "--fsync" => {
                fsync = match value.as_str() {
                    "interval" => FsyncPolicy::Interval,
                    "always" => FsyncPolicy::Always,
                    "never" => FsyncPolicy::Never,
                    other => fail(&format!("unknown fsync policy {other}")),
                }
            }
            other => fail(&format!("unknown flag {other}")),
        }
    }
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| fail(&format!("{}: {e}", dir.display())));
    let temp = tempfile::Builder::new()
        .prefix("bench-recorder-")
        .tempdir_in(&dir)
        .unwrap_or_else(|e| fail(&format!("tempdir in {}: {e}", dir.display())));
    let data_dir = temp.path().join("data");

    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let report = runtime.block_on(async move {
        let sink = micromodel::sink::start(&sink, &data_dir, Default::default())
            .unwrap_or_else(|e| fail(&format!("sink: {e}")));
        let (recorder, handle) = recorder::start_with_sink(
            RecorderOptions {
                data_dir: data_dir.clone(),
                fsync,
                queue_records,
                mode: Default::default(),
            },
            sink.as_ref().map(micromodel::sink::SinkHandle::spool),
        )
        .expect("recorder start");
        let high_water = queue_records - queue_records / 4;
        let template = record_json(0);
        let started = Instant::now();
        let mut submit_time = Duration::ZERO;
        let mut record_bytes = 0u64;
        for i in 0..records {
            while recorder.stats().queue_depth >= high_water {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            // A fresh string per record (as the proxy makes one), varied a little.
            let mut json = template.clone();
            let id = format!("{i:012}");
            json.replace_range(json.len() - 14..json.len() - 2, &id);
            record_bytes += json.len() as u64 + 1;
            let line = RecordLine {
                workflow_id: "bench".to_string(),
                timestamp: chrono::Utc::now(),
                json,
            };
            let t = Instant::now();
            recorder.submit(line);
            submit_time += t.elapsed();
        }
        while recorder.stats().written < records {
            let stats = recorder.stats();
            if stats.dropped_full + stats.dropped_closed > 0 && stats.queue_depth == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let elapsed = started.elapsed();
        let stats = recorder.stats();
        drop(recorder);
        let finish_started = Instant::now();
        let clean = handle.finish(Duration::from_secs(60)).await;
        let finish = finish_started.elapsed();
        let sink_started = Instant::now();
        let sink_report = match sink {
            Some(sink) => Some(
                sink.stop(tokio::time::Instant::now() + Duration::from_secs(120))
                    .await,
            ),
            None => None,
        };
        let sink_stop = sink_started.elapsed();
        let lines = count_lines(&data_dir);
        let secs = elapsed.as_secs_f64();
        json!({
            "records": records,
            "record_bytes_avg": record_bytes as f64 / records.max(1) as f64,
            "fsync": format!("{fsync:?}").to_lowercase(),
            "queue_records": queue_records,
            "records_per_sec": stats.written as f64 / secs,
            "mb_per_sec": record_bytes as f64 / secs / 1e6,
            "elapsed_ms": secs * 1000.0,
            "submit_ns_per_record": submit_time.as_nanos() as f64 / records.max(1) as f64,
            "written": stats.written,
            "dropped": stats.dropped_full + stats.dropped_closed,
            "finish_ms": finish.as_secs_f64() * 1000.0,
            "finished_clean": clean,
            "lines_in_files": lines,
            "sink": sink_report.is_some(),
            "sink_stop_ms": sink_report.map(|_| sink_stop.as_secs_f64() * 1000.0),
            "sink_uploaded_all": sink_report.map(|r| r.uploaded_all),
            "sink_left_bytes": sink_report.map(|r| r.left_bytes),
        })
    });
    println!("{report}");
}

/// A ChatML record line of about 1 KB (keys in the record's order), ending in
/// `"request_id":"chatcmpl-<12 digits>"}`.
fn record_json(i: u64) -> String {
    let story = "Once upon a time, a small proxy recorded every answer it passed on. ".repeat(9);
    format!(
        concat!(
            r#"{{"messages":[{{"role":"system","content":"You are a helpful storyteller."}},"#,
            r#"{{"role":"user","content":"Tell me a story about a proxy."}},"#,
            r#"{{"role":"assistant","content":"{story}"}}],"#,
            r#""timestamp":"2025-08-24T10:30:00.000Z","endpoint":"/v1/chat/completions","#,
            r#""model":"bench-model","workflow_id":"bench","finish_reason":"stop","#,
            r#""usage":{{"prompt_tokens":24,"completion_tokens":120,"total_tokens":144}},"#,
            r#""stream":false,"latency_ms":812,"request_id":"chatcmpl-{i:012}"}}"#
        ),
        story = story.trim_end(),
        i = i
    )
}

fn count_lines(dir: &std::path::Path) -> u64 {
    let mut total = 0;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            total += count_lines(&path);
        } else if path.file_name().is_some_and(|n| n == "data.jsonl")
            && !path.components().any(|c| c.as_os_str() == "@spool")
        {
            if let Ok(bytes) = std::fs::read(&path) {
                total += bytes.iter().filter(|&&b| b == b'\n').count() as u64;
            }
        }
    }
    total
}

fn number(value: &str) -> u64 {
    value
        .parse()
        .unwrap_or_else(|_| fail(&format!("not a number: {value}")))
}

fn fail(message: &str) -> ! {
    eprintln!("bench_recorder: {message}");
    std::process::exit(2)
}
