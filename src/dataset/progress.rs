//! A one-line progress display on stderr, only when stderr is a terminal (so logs, pipes and
//! tests stay clean): bytes read of the total, records written, redrawn at most 5 times a
//! second and erased at the end.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

const EVERY: Duration = Duration::from_millis(200);

/// The progress line of one run.
#[derive(Debug)]
pub(crate) struct Progress {
    enabled: bool,
    total: u64,
    last: Instant,
    calls: u32,
}

impl Progress {
    /// A progress line over `total` bytes, drawn only when stderr is a terminal.
    pub(crate) fn new(total: u64) -> Self {
        Progress {
            enabled: std::io::stderr().is_terminal(),
            total,
            last: Instant::now(),
            calls: 0,
        }
    }

    /// Redraws (throttled) with `read` bytes read and `written` records written.
    pub(crate) fn tick(&mut self, read: u64, written: u64) {
        if !self.enabled {
            return;
        }
        self.calls = self.calls.wrapping_add(1);
        if self.calls % 256 != 0 || self.last.elapsed() < EVERY {
            return;
        }
        self.last = Instant::now();
        let percent = if self.total == 0 {
            100.0
        } else {
            read as f64 * 100.0 / self.total as f64
        };
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r{percent:5.1}%  {:.1}/{:.1} MiB read, {written} records written ",
            mib(read),
            mib(self.total)
        );
        let _ = err.flush();
    }

    /// Erases the line.
    pub(crate) fn finish(&self) {
        if self.enabled {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[2K");
        }
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}
