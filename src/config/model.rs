//! The validated config: what [`parse`](super::parse) returns (its limits are in
//! [`super::limits`]).

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use super::client_keys::ClientKeys;
pub use super::recording::RecordMode;
use crate::trust::redact::Redactor;

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
    /// `CLIENT_KEYS`: the callers let in (digests only); `None`: the workflow is open.
    pub client_keys: Option<ClientKeys>,
    /// `RECORD`: all (default), none, or a sampled fraction of the answers.
    pub record: RecordMode,
    /// `RESPECT_STORE`: an explicit `"store": false` in a request skips its record.
    pub respect_store: bool,
    /// `REDACT`: what is masked in this workflow's records, compiled once per load; `None`
    /// when nothing is.
    pub redact: Option<Arc<Redactor>>,
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

/// Options that come from the command line rather than the file.
#[derive(Debug, Clone, Copy)]
pub struct LoadOptions {
    /// Bind address for workflows without `HOST` (`--host`).
    pub default_host: IpAddr,
    /// `--require-client-keys`: a workflow bound to a non-loopback address without
    /// `CLIENT_KEYS` is a config error.
    pub require_client_keys: bool,
}

impl Default for LoadOptions {
    /// `--host` defaults to `127.0.0.1`.
    fn default() -> Self {
        LoadOptions {
            default_host: IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
            require_client_keys: false,
        }
    }
}
