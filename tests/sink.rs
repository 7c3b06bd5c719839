//! The object-storage sink (`--sink`) against a real S3 store (SeaweedFS, taken down and
//! brought back for outages): names, an outage under load, a full spool, local retention. The
//! crash cases are in tests/sink_crash.rs.

mod common;
mod sink_support;

use std::time::Duration;

use common::upstream::openai_like;
use common::{eventually, free_port, FakeUpstream, Proxy};
use serde_json::json;
use sink_support::{duplicates, lines_of, load, local_lines, objects, spool_files, Seaweed};

const WAIT: Duration = Duration::from_secs(60);

/// Starts the proxy for workflow `w` with `--sink` on the test store.
fn start(
    store: &Seaweed,
    prefix: &str,
    upstream: &FakeUpstream,
    data_dir: &std::path::Path,
    extra: &[&str],
) -> (Proxy, u16) {
    let port = free_port();
    let config = json!({"w": {"OPENAI_API_HOST": upstream.url, "PORT": port}});
    let sink = store.url_for(prefix);
    let mut args = vec!["--sink", sink.as_str()];
    args.extend_from_slice(extra);
    let env = store.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let dir = tempfile::tempdir().expect("tempdir");
    (
        Proxy::start_in(dir, data_dir.to_path_buf(), &config, &args, &env),
        port,
    )
}

/// Waits until the bucket below `prefix` holds exactly the local lines of `data_dirs`.
fn bucket_matches(
    store: &Seaweed,
    prefix: &str,
    data_dirs: &[&std::path::Path],
    proxy: &Proxy,
) -> Vec<String> {
    eventually(WAIT, "the bucket to hold every local line", || {
        let mut local: Vec<String> = data_dirs.iter().flat_map(|d| local_lines(d)).collect();
        local.sort();
        let remote = lines_of(&objects(store, prefix));
        if remote == local && !local.is_empty() {
            Ok(remote)
        } else {
            Err(format!(
                "{} local lines, {} in the bucket ({} duplicated); the sink's log:\n{}",
                local.len(),
                remote.len(),
                duplicates(&remote).len(),
                sink_log(proxy)
            ))
        }
    })
}

/// The proxy's log lines about the sink.
fn sink_log(proxy: &Proxy) -> String {
    let logs = proxy.logs();
    let lines: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("sink") || l.contains("spool") || l.contains("segment"))
        .collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

#[test]
fn segments_reach_the_bucket_under_their_names() {
    let Some(store) = Seaweed::start("records") else {
        return;
    };
    let upstream = FakeUpstream::start(openai_like);
    let data = tempfile::tempdir().expect("tempdir");
    let (mut proxy, port) = start(
        &store,
        "names",
        &upstream,
        data.path(),
        &["--instance-id", "inst-a", "--sink-segment-seconds", "1"],
    );
    assert_eq!(load(port, 20), 20);
    let lines = bucket_matches(&store, "names", &[data.path()], &proxy);
    assert_eq!(lines.len(), 20);
    assert!(duplicates(&lines).is_empty());
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    for key in objects(&store, "names").keys() {
        let parsed = key_parts(key);
        assert_eq!(parsed.0, "workflow=w", "{key}");
        assert_eq!(parsed.1, format!("date={today}"), "{key}");
        assert!(parsed.2.starts_with("inst-a-"), "{key}");
        assert!(parsed.2.ends_with(".jsonl.gz"), "{key}");
        // inst-a-YYYYMMDDTHHMMSSZ-NNNNNN.jsonl.gz
        let stem = parsed.2.trim_end_matches(".jsonl.gz");
        let (rest, seq) = stem.rsplit_once('-').expect("seq");
        assert!(
            seq.len() >= 6 && seq.bytes().all(|b| b.is_ascii_digit()),
            "{key}"
        );
        let time = rest.strip_prefix("inst-a-").expect("instance");
        assert!(
            chrono::NaiveDateTime::parse_from_str(time, "%Y%m%dT%H%M%SZ").is_ok(),
            "{key}"
        );
    }
    assert!(proxy.stop().success());
    assert!(proxy.logs().contains("Sink: every segment uploaded."));
    assert!(spool_files(data.path(), "sealed").is_empty());
    assert!(spool_files(data.path(), "open").is_empty());
}

fn key_parts(key: &str) -> (&str, &str, &str) {
    let mut parts = key.split('/');
    let out = (
        parts.next().expect("workflow"),
        parts.next().expect("date"),
        parts.next().expect("name"),
    );
    assert!(parts.next().is_none(), "{key}");
    out
}

