//! Upstream failures in the log: one `warn` line per failure, with the workflow, the kind of
//! failure, the upstream host (`scheme://host:port`, never a key or path), the status the
//! client got and the cause, rate-limited per workflow and kind: a dead upstream logs its
//! first failure, then at most one line per `--upstream-log-seconds`, which says in
//! `suppressed` how many of the same failures were not logged since the previous one.

use std::collections::HashMap;
use std::error::Error as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use axum::http::StatusCode;

use crate::config::Workflow;

/// What went wrong with the upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// The connection was refused (nothing listens there).
    Refused,
    /// The TLS handshake failed (certificate, protocol).
    Tls,
    /// Any other connection failure (DNS, unreachable, connect timeout, proxy).
    Connect,
    /// Connected, but the response was broken or the connection closed before the headers.
    BrokenResponse,
    /// No response headers within `TIMEOUT_SECONDS`.
    Timeout,
    /// The answer went silent for longer than `TIMEOUT_SECONDS` after it started.
    IdleTimeout,
    /// The answer's body broke off after the headers.
    BrokenBody,
    /// The upstream URL could not be built.
    InvalidUrl,
}

impl FailureKind {
    /// The `kind` field of the log line.
    pub fn label(self) -> &'static str {
        match self {
            FailureKind::Refused => "refused",
            FailureKind::Tls => "tls",
            FailureKind::Connect => "connect",
            FailureKind::BrokenResponse => "broken_response",
            FailureKind::Timeout => "timeout",
            FailureKind::IdleTimeout => "idle_timeout",
            FailureKind::BrokenBody => "broken_body",
            FailureKind::InvalidUrl => "invalid_url",
        }
    }

    /// The kind of a failed upstream request, from the error and its causes.
    pub fn of(error: &hyper_util::client::legacy::Error) -> Self {
        let mut next = error.source();
        while let Some(cause) = next {
            if cause.is::<rustls::Error>() {
                return FailureKind::Tls;
            }
            next = match cause.downcast_ref::<std::io::Error>() {
                Some(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
                    return FailureKind::Refused;
                }
                // An io::Error's `source()` skips the error it wraps (which may be another
                // io::Error around a rustls::Error): step into it instead.
                Some(io) => io
                    .get_ref()
                    .map(|inner| inner as &(dyn std::error::Error + 'static)),
                None => cause.source(),
            };
        }
        if error.is_connect() {
            FailureKind::Connect
        } else {
            FailureKind::BrokenResponse
        }
    }
}

/// `--upstream-log-seconds`, in milliseconds (set once at start).
static INTERVAL_MS: AtomicU64 = AtomicU64::new(10_000);

/// Sets the least time between two lines for the same workflow and kind.
pub fn set_interval(interval: Duration) {
    let ms = u64::try_from(interval.as_millis()).unwrap_or(u64::MAX);
    INTERVAL_MS.store(ms, Ordering::Relaxed);
}

static LIMITER: LazyLock<RepeatLimiter> = LazyLock::new(RepeatLimiter::default);

/// Logs an upstream failure of `workflow` (rate-limited, see the module docs). `status` is
/// the status the client got (for a failure after the headers: the one already sent);
/// `cause` never contains the key (hyper's errors hold neither URL nor headers).
pub fn upstream_failed(workflow: &Workflow, kind: FailureKind, status: StatusCode, cause: &str) {
    let interval = Duration::from_millis(INTERVAL_MS.load(Ordering::Relaxed));
    let Some(suppressed) = LIMITER.admit(&workflow.id, kind, Instant::now(), interval) else {
        return;
    };
    let message = match kind {
        FailureKind::IdleTimeout | FailureKind::BrokenBody => {
            "Upstream answer broke off; the client's answer is cut."
        }
        _ => "Upstream request failed.",
    };
    tracing::warn!(
        workflow = %workflow.id,
        kind = kind.label(),
        host = %host_of(&workflow.api_host),
        status = status.as_u16(),
        suppressed,
        error = cause,
        "{message}"
    );
}

/// One log line per key and interval, counting the calls in between.
#[derive(Debug, Default)]
pub(crate) struct RepeatLimiter {
    /// Per kind, per workflow: the last line logged and the calls since.
    entries: Mutex<HashMap<FailureKind, HashMap<String, Entry>>>,
}

#[derive(Debug)]
struct Entry {
    /// When the last line was logged.
    last: Instant,
    /// Calls not logged since.
    suppressed: u64,
}

impl RepeatLimiter {
    /// `Some(suppressed since the last line)` when a line may be logged now.
    pub(crate) fn admit(
        &self,
        workflow: &str,
        kind: FailureKind,
        now: Instant,
        interval: Duration,
    ) -> Option<u64> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let per_workflow = entries.entry(kind).or_default();
        match per_workflow.get_mut(workflow) {
            Some(entry) if now.saturating_duration_since(entry.last) < interval => {
                entry.suppressed += 1;
                None
            }
            Some(entry) => {
                entry.last = now;
                Some(std::mem::take(&mut entry.suppressed))
            }
            None => {
                let entry = Entry {
                    last: now,
                    suppressed: 0,
                };
                per_workflow.insert(workflow.to_owned(), entry);
                Some(0)
            }
        }
    }
}

