//! The recorder (SPEC §4): one shared writer task appends every record line to
//! `<data_dir>/<workflow_id>/<DD-MM-YYYY>/data.jsonl`.
//!
//! - [`Recorder::submit`] never waits: it `try_send`s into a bounded queue; when the queue is
//!   full (or closed) the record is dropped, counted and logged (rate-limited).
//! - The writer batches records, groups them by file and appends each file's lines with one
//!   `write_all` on an append-mode handle, so lines are never interleaved or torn, even between
//!   processes sharing a data folder. All file IO runs on blocking threads.
//! - A failed write is truncated back (no partial line) and retried with backoff while new
//!   records wait in the queue. On start, torn last lines left by a crash are cut off.
//! - [`RecorderHandle::finish`] waits for the drain (after every [`Recorder`] is dropped) and
//!   the final fsync.
//!
//! Submodules: `batch` (one write attempt), `files` (paths, open-handle cache, fsync),
//! `repair` (torn-line repair), `stats` (counters, log rate limiting), `writer` (the task).

mod batch;
mod files;
mod repair;
mod stats;
mod writer;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{error, warn};

pub use repair::repair_torn_tail;
pub(crate) use stats::{LogLimiter, LOG_EVERY};

use stats::Shared;

/// When the writer calls `fsync` on the data files it wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum FsyncPolicy {
    /// Sync dirty files at most every second (at most ~1 s of records at risk on power loss).
    #[default]
    Interval,
    /// Sync after every batch.
    Always,
    /// Never sync while running (only once at shutdown); the OS decides.
    Never,
}

/// Settings of [`start`].
#[derive(Debug, Clone)]
pub struct RecorderOptions {
    /// Root folder of the records (created if missing).
    pub data_dir: PathBuf,
    /// Durability policy.
    pub fsync: FsyncPolicy,
    /// Capacity of the bounded queue between submitters and the writer (at least 1).
    pub queue_records: usize,
}

/// One record to append: a JSON object filed under a workflow and a day.
#[derive(Debug)]
pub struct RecordLine {
    /// Workflow folder name; already validated as a safe folder name.
    pub workflow_id: String,
    /// When the answer completed; its UTC date picks the `DD-MM-YYYY` folder.
    pub timestamp: DateTime<Utc>,
    /// One JSON object, without a trailing newline.
    pub json: String,
}

/// A snapshot of the recorder's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecorderStats {
    /// Lines appended to data files.
    pub written: u64,
    /// Records dropped because the queue was full.
    pub dropped_full: u64,
    /// Records dropped because the writer had stopped.
    pub dropped_closed: u64,
    /// Batch write attempts that failed (each retry counts).
    pub failed_writes: u64,
    /// Records waiting in the queue (not counting a batch the writer holds).
    pub queue_depth: usize,
}

/// Cheap, cloneable submit side of the recorder. The writer drains and stops once every clone
/// is dropped.
#[derive(Clone)]
pub struct Recorder {
    tx: mpsc::Sender<RecordLine>,
    shared: Arc<Shared>,
    data_dir: Arc<PathBuf>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("data_dir", &self.data_dir)
            .field("stats", &self.stats())
            .finish()
    }
}

impl Recorder {
    /// Queues a record without ever waiting. A full queue drops it (counted, warned at most
    /// once per 10 s with the total); a stopped writer drops it too (counted, warned likewise).
    pub fn submit(&self, line: RecordLine) {
        match self.tx.try_send(line) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                let dropped_full = Shared::add(&self.shared.dropped_full, 1);
                metrics::counter!(crate::telemetry::RECORDS_DROPPED, "reason" => "queue_full")
                    .increment(1);
                if self.shared.full_log.allow() {
                    warn!(
                        dropped_full,
                        queue_records = self.tx.max_capacity(),
                        "recorder queue full; dropping records"
                    );
                }
            }
            Err(TrySendError::Closed(_)) => {
                let dropped_closed = Shared::add(&self.shared.dropped_closed, 1);
                metrics::counter!(crate::telemetry::RECORDS_DROPPED, "reason" => "recorder_stopped")
                    .increment(1);
                if self.shared.closed_log.allow() {
                    warn!(dropped_closed, "recorder stopped; dropping records");
                }
            }
        }
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> RecorderStats {
        RecorderStats {
            written: Shared::get(&self.shared.written),
            dropped_full: Shared::get(&self.shared.dropped_full),
            dropped_closed: Shared::get(&self.shared.dropped_closed),
            failed_writes: Shared::get(&self.shared.failed_writes),
            queue_depth: self.tx.max_capacity() - self.tx.capacity(),
        }
    }

    /// The root folder records are written under.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }
}

/// Owner's handle on the writer task, used to wait for the final drain and sync.
#[derive(Debug)]
pub struct RecorderHandle {
    join: JoinHandle<bool>,
    give_up: CancellationToken,
}

impl RecorderHandle {
    /// Waits until the writer has drained the queue (which happens once every [`Recorder`]
    /// clone is dropped) and synced every file. Returns true when everything was written.
    ///
    /// If that takes longer than `limit` (a write keeps failing, or a `Recorder` is still
    /// alive), the writer is told to give up: it stops receiving, makes one last attempt, syncs
    /// and logs how many records are lost. Then this returns false.
    pub async fn finish(self, limit: Duration) -> bool {
        let mut join = self.join;
        match tokio::time::timeout(limit, &mut join).await {
            Ok(Ok(clean)) => return clean,
            Ok(Err(e)) => {
                error!(error = %e, "recorder writer task failed");
                return false;
            }
            Err(_) => {
                error!(
                    limit_ms = limit.as_millis() as u64,
                    "recorder did not drain in time; telling it to give up"
                );
                self.give_up.cancel();
            }
        }
        let grace = limit.clamp(Duration::from_secs(1), Duration::from_secs(5));
        match tokio::time::timeout(grace, &mut join).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => error!(error = %e, "recorder writer task failed"),
            Err(_) => {
                error!(
                    grace_ms = grace.as_millis() as u64,
                    "recorder writer did not stop after giving up; abandoning it"
                );
                join.abort();
            }
        }
        false
    }
}

/// Starts the recorder: creates `data_dir`, cuts torn last lines of every existing
/// `<data_dir>/<workflow>/<date>/data.jsonl` (warning with path and bytes cut), and spawns the
/// writer task.
///
/// Must be called inside a tokio runtime (an error otherwise). The start-up repair runs on the
/// calling thread.
pub fn start(opts: RecorderOptions) -> io::Result<(Recorder, RecorderHandle)> {
    let runtime = tokio::runtime::Handle::try_current().map_err(io::Error::other)?;
    std::fs::create_dir_all(&opts.data_dir)?;
    repair::repair_data_dir(&opts.data_dir)?;
    let (tx, rx) = mpsc::channel(opts.queue_records.max(1));
    let shared = Arc::new(Shared::new());
    let data_dir = Arc::new(opts.data_dir);
    let give_up = CancellationToken::new();
    let writer = writer::Writer::new(
        rx,
        Arc::clone(&shared),
        Arc::clone(&data_dir),
        opts.fsync,
        give_up.clone(),
    );
    let join = runtime.spawn(writer.run());
    Ok((
        Recorder {
            tx,
            shared,
            data_dir,
        },
        RecorderHandle { join, give_up },
    ))
}
