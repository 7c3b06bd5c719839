//! What the recorder's integration tests share: recorder options, record lines at fixed
//! times, reading a day file back (every line checked complete), waiting on the recorder's
//! stats, and ways to make writes fail (a workflow folder blocked by a file, a full tmpfs).

#![allow(dead_code)]

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use micromodel::recorder::{FsyncPolicy, RecordLine, Recorder, RecorderOptions, RecorderStats};
use serde_json::Value;

pub const FINISH: Duration = Duration::from_secs(10);

pub fn opts(data_dir: &Path, fsync: FsyncPolicy, queue_records: usize) -> RecorderOptions {
    RecorderOptions {
        data_dir: data_dir.to_path_buf(),
        fsync,
        queue_records,
        mode: Default::default(),
    }
}

pub fn ts(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .expect("valid timestamp")
        .with_timezone(&Utc)
}

pub fn noon() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 8, 24, 12, 0, 0)
        .single()
        .expect("valid date")
}

pub fn line(workflow_id: &str, timestamp: DateTime<Utc>, value: Value) -> RecordLine {
    RecordLine {
        workflow_id: workflow_id.to_string(),
        timestamp,
        json: value.to_string(),
    }
}

pub fn data_file(dir: &Path, wf: &str, date: &str) -> PathBuf {
    dir.join(wf).join(date).join("data.jsonl")
}

/// Every line of the file, each checked to be complete (newline-terminated) valid JSON.
pub fn read_lines(path: &Path) -> Vec<Value> {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "{} ends with a partial line",
        path.display()
    );
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad line {l:?}: {e}")))
        .collect()
}

/// Waits (at most [`FINISH`]) until the recorder's stats satisfy `done`; panics naming `what`
/// and the last stats seen.
pub async fn wait_stats(recorder: &Recorder, what: &str, done: impl Fn(&RecorderStats) -> bool) {
    crate::common::eventually_async(FINISH, what, || {
        let s = stats(recorder);
        std::future::ready(crate::common::check(done(&s), || format!("{s:?}")))
    })
    .await
}

pub fn stats(r: &Recorder) -> RecorderStats {
    r.stats()
}

/// Makes `<data_dir>/<wf>` a regular file, so creating its date folder fails even for root.
pub fn block_workflow(data_dir: &Path, wf: &str) -> PathBuf {
    let blocker = data_dir.join(wf);
    fs::write(&blocker, "not a folder").expect("write blocker");
    blocker
}

/// Unmounts on drop, so a failing assertion does not leave the tmpfs mounted.
pub struct Mounted(PathBuf);

impl Mounted {
    pub fn tmpfs(path: &Path, size: &str) -> Option<Self> {
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        ok.then(|| Mounted(path.to_path_buf()))
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let unmounted = Command::new("umount")
            .arg(&self.0)
            .status()
            .is_ok_and(|s| s.success());
        if !unmounted {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
}

/// Writes 4 KiB chunks until the filesystem is full.
pub fn fill_disk(path: &Path) {
    let mut f = fs::File::create(path).expect("create filler");
    let chunk = vec![b'x'; 4096];
    loop {
        if let Err(e) = f.write_all(&chunk) {
            assert_eq!(e.raw_os_error(), Some(libc::ENOSPC), "{e}");
            return;
        }
    }
}
