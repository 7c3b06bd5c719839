//! The harness of tests/demo.rs: `micromodel demo` started on a free port in a temporary
//! folder, its banner read from stdout, and small helpers.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{client, eventually};

/// Longest wait for the demo's banner.
pub const START: Duration = Duration::from_secs(30);

/// A running `micromodel demo` and what its banner said.
pub struct Demo {
    child: Option<Child>,
    /// The temporary folder: the log, the config and the data.
    pub dir: tempfile::TempDir,
    /// `--data-dir`.
    pub data_dir: PathBuf,
    /// `--config`.
    pub config: PathBuf,
    /// The banner, as printed.
    pub banner: String,
    /// `http://127.0.0.1:<port>` from the banner.
    pub base: String,
    /// The data file the banner names.
    pub record_file: PathBuf,
}

impl Demo {
    pub fn start(extra: &[&str]) -> Demo {
        Self::start_in(tempfile::tempdir().expect("tempdir"), extra)
    }

    pub fn start_in(dir: tempfile::TempDir, extra: &[&str]) -> Demo {
        let data_dir = dir.path().join("data");
        let config = dir.path().join("demo-config.json");
        let mut child = demo_command(dir.path(), &data_dir, &config, extra)
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn micromodel demo");
        let stdout = child.stdout.take().expect("stdout");
        let (lines_tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + START;
        let mut banner = String::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = lines.recv_timeout(left).unwrap_or_else(|_| {
                panic!(
                    "no complete banner:\n{banner}\n{}",
                    log(dir.path()).unwrap_or_default()
                )
            });
            banner.push_str(&line);
            banner.push('\n');
            if line.starts_with("Stop with Ctrl-C.") {
                break;
            }
        }
        let base = after(&banner, "MicroModel demo is ready on ")
            .split(' ')
            .next()
            .expect("address")
            .to_owned();
        let record_file = PathBuf::from(after(&banner, "Records go to: "));
        Demo {
            child: Some(child),
            dir,
            data_dir,
            config,
            banner,
            base,
            record_file,
        }
    }

    /// The line of the banner that starts (after its indent) with `prefix`.
    pub fn line(&self, prefix: &str) -> String {
        self.banner
            .lines()
            .map(str::trim_start)
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} line in:\n{}", self.banner))
            .to_owned()
    }

    /// The indented block of the banner under the line that contains `first`.
    pub fn block(&self, first: &str) -> String {
        let lines = self
            .banner
            .lines()
            .skip_while(|l| !l.contains(first))
            .skip(1)
            .skip_while(|l| l.is_empty());
        let mut block = String::new();
        for line in lines {
            let Some(text) = line.strip_prefix("    ") else {
                break;
            };
            block.push_str(text);
            block.push('\n');
        }
        block
    }

    /// Polls until the printed data file has `n` records (at most 10 s).
    pub fn wait_records(&self, n: usize) -> Vec<Value> {
        let what = format!("{n} records in {}", self.record_file.display());
        let records = eventually(Duration::from_secs(10), what, || {
            let records = records_of(&self.record_file);
            if records.len() >= n {
                Ok(records)
            } else {
                Err(format!("{} records:\n{}", records.len(), self.logs()))
            }
        });
        assert_eq!(records.len(), n, "more records than expected");
        records
    }

    pub fn logs(&self) -> String {
        log(self.dir.path()).unwrap_or_default()
    }

    /// SIGTERM, then the exit status (at most 60 s).
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        let pid = rustix::process::Pid::from_raw(child.id() as i32).expect("a positive pid");
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("kill failed");
        eventually(Duration::from_secs(60), "the demo to stop", || {
            child.try_wait().expect("try_wait").ok_or("still running")
        })
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub fn demo_command(dir: &Path, data_dir: &Path, config: &Path, extra: &[&str]) -> Command {
    let log = std::fs::File::create(dir.join("micromodel.log")).expect("log file");
    let mut command = Command::new(env!("CARGO_BIN_EXE_micromodel"));
    command
        .arg("demo")
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--config")
        .arg(config)
        .args(if extra.contains(&"--port") {
            &[][..]
        } else {
            &["--port", "0"][..]
        })
        .args(extra)
        .current_dir(dir)
        .env("RUST_LOG", "micromodel=debug,info")
        .stderr(log);
    for var in ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"] {
        command.env_remove(var);
    }
    for var in ["ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"] {
        command.env_remove(var);
    }
    command
}

pub fn log(dir: &Path) -> Option<String> {
    std::fs::read_to_string(dir.join("micromodel.log")).ok()
}

pub fn after<'a>(text: &'a str, prefix: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} in:\n{text}"))
}

pub fn records_of(file: &Path) -> Vec<Value> {
    match std::fs::read_to_string(file) {
        Ok(text) => text
            .lines()
            .map(|l| serde_json::from_str(l).expect("record JSON"))
            .collect(),
        Err(_) => Vec::new(),
    }
}

pub async fn post(base: &str, path: &str, body: &Value) -> (u16, String) {
    let response = client()
        .post(format!("{base}{path}"))
        .json(body)
        .send()
        .await
        .expect("send");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

/// The JSON chunks of an SSE answer; the last event must be `[DONE]`.
pub fn chunks(sse: &str) -> Vec<Value> {
    let data: Vec<&str> = sse
        .split("\n\n")
        .filter_map(|e| e.trim().strip_prefix("data: "))
        .collect();
    assert_eq!(data.last(), Some(&"[DONE]"), "{sse}");
    data[..data.len() - 1]
        .iter()
        .map(|d| serde_json::from_str(d).expect("chunk JSON"))
        .collect()
}

pub fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_micromodel"))
        .args(args)
        .output()
        .expect("run micromodel")
}
