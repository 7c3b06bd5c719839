//! Running a block: bash in a temporary folder with the built binary first on `PATH`, bounded
//! in time; and `micromodel demo` for the blocks that need it.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[allow(dead_code)]
#[path = "../common/eventually.rs"]
mod eventually;
use eventually::{check, eventually};

/// Longest a block may run.
const BLOCK_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest the demo may take to bind its ports.
const DEMO_START_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest the harness waits for recorded answers to reach the disk before a block.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(10);
/// Environment variables that would change where curl or the binary go.
const CLEARED_ENV: [&str; 8] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
    "MICROMODEL_CONFIG",
    "MICROMODEL_DATA_DIR",
];
/// Runs `script` in `dir`; `Err` with its output when it fails or times out.
pub fn run_script(script: &str, dir: &Path) -> Result<(), String> {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_micromodel"));
    let path = format!(
        "{}:{}",
        bin.parent().expect("the binary has a folder").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = dir.join(".block-output");
    let log = std::fs::File::create(&out).expect("create the block's output file");
    let mut cmd = Command::new("bash");
    cmd.args(["-euo", "pipefail", "-c", script])
        .current_dir(dir)
        .env("PATH", path)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("clone the output file"))
        .stderr(log)
        .process_group(0);
    for var in CLEARED_ENV {
        cmd.env_remove(var);
    }
    let mut child = cmd.spawn().map_err(|e| format!("cannot start bash: {e}"))?;
    let deadline = Instant::now() + BLOCK_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the block") {
            break Some(status);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // Whatever the block left running (or the block itself, on a timeout) goes with its group.
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .stderr(Stdio::null())
        .status();
    let _ = child.wait();
    let output = std::fs::read_to_string(&out).unwrap_or_default();
    match status {
        Some(s) if s.success() => Ok(()),
        Some(s) => Err(format!("exited with {s}; output:\n{output}")),
        None => Err(format!(
            "timed out after {BLOCK_TIMEOUT:?}; output:\n{output}"
        )),
    }
}

/// `micromodel demo` running in its own folder; killed on drop.
pub struct Demo {
    /// The running demo.
    child: Child,
    /// The folder the demo runs in (its `./data`) and the blocks run in.
    pub dir: tempfile::TempDir,
    /// The demo workflow's port (`127.0.0.1:3001` in the docs).
    pub port: u16,
    /// The admin listener's port (`127.0.0.1:9464` in the docs).
    pub admin: u16,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    listener.local_addr().expect("local addr").port()
}

impl Demo {
    pub fn start() -> Demo {
        let dir = tempfile::tempdir().expect("temp dir");
        let (port, admin) = (free_port(), free_port());
        let log = std::fs::File::create(dir.path().join(".demo-log")).expect("demo log");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_micromodel"));
        cmd.args(["demo", "--port", &port.to_string()])
            .args(["--admin-addr", &format!("127.0.0.1:{admin}")])
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone the log"))
            .stderr(log);
        for var in CLEARED_ENV {
            cmd.env_remove(var);
        }
        let child = cmd.spawn().expect("start micromodel demo");
        let mut demo = Demo {
            child,
            dir,
            port,
            admin,
        };
        eventually(DEMO_START_TIMEOUT, "micromodel demo to listen", || {
            let exited = demo.child.try_wait().expect("poll the demo");
            assert!(exited.is_none(), "micromodel demo exited:\n{}", demo.log());
            let up = TcpStream::connect(("127.0.0.1", port)).is_ok()
                && TcpStream::connect(("127.0.0.1", admin)).is_ok();
            check(up, || demo.log())
        });
        demo
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join(".demo-log")).unwrap_or_default()
    }

    /// Waits until every 2xx answer of a recorded endpoint has been written or counted as
    /// dropped, so that the next block sees every record; fails the test at the deadline.
    pub fn settle(&self) {
        let what = "every recorded answer written or dropped";
        eventually(SETTLE_TIMEOUT, what, || {
            let Some(metrics) = http_get(self.admin, "/metrics") else {
                return Err(format!("/metrics does not answer:\n{}", self.log()));
            };
            let (mut answered, mut kept) = (0.0, 0.0);
            for line in metrics.lines().filter(|l| !l.starts_with('#')) {
                let value: f64 = line
                    .rsplit(' ')
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0.0);
                let recorded = line.contains("endpoint=\"/v1/chat/completions\"")
                    || line.contains("endpoint=\"/v1/completions\"");
                if line.starts_with("micromodel_requests_total{")
                    && recorded
                    && line.contains("status=\"2")
                {
                    answered += value;
                }
                if line.starts_with("micromodel_records_written_total")
                    || line.starts_with("micromodel_records_dropped_total")
                {
                    kept += value;
                }
            }
            check(kept >= answered, || {
                format!("{answered} answered, {kept} kept")
            })
        });
    }
}

/// A plain HTTP/1.1 GET; the body, or `None` when the port does not answer.
pub fn http_get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    answer
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
}