#[test]
fn an_outage_under_load_loses_and_doubles_nothing() {
    let Some(mut store) = Seaweed::start("records") else {
        return;
    };
    let upstream = FakeUpstream::start(openai_like);
    let data = tempfile::tempdir().expect("tempdir");
    let (mut proxy, port) = start(
        &store,
        "outage",
        &upstream,
        data.path(),
        &[
            "--sink-segment-seconds",
            "1",
            "--sink-segment-bytes",
            "4096",
        ],
    );
    assert_eq!(load(port, 40), 40);
    store.stop();
    assert_eq!(load(port, 120), 120);
    proxy.wait_log("upload to the sink failed", 1);
    eventually(WAIT, "sealed segments waiting in the spool", || {
        let n = spool_files(data.path(), "sealed").len();
        if n > 0 {
            Ok(())
        } else {
            Err("none")
        }
    });
    assert_eq!(load(port, 40), 40);
    store.restart();
    let lines = bucket_matches(&store, "outage", &[data.path()], &proxy);
    assert_eq!(lines.len(), 200);
    proxy.wait_log("uploads to the sink recovered", 1);
    assert!(proxy.stop().success());
}

#[test]
fn a_full_spool_is_counted_and_logged_and_the_local_files_stay_complete() {
    let Some(mut store) = Seaweed::start("records") else {
        return;
    };
    let upstream = FakeUpstream::start(openai_like);
    let data = tempfile::tempdir().expect("tempdir");
    let admin = free_port();
    let admin_addr = format!("127.0.0.1:{admin}");
    store.stop();
    let (mut proxy, port) = start(
        &store,
        "full",
        &upstream,
        data.path(),
        &[
            "--sink-spool-bytes",
            "3000",
            "--sink-segment-seconds",
            "1",
            "--admin-addr",
            &admin_addr,
        ],
    );
    assert_eq!(load(port, 30), 30);
    proxy.wait_log("the sink's spool is full", 1);
    let local = eventually(WAIT, "30 local records", || {
        let l = local_lines(data.path());
        if l.len() == 30 {
            Ok(l)
        } else {
            Err(l.len())
        }
    });
    let metrics = common::eventually(WAIT, "the not-spooled counter", || {
        let text = std::process::Command::new("curl")
            .args(["-s", &format!("http://{admin_addr}/metrics")])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        let line = text
            .lines()
            .find(|l| {
                l.starts_with("micromodel_sink_records_not_spooled_total")
                    && l.contains("spool_full")
            })
            .map(str::to_owned);
        line.ok_or("not yet")
    });
    let refused: f64 = metrics
        .rsplit(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a count");
    assert!(refused >= 1.0, "{metrics}");
    store.restart();
    let remote = eventually(WAIT, "the spool to empty into the bucket", || {
        let remote = lines_of(&objects(&store, "full"));
        let empty = spool_files(data.path(), "sealed").is_empty()
            && spool_files(data.path(), "open").is_empty();
        if empty && !remote.is_empty() {
            Ok(remote)
        } else {
            Err(remote.len())
        }
    });
    assert!(duplicates(&remote).is_empty());
    assert_eq!(
        remote.len() as f64 + refused,
        30.0,
        "every record: spooled or counted"
    );
    assert!(remote.iter().all(|l| local.binary_search(l).is_ok()));
    assert!(proxy.stop().success());
}

#[test]
fn local_retention_deletes_only_old_shipped_days() {
    let Some(store) = Seaweed::start("records") else {
        return;
    };
    let upstream = FakeUpstream::start(openai_like);
    let data = tempfile::tempdir().expect("tempdir");
    let day = |name: &str| data.path().join("w").join(name);
    for name in ["01-01-2020", "02-01-2020"] {
        std::fs::create_dir_all(day(name)).expect("mkdir");
        std::fs::write(day(name).join("data.jsonl"), "{}\n").expect("write");
    }
    // 01-01-2020 went to the spool and left it (uploaded); 02-01-2020 predates the sink.
    let marker = data.path().join("@spool/days/w/2020-01-01");
    std::fs::create_dir_all(marker.parent().expect("parent")).expect("mkdir");
    std::fs::write(&marker, "").expect("marker");
    let (mut proxy, _port) = start(
        &store,
        "retention",
        &upstream,
        data.path(),
        &["--local-retention-days", "1"],
    );
    eventually(WAIT, "the shipped old day to go", || {
        if day("01-01-2020").exists() {
            Err("still there")
        } else {
            Ok(())
        }
    });
    assert!(day("02-01-2020").join("data.jsonl").is_file());
    assert!(proxy.stop().success());
}

#[test]
fn a_bad_sink_url_or_instance_id_is_a_clear_start_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.json");
    let port = free_port();
    std::fs::write(
        &config,
        json!({"w": {"OPENAI_API_HOST": "http://127.0.0.1:9", "PORT": port}}).to_string(),
    )
    .expect("config");
    for (args, says) in [
        (vec!["--sink", "ftp://b/p"], "unknown scheme ftp://"),
        (vec!["--sink", "s3:///p"], "the bucket name is missing"),
        (vec!["--sink", "gs://b/p"], "interoperability"),
        (
            vec!["--sink", "s3://b/p", "--instance-id", "a/b"],
            "--instance-id \"a/b\"",
        ),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_micromodel"))
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .args(&args)
            .output()
            .expect("run micromodel");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}
