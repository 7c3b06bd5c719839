//! Shared counters behind [`RecorderStats`](super::RecorderStats) and a lock-free log rate limiter.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How often a repeated warning (queue full, write failing, ...) may be logged.
pub(crate) const LOG_EVERY: Duration = Duration::from_secs(10);

/// Counters shared by every [`Recorder`](super::Recorder) clone and the writer task.
#[derive(Debug)]
pub(crate) struct Shared {
    /// Lines appended to data files (and still at their path right after the write).
    pub written: AtomicU64,
    /// Records dropped by `submit` because the queue was full.
    pub dropped_full: AtomicU64,
    /// Records dropped by `submit` because the writer had stopped.
    pub dropped_closed: AtomicU64,
    /// Batch write attempts that failed.
    pub failed_writes: AtomicU64,
    /// Records taken into the queue; `accepted - written - rejected` is what is not on disk yet.
    pub accepted: AtomicU64,
    /// Records the writer refused as unsafe to write (never written, logged when refused).
    pub rejected: AtomicU64,
    /// Rate limit of the queue-full warning.
    pub full_log: LogLimiter,
    /// Rate limit of the writer-stopped warning.
    pub closed_log: LogLimiter,
}

impl Shared {
    pub(crate) fn new() -> Self {
        Self {
            written: AtomicU64::new(0),
            dropped_full: AtomicU64::new(0),
            dropped_closed: AtomicU64::new(0),
            failed_writes: AtomicU64::new(0),
            accepted: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            full_log: LogLimiter::new(LOG_EVERY),
            closed_log: LogLimiter::new(LOG_EVERY),
        }
    }

    /// Adds `n` to a counter and returns the new total.
    pub(crate) fn add(counter: &AtomicU64, n: u64) -> u64 {
        counter.fetch_add(n, Ordering::Relaxed) + n
    }

    pub(crate) fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    /// Records accepted into the queue that are neither written nor refused: still queued,
    /// in the writer's hands, or lost.
    pub(crate) fn unwritten(&self) -> u64 {
        // `written` and `rejected` first: both only grow after `accepted` did.
        let done = Self::get(&self.written) + Self::get(&self.rejected);
        Self::get(&self.accepted).saturating_sub(done)
    }
}

/// Allows at most one log line per interval, from any number of threads, without locking.
#[derive(Debug)]
pub(crate) struct LogLimiter {
    epoch: Instant,
    interval_ms: u64,
    /// Milliseconds since `epoch` of the last allowed line, or `NEVER`.
    last_ms: AtomicU64,
}

const NEVER: u64 = u64::MAX;

impl LogLimiter {
    pub(crate) fn new(interval: Duration) -> Self {
        Self {
            epoch: Instant::now(),
            interval_ms: u64::try_from(interval.as_millis()).unwrap_or(u64::MAX),
            last_ms: AtomicU64::new(NEVER),
        }
    }

    /// True when the caller may log now (the first call always may).
    pub(crate) fn allow(&self) -> bool {
        let now = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
        let last = self.last_ms.load(Ordering::Relaxed);
        if last != NEVER && now < last.saturating_add(self.interval_ms) {
            return false;
        }
        self.last_ms
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_allows_first_then_waits() {
        let l = LogLimiter::new(Duration::from_secs(10));
        assert!(l.allow());
        assert!(!l.allow());
        let zero = LogLimiter::new(Duration::ZERO);
        assert!(zero.allow());
        assert!(zero.allow());
    }
}
