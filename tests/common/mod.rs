//! Test harness: a fake upstream (an axum server standing in for OpenAI/Ollama) and the real
//! `micromodel` binary started on free ports with a temporary config and data folder.

#![allow(dead_code)]

pub mod dialects;
pub mod eventually;
pub mod seaweed;
pub mod upstream;

use std::io::Read;
use std::net::TcpListener as StdListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use serde_json::Value;

#[allow(unused_imports)]
pub use eventually::{check, eventually, eventually_async, lazily};
#[allow(unused_imports)]
pub use upstream::{FakeUpstream, Seen};

/// A port nobody listens on right now (bound then released).
pub fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .expect("bind port 0")
        .local_addr()
        .expect("local addr")
        .port()
}

/// The real binary, running.
pub struct Proxy {
    child: Option<Child>,
    /// Temporary folder holding config.json, data/ and the log file.
    pub dir: tempfile::TempDir,
    /// The data folder given with `--data-dir`.
    pub data_dir: PathBuf,
    /// The config file.
    pub config_path: PathBuf,
    log_path: PathBuf,
}

/// The environment variables the upstream client reads for proxies.
const PROXY_VARS: [&str; 8] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
];

impl Proxy {
    /// Writes `config` to a temporary config.json and starts `micromodel serve` on it.
    /// Waits until every workflow's port answers `/health`.
    pub fn start(config: &Value, extra_args: &[&str]) -> Proxy {
        Self::start_with_env(config, extra_args, &[])
    }

    /// Like [`Proxy::start`], with extra environment variables.
    pub fn start_with_env(config: &Value, extra_args: &[&str], env: &[(&str, &str)]) -> Proxy {
        let dir = tempfile::tempdir().expect("tempdir");
        let data_dir = dir.path().join("data");
        Self::start_in(dir, data_dir, config, extra_args, env)
    }

    /// Starts with a given data folder (e.g. a mounted tmpfs).
    pub fn start_in(
        dir: tempfile::TempDir,
        data_dir: PathBuf,
        config: &Value,
        extra_args: &[&str],
        env: &[(&str, &str)],
    ) -> Proxy {
        let config_path = dir.path().join("config.json");
        std::fs::write(
            &config_path,
            serde_json::to_vec_pretty(config).expect("json"),
        )
        .expect("write config");
        let ports = ports_of(config);
        Self::launch(dir, config_path, data_dir, &ports, extra_args, env)
    }

    /// Starts on an existing config file and waits for `ports` to open.
    pub fn launch(
        dir: tempfile::TempDir,
        config_path: PathBuf,
        data_dir: PathBuf,
        ports: &[u16],
        extra_args: &[&str],
        env: &[(&str, &str)],
    ) -> Proxy {
        let log_path = dir.path().join("micromodel.log");
        let log = std::fs::File::create(&log_path).expect("log file");
        let mut command = Command::new(env!("CARGO_BIN_EXE_micromodel"));
        command
            .arg("serve")
            .arg("--config")
            .arg(&config_path)
            .arg("--data-dir")
            .arg(&data_dir)
            .args(extra_args)
            .env("RUST_LOG", "micromodel=debug,info")
            .stdout(Stdio::null())
            .stderr(log);
        // The machine's proxy settings must not reroute the test's loopback traffic; tests
        // of proxying set their own.
        for var in PROXY_VARS {
            command.env_remove(var);
        }
        for (k, v) in env {
            command.env(k, v);
        }
        let child = command.spawn().expect("spawn micromodel");
        let mut proxy = Proxy {
            child: Some(child),
            dir,
            data_dir,
            config_path,
            log_path,
        };
        for port in ports {
            proxy.wait_for_port(*port);
        }
        proxy
    }

