//! `config.json`: the workflows to run (§1).
//!
//! [`load`] reads and validates a file; [`parse`] validates text. Validation never stops at
//! the first problem: every error is collected into [`ConfigErrors`], each naming the
//! workflow and the field.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// A validated configuration: workflow id → settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Workflows by id (ids are unique, safe as folder names, ports are unique).
    pub workflows: BTreeMap<String, Workflow>,
}

/// One workflow's validated settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workflow {
    /// The workflow id: 1–64 chars of `[A-Za-z0-9_.-]`, not `.` or `..`.
    pub id: String,
    /// Normalised upstream base URL: `http(s)://host[:port][/path]`, with no trailing `/` and
    /// no trailing `/v1`, so that `format!("{api_host}{path_and_query}")` is the upstream URL.
    pub api_host: String,
    /// The upstream key, already resolved from `env:NAME`; `None` when empty or absent.
    pub api_key: Option<ApiKey>,
    /// Bind address: `HOST` (or the `--host` default) and `PORT`.
    pub addr: SocketAddr,
    /// `TIMEOUT_SECONDS`: time to response headers, and longest silence between chunks.
    pub timeout: Duration,
}

/// An upstream key. Its `Debug` and `Display` never show the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a secret.
    pub fn new(secret: String) -> Self {
        ApiKey(secret)
    }
    /// The secret itself, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Default `TIMEOUT_SECONDS`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// The seed's two-workflow example, printed when the config file is missing.
pub const EXAMPLE: &str = include_str!("../../config.json.example");

/// Options that come from the command line rather than the file.
#[derive(Debug, Clone, Copy)]
pub struct LoadOptions {
    /// Bind address for workflows without `HOST` (`--host`).
    pub default_host: IpAddr,
}
