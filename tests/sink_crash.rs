//! The sink across crashes, against SeaweedFS: `kill -9` between the seal and the upload,
//! `kill -9` while uploads are under way, then a restart: every local line is in the bucket
//! exactly once. And the acceptance run: two instances behind one bucket, a store outage in
//! the middle of the load, one instance killed and restarted.

mod common;
mod sink_support;

use std::path::Path;
use std::time::Duration;

use common::upstream::openai_like;
use common::{eventually, free_port, FakeUpstream, Proxy};
use serde_json::json;
use sink_support::{duplicates, lines_of, load, local_lines, objects, spool_files, Seaweed};

const WAIT: Duration = Duration::from_secs(90);

/// Starts (or restarts, on the same data folder and port) the proxy with `--sink`.
fn start(store: &Seaweed, port: u16, data_dir: &Path, extra: &[&str]) -> Proxy {
    let upstream_url = UPSTREAM.with(|u| u.url.clone());
    let config = json!({"w": {"OPENAI_API_HOST": upstream_url, "PORT": port}});
    let sink = store.url_for("crash");
    let mut args = vec!["--sink", sink.as_str(), "--sink-segment-seconds", "1"];
    args.extend_from_slice(extra);
    let env = store.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let dir = tempfile::tempdir().expect("tempdir");
    Proxy::start_in(dir, data_dir.to_path_buf(), &config, &args, &env)
}

thread_local! {
    static UPSTREAM: FakeUpstream = FakeUpstream::start(openai_like);
}

/// Waits until `n` lines are in the local day files of `data_dir`.
fn wait_local(data_dir: &Path, n: usize) {
    eventually(WAIT, format_args!("{n} local lines"), || {
        let got = local_lines(data_dir).len();
        if got == n {
            Ok(())
        } else {
            Err(got)
        }
    });
}

/// Waits until the bucket holds exactly the local lines of `data_dirs`, and returns them.
fn bucket_matches(store: &Seaweed, data_dirs: &[&Path]) -> Vec<String> {
    eventually(WAIT, "the bucket to hold every local line once", || {
        let mut local: Vec<String> = data_dirs.iter().flat_map(|d| local_lines(d)).collect();
        local.sort();
        let remote = lines_of(&objects(store, "crash"));
        if remote == local && !local.is_empty() {
            Ok(remote)
        } else {
            Err(format!(
                "{} local, {} in the bucket, {} duplicated",
                local.len(),
                remote.len(),
                duplicates(&remote).len()
            ))
        }
    })
}

fn kill_9(proxy: &mut Proxy) {
    proxy.signal(libc::SIGKILL);
    proxy.wait_exit(Duration::from_secs(20));
}

#[test]
fn kill_9_between_seal_and_upload_then_restart() {
    let Some(mut store) = Seaweed::start("records") else {
        return;
    };
    let data = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    store.stop();
    let mut proxy = start(&store, port, data.path(), &[]);
    assert_eq!(load(port, 40), 40);
    wait_local(data.path(), 40);
    eventually(WAIT, "every segment sealed, none uploaded", || {
        let sealed = spool_files(data.path(), "sealed").len();
        let open = spool_files(data.path(), "open").len();
        if sealed > 0 && open == 0 {
            Ok(())
        } else {
            Err(format!("{sealed} sealed, {open} open"))
        }
    });
    kill_9(&mut proxy);
    store.restart();
    assert!(objects(&store, "crash").is_empty());
    let mut proxy = start(&store, port, data.path(), &[]);
    let lines = bucket_matches(&store, &[data.path()]);
    assert_eq!(lines.len(), 40);
    assert!(proxy.stop().success());
}

#[test]
fn kill_9_during_uploads_then_restart() {
    let Some(mut store) = Seaweed::start("records") else {
        return;
    };
    let data = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    store.stop();
    // Small segments: many objects wait, so the kill lands while uploads are under way.
    let mut proxy = start(&store, port, data.path(), &["--sink-segment-bytes", "1500"]);
    for _ in 0..4 {
        assert_eq!(load(port, 30), 30);
    }
    wait_local(data.path(), 120);
    eventually(WAIT, "many sealed segments", || {
        let sealed = spool_files(data.path(), "sealed").len();
        if sealed >= 10 && spool_files(data.path(), "open").is_empty() {
            Ok(())
        } else {
            Err(sealed)
        }
    });
    store.restart();
    eventually(WAIT, "the first uploads", || {
        if objects(&store, "crash").is_empty() {
            Err("none yet")
        } else {
            Ok(())
        }
    });
    kill_9(&mut proxy);
    let left = spool_files(data.path(), "sealed").len();
    let mut proxy = start(&store, port, data.path(), &["--sink-segment-bytes", "1500"]);
    let lines = bucket_matches(&store, &[data.path()]);
    assert_eq!(lines.len(), 120);
    assert!(proxy.stop().success());
    eprintln!("segments still in the spool at the kill: {left}");
}

/// The acceptance run of issue 16: two instances, one bucket, an outage in the middle of the
/// load, one instance killed (`kill -9`) and restarted: every 2xx answer is in the bucket
/// exactly once.
#[test]
fn two_instances_one_bucket_outage_and_kill_9() {
    let Some(mut store) = Seaweed::start("records") else {
        return;
    };
    let (a_data, b_data) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    let (a_port, b_port) = (free_port(), free_port());
    let mut a = start(&store, a_port, a_data.path(), &["--instance-id", "pod-a"]);
    let mut b = start(&store, b_port, b_data.path(), &["--instance-id", "pod-b"]);
    let mut answered = load(a_port, 50) + load(b_port, 50);
    store.stop();
    answered += load(a_port, 50) + load(b_port, 50);
    wait_local(a_data.path(), 100);
    kill_9(&mut a);
    store.restart();
    let mut a = start(&store, a_port, a_data.path(), &["--instance-id", "pod-a"]);
    answered += load(a_port, 25) + load(b_port, 25);
    assert_eq!(answered, 250, "every request answered 2xx");
    wait_local(a_data.path(), 125);
    wait_local(b_data.path(), 125);
    let lines = bucket_matches(&store, &[a_data.path(), b_data.path()]);
    assert_eq!(lines.len(), answered, "every 2xx answer exactly once");
    let keys = objects(&store, "crash");
    assert!(keys.keys().any(|k| k.contains("/pod-a-")));
    assert!(keys.keys().any(|k| k.contains("/pod-b-")));
    assert!(a.stop().success());
    assert!(b.stop().success());
}