    fn wait_for_port(&mut self, port: u16) {
        let (child, log_path) = (&mut self.child, &self.log_path);
        eventually(
            Duration::from_secs(20),
            format_args!("port {port} to open"),
            || {
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Ok(());
                }
                if let Some(status) = child.as_mut().and_then(|c| c.try_wait().expect("try_wait")) {
                    panic!(
                        "micromodel exited early with {status}:\n{}",
                        read_log(log_path)
                    );
                }
                Err(lazily(|| {
                    format!("nothing listens; the log:\n{}", read_log(log_path))
                }))
            },
        );
    }

    /// `http://127.0.0.1:<port>`
    pub fn url(port: u16) -> String {
        format!("http://127.0.0.1:{port}")
    }

    /// The process id.
    pub fn pid(&self) -> i32 {
        self.child.as_ref().expect("running").id() as i32
    }

    /// Sends a signal to the process.
    pub fn signal(&self, signal: i32) {
        send_signal(self.pid(), signal);
    }

    /// SIGTERM, then wait for the exit (at most 60 s).
    pub fn stop(&mut self) -> ExitStatus {
        self.signal(libc::SIGTERM);
        self.wait_exit(Duration::from_secs(60))
    }

    /// Waits for the process to exit.
    pub fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let (child, log_path) = (&mut self.child, &self.log_path);
        let running = child.as_mut().expect("running");
        let status = eventually(limit, "micromodel to exit", || {
            running.try_wait().expect("try_wait").ok_or_else(|| {
                lazily(|| format!("still running; the log:\n{}", read_log(log_path)))
            })
        });
        self.child = None;
        status
    }

    /// Everything the process logged so far.
    pub fn logs(&self) -> String {
        read_log(&self.log_path)
    }

    /// Every record line under `<data>/<workflow>/`, parsed, in file order.
    pub fn records(&self, workflow: &str) -> Vec<Value> {
        read_records(&self.data_dir.join(workflow))
    }

    /// Polls until `workflow` has `n` records (at most 10 s), then returns them.
    pub fn wait_records(&self, workflow: &str, n: usize) -> Vec<Value> {
        let records = eventually(
            Duration::from_secs(10),
            format_args!("{n} records for {workflow}"),
            || {
                let records = self.records(workflow);
                if records.len() >= n {
                    Ok(records)
                } else {
                    let count = records.len();
                    Err(lazily(move || {
                        format!("{count} records; the log:\n{}", self.logs())
                    }))
                }
            },
        );
        assert_eq!(records.len(), n, "more records than expected");
        records
    }
}

/// The text of a log file (empty when it cannot be read).
fn read_log(path: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut file) = std::fs::File::open(path) {
        let _ = file.read_to_string(&mut text);
    }
    text
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The `PORT`s of a config.
pub fn ports_of(config: &Value) -> Vec<u16> {
    config
        .as_object()
        .expect("config object")
        .values()
        .filter_map(|w| w["PORT"].as_u64())
        .map(|p| p as u16)
        .collect()
}

/// Every line of every data.jsonl under `dir` (any depth), parsed. Panics on a bad line.
pub fn read_records(dir: &Path) -> Vec<Value> {
    raw_lines(dir)
        .into_iter()
        .map(|line| {
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("bad record line {line:?}: {e}"))
        })
        .collect()
}

/// Every line of every data.jsonl under `dir`, as text.
pub fn raw_lines(dir: &Path) -> Vec<String> {
    let mut files = Vec::new();
    collect_files(dir, &mut files);
    files.sort();
    let mut lines = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read data file");
        lines.extend(text.lines().map(str::to_owned));
    }
    lines
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_files(&path, out);
        } else if path.file_name().is_some_and(|n| n == "data.jsonl") {
            out.push(path);
        }
    }
}

/// An async HTTP client for tests (no proxy from the environment, generous timeout).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client")
}

/// A one-workflow config pointing at `upstream`.
pub fn one_workflow(id: &str, upstream: &str, port: u16, key: &str) -> Value {
    serde_json::json!({ id: { "OPENAI_API_HOST": upstream, "API_KEY": key, "PORT": port } })
}

/// The top-level keys of a JSON object text, in the order written
/// (`serde_json::Value` sorts them, so it cannot check key order).
pub fn keys_in_order(json: &str) -> Vec<String> {
    struct Keys;
    impl<'de> serde::de::Visitor<'de> for Keys {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Vec<String>, A::Error> {
            let mut keys = Vec::new();
            while let Some(key) = map.next_key::<String>()? {
                map.next_value::<serde::de::IgnoredAny>()?;
                keys.push(key);
            }
            Ok(keys)
        }
    }
    serde::Deserializer::deserialize_map(&mut serde_json::Deserializer::from_str(json), Keys)
        .expect("a JSON object")
}

impl Proxy {
    /// Polls the log until `needle` occurs at least `count` times (at most 15 s).
    pub fn wait_log(&self, needle: &str, count: usize) {
        eventually(
            Duration::from_secs(15),
            format_args!("{count} x {needle:?} in the log"),
            || {
                let logs = self.logs();
                check(logs.matches(needle).count() >= count, || logs)
            },
        );
    }

    /// Overwrites config.json in place.
    pub fn write_config(&self, config: &Value) {
        std::fs::write(
            &self.config_path,
            serde_json::to_vec_pretty(config).expect("json"),
        )
        .expect("write config");
    }
}

/// Sends `signal` (a `libc::SIG*` number) to process `pid`, without `unsafe` (rustix).
pub fn send_signal(pid: i32, signal: i32) {
    let pid = rustix::process::Pid::from_raw(pid).expect("a child's pid is positive");
    let signal = rustix::process::Signal::from_named_raw(signal).expect("a named signal");
    rustix::process::kill_process(pid, signal).expect("kill failed");
}
