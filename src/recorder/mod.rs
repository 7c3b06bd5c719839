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
//! - [`RecorderHandle::stop`] waits for the drain (after every [`Recorder`] is dropped) and
//!   the final fsync until a deadline, then has the writer make one last attempt, and reports
//!   how many records are lost (counted, so a writer stuck in the kernel cannot hide them).
//!
//! Submodules: `settings` ([`FsyncPolicy`], [`RecorderOptions`]), `mode` ([`DataMode`]:
//! `--data-mode` and the create helpers), `line` ([`RecordLine`]),
//! `batch` (one write attempt), `files` (open-handle cache, fsync; paths come from
//! [`crate::layout`]), `repair` (torn-line repair), `stats` (counters, log rate limiting), `writer` (the task).

mod batch;
mod files;
mod line;
mod mode;
mod repair;
mod settings;
mod stats;
mod writer;

use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{error, warn};

pub use line::RecordLine;
use line::{LineFile, Queued};
pub use mode::{DataMode, DataModeError, DEFAULT_DATA_MODE};
pub use repair::repair_torn_tail;
pub use settings::{FsyncPolicy, RecorderOptions};
pub(crate) use stats::{LogLimiter, LOG_EVERY};

use stats::Shared;

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
    /// The queue into the writer task (bounded by `--queue-records`).
    tx: mpsc::Sender<Queued>,
    /// Counters shared with the writer (accepted, written, dropped, ...).
    shared: Arc<Shared>,
    /// `--data-mode`, for other writers under the data folder.
    mode: DataMode,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("stats", &self.stats())
            .finish()
    }
}

impl Recorder {
    /// Queues a record without ever waiting. A full queue drops it (counted, warned at most
    /// once per 10 s with the total); a stopped writer drops it too (counted, warned likewise).
    pub fn submit(&self, line: RecordLine) {
        self.enqueue(Queued {
            line,
            file: LineFile::Data,
        });
    }

    /// Queues a label line (docs/labels.md) for `labels.jsonl` of the day folder that
    /// `line.workflow_id` and the date of `line.timestamp` name, with the same queue, batching,
    /// retries and fsync policy as records (and the same drops when the queue is full).
    /// False when it was dropped (queue full, writer stopped).
    pub fn submit_label(&self, line: RecordLine) -> bool {
        self.enqueue(Queued {
            line,
            file: LineFile::Labels,
        })
    }

    /// Puts a line in the queue without waiting; counts and logs a drop (then false).
    fn enqueue(&self, queued: Queued) -> bool {
        // Counted before the send, so the writer can never have written more than accepted.
        Shared::add(&self.shared.accepted, 1);
        match self.tx.try_send(queued) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                self.shared
                    .accepted
                    .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
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
                false
            }
            Err(TrySendError::Closed(_)) => {
                self.shared
                    .accepted
                    .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
                let dropped_closed = Shared::add(&self.shared.dropped_closed, 1);
                metrics::counter!(crate::telemetry::RECORDS_DROPPED, "reason" => "recorder_stopped")
                    .increment(1);
                if self.shared.closed_log.allow() {
                    warn!(dropped_closed, "recorder stopped; dropping records");
                }
                false
            }
        }
    }

    /// `--data-mode`: other code that creates files or folders under `--data-dir` (labels, a
    /// spool) creates them through it ([`DataMode::open_append`],
    /// [`DataMode::create_dir_all`], [`DataMode::file_options`]) so the same mode applies.
    pub fn data_mode(&self) -> DataMode {
        self.mode
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
}

/// How long the writer's last attempt may take once the stop budget is spent (or a second
/// signal came): it writes what is queued and syncs. A write stuck in the kernel (a frozen
/// filesystem, a FIFO with no reader) is abandoned after this.
pub const FINAL_ATTEMPT: Duration = Duration::from_secs(2);

/// How a stop of the recorder ended ([`RecorderHandle::stop`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StopReport {
    /// The queue was drained, every line written and every file synced.
    pub clean: bool,
    /// Records accepted into the queue but not written at the end (lost with the process).
    pub lost: u64,
    /// Records dropped earlier because the queue was full (already counted and logged then).
    pub dropped_queue_full: u64,
}