/// `scheme://host:port` of a normalised `OPENAI_API_HOST` (no path; the default port
/// written out; anything before an `@` dropped, although validation refuses credentials).
pub fn host_of(api_host: &str) -> String {
    let (scheme, rest) = api_host.split_once("://").unwrap_or(("http", api_host));
    let authority = rest.split('/').next().unwrap_or_default();
    let authority = authority.rsplit('@').next().unwrap_or_default();
    let has_port = match authority.rfind(']') {
        Some(end) => authority[end..].contains(':'),
        None => authority.contains(':'),
    };
    if has_port {
        format!("{scheme}://{authority}")
    } else {
        let port = if scheme == "https" { 443 } else { 80 };
        format!("{scheme}://{authority}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_is_scheme_host_and_port_only() {
        assert_eq!(
            host_of("https://api.example.com/proxy"),
            "https://api.example.com:443"
        );
        assert_eq!(host_of("http://127.0.0.1:11434"), "http://127.0.0.1:11434");
        assert_eq!(host_of("http://[::1]"), "http://[::1]:80");
        assert_eq!(host_of("http://[::1]:8080/x"), "http://[::1]:8080");
        assert_eq!(host_of("http://user:secret@h:1"), "http://h:1");
    }

    #[test]
    fn limiter_logs_the_first_then_one_per_interval_with_the_count() {
        let limiter = RepeatLimiter::default();
        let start = Instant::now();
        let ten = Duration::from_secs(10);
        let at = |s: u64| start + Duration::from_secs(s);
        assert_eq!(
            limiter.admit("a", FailureKind::Refused, at(0), ten),
            Some(0)
        );
        assert_eq!(limiter.admit("a", FailureKind::Refused, at(1), ten), None);
        assert_eq!(limiter.admit("a", FailureKind::Refused, at(9), ten), None);
        // Another kind or workflow has its own budget.
        assert_eq!(
            limiter.admit("a", FailureKind::Timeout, at(9), ten),
            Some(0)
        );
        assert_eq!(
            limiter.admit("b", FailureKind::Refused, at(9), ten),
            Some(0)
        );
        assert_eq!(
            limiter.admit("a", FailureKind::Refused, at(10), ten),
            Some(2)
        );
        assert_eq!(limiter.admit("a", FailureKind::Refused, at(11), ten), None);
        assert_eq!(
            limiter.admit("a", FailureKind::Refused, at(30), ten),
            Some(1)
        );
        assert_eq!(
            limiter.admit("a", FailureKind::Refused, at(31), Duration::ZERO),
            Some(0)
        );
    }
}
