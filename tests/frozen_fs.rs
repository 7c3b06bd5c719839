//! A stop while the data folder's filesystem is frozen (`fsfreeze`): every write blocks in the
//! kernel until a thaw. The stop must still end within the budget + the worst-case grace, exit
//! 3 and name the lost records in its last log line. Needs root (a loop-mounted ext4 and
//! `fsfreeze`); `.ci/run` runs it with `--ignored` as root.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::upstream::openai_like;
use common::{check, client, eventually, free_port, FakeUpstream, Proxy};
use serde_json::json;

/// The budget (`--drain-seconds 2`).
const BUDGET: Duration = Duration::from_secs(2);

/// Scheduling slack for a loaded 2-core CI machine; not part of the product's promise.
const ALLOWANCE: Duration = Duration::from_millis(1500);

/// Requests answered while the filesystem is frozen: none of their records can be written.
const WHILE_FROZEN: usize = 20;

/// Runs `program` with `args`; panics with its output when it fails.
fn run(program: &str, args: &[&str], path: &Path) {
    let output = Command::new(program)
        .args(args)
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("run {program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?} {}: {}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A small ext4 image loop-mounted at a folder; unmounted (which frees the loop device) when
/// dropped.
struct LoopMount(PathBuf);

impl LoopMount {
    fn new(image: &Path, at: &Path) -> LoopMount {
        std::fs::create_dir_all(at).expect("mount point");
        run("truncate", &["-s", "32M"], image);
        run("mkfs.ext4", &["-q", "-F"], image);
        let status = Command::new("mount")
            .args(["-o", "loop"])
            .arg(image)
            .arg(at)
            .status()
            .expect("run mount");
        assert!(status.success(), "mount -o loop (needs root)");
        LoopMount(at.to_owned())
    }
}

impl Drop for LoopMount {
    fn drop(&mut self) {
        // Thaw first in case the freeze guard never ran (a thawed filesystem says so, harmless).
        let _ = Command::new("fsfreeze").arg("-u").arg(&self.0).output();
        let unmounted = Command::new("umount").arg(&self.0).status();
        if !unmounted.is_ok_and(|s| s.success()) {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
}

/// A frozen filesystem; thawed when dropped, on success and on panic alike. Created after the
/// proxy, so it is dropped before it: killing a process whose write waits on a frozen
/// filesystem would wait for the thaw.
struct Frozen(PathBuf);

impl Frozen {
    fn freeze(mount: &LoopMount) -> Frozen {
        run("fsfreeze", &["-f"], &mount.0);
        Frozen(mount.0.clone())
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        let _ = Command::new("fsfreeze").arg("-u").arg(&self.0).status();
    }
}

async fn send(port: u16, i: usize) -> reqwest::StatusCode {
    let response = client()
        .post(format!("{}/v1/chat/completions", Proxy::url(port)))
        .json(&json!({"model":"m","messages":[{"role":"user","content":format!("frozen {i}")}]}))
        .send()
        .await
        .expect("send");
    let status = response.status();
    response.bytes().await.expect("the answer's body");
    status
}

fn last_log_line(proxy: &Proxy) -> String {
    let logs = proxy.logs();
    logs.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root: loop-mounts an ext4 image and freezes it (.ci/run runs it with --ignored)"]
async fn a_frozen_filesystem_does_not_hold_the_stop_and_the_loss_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mount = LoopMount::new(&dir.path().join("fs.img"), &dir.path().join("mnt"));
    let data_dir = mount.0.join("data");
    let upstream = FakeUpstream::start(openai_like);
    let port = free_port();
    let config = json!({"w": {"OPENAI_API_HOST": upstream.url, "PORT": port}});
    let mut proxy = Proxy::start_in(dir, data_dir, &config, &["--drain-seconds", "2"], &[]);
    assert_eq!(send(port, 0).await, 200);
    proxy.wait_records("w", 1);

    let frozen = Frozen::freeze(&mount);
    for i in 1..=WHILE_FROZEN {
        assert_eq!(
            send(port, i).await,
            200,
            "answers keep flowing while frozen"
        );
    }
    let began = Instant::now();
    proxy.signal(libc::SIGTERM);
    // The stop ends in time: its last log line names the count, and the main thread has
    // called exit (it is a zombie) within the budget + the grace. The kernel cannot let the
    // whole process go while one of its threads waits on a frozen filesystem (not even on
    // SIGKILL): that thread stays in `D` and the process is reaped at the thaw.
    let limit = BUDGET + micromodel::stop::worst_case_grace(false, false) + ALLOWANCE;
    let (watched, pid) = (&proxy, proxy.pid());
    eventually(Duration::from_secs(20), "the main thread to exit", || {
        check(main_thread_state(pid) == 'Z', || {
            format!("threads {}; the log:\n{}", states(pid), watched.logs())
        })
    });
    let took = began.elapsed();
    assert!(
        took <= limit,
        "the stop took {took:?}, more than {limit:?}\n{}",
        proxy.logs()
    );
    let last = last_log_line(&proxy);
    assert!(
        last.contains(&format!("lost={WHILE_FROZEN}")) && last.contains("exit_code=3"),
        "the last log line names the {WHILE_FROZEN} lost records: {last:?}\n{}",
        proxy.logs()
    );
    drop(frozen);
    let status = proxy.wait_exit(Duration::from_secs(10));
    assert_eq!(
        status.code(),
        Some(3),
        "records lost: exit 3\n{}",
        proxy.logs()
    );
    // After the thaw the one record written before the freeze is intact.
    assert_eq!(proxy.records("w").len(), 1, "{}", proxy.logs());
}

/// The state letter of the main thread of `pid` (`Z` once it called exit; the process is
/// not waited for yet, so it is there until [`Proxy::wait_exit`]).
fn main_thread_state(pid: i32) -> char {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rsplit(") ")
        .next()
        .and_then(|rest| rest.chars().next())
        .unwrap_or('?')
}

/// The state letters of every thread of `pid` (R, S, D, Z, ...).
fn states(pid: i32) -> String {
    let mut out = String::new();
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.flatten() {
            let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
            let state = stat.rsplit(") ").next().and_then(|r| r.split(' ').next());
            out.push_str(state.unwrap_or("?"));
        }
    }
    out
}
