//! Counting and logging (rate-limited) the answers, or parts of answers, that the capture
//! limits and the record checks keep out of the data (see `docs/capture-limits.md`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::LazyLock;

use tracing::warn;

use crate::record::recordable::Unrecordable;
use crate::recorder::{LogLimiter, LOG_EVERY};
use crate::telemetry::RECORDS_DROPPED;

/// One rate-limited warning and the count of events since the last line it allowed.
struct Limited {
    /// Allows one line per [`LOG_EVERY`].
    limiter: LogLimiter,
    /// Events not logged since the last line.
    suppressed: AtomicU64,
}

impl Limited {
    fn new() -> Self {
        Limited {
            limiter: LogLimiter::new(LOG_EVERY),
            suppressed: AtomicU64::new(0),
        }
    }

    /// `Some(events suppressed before this one)` when this one may be logged.
    fn allow(&self) -> Option<u64> {
        if self.limiter.allow() {
            Some(self.suppressed.swap(0, Ordering::Relaxed))
        } else {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

static TOO_LARGE: LazyLock<Limited> = LazyLock::new(Limited::new);
static UNEXPECTED: LazyLock<Limited> = LazyLock::new(Limited::new);
static UNRECORDABLE: LazyLock<Limited> = LazyLock::new(Limited::new);

/// An answer that did not end normally (`why`: the client left, the upstream's body broke
/// or went idle). Logged every time, not rate-limited: one line per request at most.
pub fn incomplete(workflow: &str, upstream_id: Option<&str>, why: &'static str) {
    metrics::counter!(RECORDS_DROPPED, "reason" => "incomplete").increment(1);
    warn!(
        workflow = %workflow,
        upstream_id = upstream_id.unwrap_or("-"),
        reason = why,
        "Answer did not complete; not recorded."
    );
}

/// An answer whose capture went past `--max-record-bytes` (`what`: which part).
pub fn too_large(workflow: &str, upstream_id: Option<&str>, what: &'static str, limit: usize) {
    metrics::counter!(RECORDS_DROPPED, "reason" => "too_large").increment(1);
    if let Some(suppressed) = TOO_LARGE.allow() {
        warn!(
            workflow,
            upstream_id = upstream_id.unwrap_or("-"),
            part = what,
            limit,
            suppressed,
            "Upstream answer is larger than --max-record-bytes; passed on, not recorded."
        );
    }
}

/// Choices of an answer left out because their `index` is not below the request's `n` ×
/// prompts.
pub fn unexpected_choices(workflow: &str, upstream_id: Option<&str>, count: u64, max: u32) {
    metrics::counter!(RECORDS_DROPPED, "reason" => "unexpected_choice").increment(count);
    if let Some(suppressed) = UNEXPECTED.allow() {
        warn!(
            workflow,
            upstream_id = upstream_id.unwrap_or("-"),
            choices = count,
            expected = max,
            suppressed,
            "Upstream answered with choices the request did not ask for; those are not recorded."
        );
    }
}

/// A record line refused by the record checks.
pub fn unrecordable(workflow: &str, upstream_id: Option<&str>, why: &Unrecordable) {
    metrics::counter!(RECORDS_DROPPED, "reason" => "unrecordable").increment(1);
    if let Some(suppressed) = UNRECORDABLE.allow() {
        warn!(
            workflow,
            upstream_id = upstream_id.unwrap_or("-"),
            reason = why.label(),
            cause = %why,
            suppressed,
            "Record refused: the data tools could not read it back; not recorded."
        );
    }
}