/// Owner's handle on the writer task, used to wait for the final drain and sync.
#[derive(Debug)]
pub struct RecorderHandle {
    /// The writer task; true when it drained everything.
    join: JoinHandle<bool>,
    /// Tells the writer to stop waiting and make its last attempt.
    give_up: CancellationToken,
    /// The counters, to tell what is lost even when the writer is stuck.
    shared: Arc<Shared>,
}

impl RecorderHandle {
    /// Waits until the writer has drained the queue (which happens once every [`Recorder`]
    /// clone is dropped) and synced every file. Returns true when everything was written.
    /// Same as [`RecorderHandle::stop`] with a deadline `limit` from now.
    pub async fn finish(self, limit: Duration) -> bool {
        self.stop(tokio::time::Instant::now() + limit, std::future::pending())
            .await
            .clean
    }

    /// Waits for the drain (as [`RecorderHandle::finish`]) until `deadline` or until
    /// `cut_short` resolves (a second stop signal), whichever comes first. Then the writer is
    /// told to give up: it stops receiving, makes one last attempt at everything queued, syncs
    /// and stops, within [`FINAL_ATTEMPT`]; a writer still stuck after that (a write that never
    /// returns) is abandoned. Returns how many records are lost, counted from the shared
    /// counters, so the count holds even for a stuck writer.
    pub async fn stop(
        self,
        deadline: tokio::time::Instant,
        cut_short: impl std::future::Future<Output = ()>,
    ) -> StopReport {
        let mut join = self.join;
        let waited = tokio::select! {
            joined = &mut join => Some(joined),
            () = tokio::time::sleep_until(deadline) => None,
            () = cut_short => None,
        };
        let clean = match waited {
            Some(Ok(clean)) => clean,
            Some(Err(e)) => {
                error!(error = %e, "recorder writer task failed");
                false
            }
            None => {
                let waiting = self.shared.unwritten();
                warn!(
                    waiting,
                    final_attempt_ms = FINAL_ATTEMPT.as_millis() as u64,
                    "recorder not drained when the stop budget ran out; making a last attempt"
                );
                self.give_up.cancel();
                match tokio::time::timeout(FINAL_ATTEMPT, &mut join).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => error!(error = %e, "recorder writer task failed"),
                    Err(_) => {
                        error!(
                            final_attempt_ms = FINAL_ATTEMPT.as_millis() as u64,
                            "recorder's last attempt did not return (a write is stuck); abandoning it"
                        );
                        join.abort();
                    }
                }
                false
            }
        };
        let lost = self.shared.unwritten();
        StopReport {
            clean: clean && lost == 0,
            lost,
            dropped_queue_full: Shared::get(&self.shared.dropped_full),
        }
    }
}

/// Starts the recorder: creates `data_dir`, cuts torn last lines of every existing
/// `<data_dir>/<workflow>/<date>/data.jsonl` (warning with path and bytes cut), and spawns the
/// writer task.
///
/// Must be called inside a tokio runtime (an error otherwise). The start-up repair runs on the
/// calling thread.
pub fn start(opts: RecorderOptions) -> io::Result<(Recorder, RecorderHandle)> {
    start_with_sink(opts, None)
}

/// [`start`], with every line written also appended to the sink's spool right after its
/// local write (`--sink`, see [`crate::sink`]).
pub fn start_with_sink(
    opts: RecorderOptions,
    sink: Option<Arc<crate::sink::Spool>>,
) -> io::Result<(Recorder, RecorderHandle)> {
    let runtime = tokio::runtime::Handle::try_current().map_err(io::Error::other)?;
    opts.mode.create_dir_all(&opts.data_dir)?;
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
        opts.mode,
        give_up.clone(),
    )
    .with_sink(sink);
    let join = runtime.spawn(writer.run());
    Ok((
        Recorder {
            tx,
            shared: Arc::clone(&shared),
            mode: opts.mode,
        },
        RecorderHandle {
            join,
            give_up,
            shared,
        },
    ))
}
