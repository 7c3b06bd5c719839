//! The one writer task: receives batches, writes them on a blocking thread, retries failed
//! files with backoff (receiving nothing meanwhile, so the bounded queue fills), syncs per
//! policy, and on close drains, syncs and exits.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{sleep, sleep_until, Instant};
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use super::batch::{write_batch, BatchOutcome};
use super::files::FileCache;
use super::line::RecordLine;
use super::settings::FsyncPolicy;
use super::stats::{LogLimiter, Shared, LOG_EVERY};

/// Most records taken from the queue per batch.
pub(crate) const BATCH_RECORDS: usize = 4096;
/// First retry delay after a failed write; doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// How long a small batch waits for more records before it is written (see `coalesce`).
const COALESCE: Duration = Duration::from_millis(2);
/// `interval` policy: dirty files are synced at most this long after their first write.
const SYNC_INTERVAL: Duration = Duration::from_secs(1);

enum Event {
    GiveUp,
    SyncDue,
    Received(usize),
}

/// The writer task's state: the queue it drains, the files it keeps open, and what is left to
/// write or sync.
pub(crate) struct Writer {
    /// The bounded record queue; closed when the last sender (the proxy's `Recorder`) is gone.
    rx: mpsc::Receiver<RecordLine>,
    /// Counters shared with the `Recorder` handle (queued, written, lost) for the stop report.
    shared: Arc<Shared>,
    /// `--data-dir`: the root under which `<workflow>/<day>/data.jsonl` files are written.
    data_dir: Arc<PathBuf>,
    /// `--fsync`: when written files are synced.
    policy: FsyncPolicy,
    /// The open data files, by path. `None` only while lent to a blocking thread.
    cache: Option<FileCache>,
    /// Records received but not yet written (after a failure: the lines of the failed files).
    pending: Vec<RecordLine>,
    /// Cancelled when the stop budget is spent: stop retrying, count what is left as lost.
    give_up: CancellationToken,
    /// `interval` policy: when the dirty files must be synced next (`None`: nothing dirty).
    sync_due: Option<Instant>,
    /// Rate limit of the "write failed" log line, so a full disk cannot flood the log.
    fail_log: LogLimiter,
    /// Failed attempts since the last success.
    failing: u64,
    /// `--sink`: the spool every written line also goes to.
    sink: Option<Arc<crate::sink::Spool>>,
}

impl Writer {
    pub(crate) fn new(
        rx: mpsc::Receiver<RecordLine>,
        shared: Arc<Shared>,
        data_dir: Arc<PathBuf>,
        policy: FsyncPolicy,
        give_up: CancellationToken,
    ) -> Self {
        Self {
            rx,
            shared,
            data_dir,
            policy,
            cache: Some(FileCache::new(policy)),
            pending: Vec::new(),
            give_up,
            sync_due: None,
            fail_log: LogLimiter::new(LOG_EVERY),
            failing: 0,
            sink: None,
        }
    }

    /// Also appends every written line to the sink's spool.
    pub(crate) fn with_sink(mut self, sink: Option<Arc<crate::sink::Spool>>) -> Self {
        self.sink = sink;
        self
    }

    /// Runs until the queue is closed and drained (true) or until told to give up (false).
    pub(crate) async fn run(mut self) -> bool {
        let mut closed = false;
        let mut backoff = FIRST_BACKOFF;
        loop {
            if self.pending.is_empty() {
                if closed {
                    break;
                }
                match self.next_event().await {
                    Event::GiveUp => return self.abandon().await,
                    Event::SyncDue => {
                        self.sync_now().await;
                        continue;
                    }
                    Event::Received(0) => {
                        closed = true;
                        continue;
                    }
                    Event::Received(n) => self.coalesce(n).await,
                }
            }
            let written = self.write_pending().await;
            // What still waits for the disk (the batch in hand is not in the channel).
            metrics::gauge!(crate::telemetry::QUEUE_DEPTH).set(self.rx.len() as f64);
            if written {
                backoff = FIRST_BACKOFF;
            } else {
                tokio::select! {
                    biased;
                    _ = self.give_up.cancelled() => return self.abandon().await,
                    _ = sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
            if self.sync_due.is_some_and(|due| due <= Instant::now()) {
                self.sync_now().await;
            }
        }
        self.close_all().await
    }

    /// Under load, records arrive one by one: waiting [`COALESCE`] after a small batch
    /// gathers the next ones into the same write (one `spawn_blocking` hand-off, one
    /// `write` per file) instead of a write per record. Never delays a full batch, and the
    /// client's answer never waits for this.
    async fn coalesce(&mut self, received: usize) {
        if received >= BATCH_RECORDS / 4 || self.give_up.is_cancelled() {
            return;
        }
        tokio::select! {
            biased;
            _ = self.give_up.cancelled() => {}
            _ = sleep(COALESCE) => {}
        }
        while self.pending.len() < BATCH_RECORDS {
            match self.rx.try_recv() {
                Ok(line) => self.pending.push(line),
                Err(_) => break,
            }
        }
    }

    async fn next_event(&mut self) -> Event {
        let sync_at = self.sync_due;
        tokio::select! {
            biased;
            _ = self.give_up.cancelled() => Event::GiveUp,
            n = self.rx.recv_many(&mut self.pending, BATCH_RECORDS) => Event::Received(n),
            _ = sleep_until(sync_at.unwrap_or_else(Instant::now)), if sync_at.is_some() => Event::SyncDue,
        }
    }

    /// Runs `f` on the file cache on a blocking thread. `None` if it panicked (the cache is
    /// then replaced by an empty one).
    async fn blocking<R, F>(&mut self, f: F) -> Option<R>
    where
        F: FnOnce(&mut FileCache) -> R + Send + 'static,
        R: Send + 'static,
    {
        let mut cache = self
            .cache
            .take()
            .unwrap_or_else(|| FileCache::new(self.policy));
        let joined = tokio::task::spawn_blocking(move || {
            let r = f(&mut cache);
            (cache, r)
        })
        .await;
        match joined {
            Ok((cache, r)) => {
                self.cache = Some(cache);
                Some(r)
            }
            Err(error) => {
                error!(%error, "recorder blocking IO task failed");
                self.cache = Some(FileCache::new(self.policy));
                None
            }
        }
    }

    /// One attempt at writing `pending`. True when nothing is left to retry.
    async fn write_pending(&mut self) -> bool {
        let data_dir = Arc::clone(&self.data_dir);
        let policy = self.policy;
        let sink = self.sink.clone();
        let mut pending = std::mem::take(&mut self.pending);
        let count = pending.len();
        let done = self
            .blocking(move |cache| {
                let outcome = write_batch(cache, &data_dir, policy, &mut pending, sink.as_deref());
                (outcome, pending)
            })
            .await;
        let Some((outcome, pending)) = done else {
            error!(lost = count, "recorder lost a batch to a failed IO task");
            return true;
        };
        self.pending = pending;
        self.account(outcome)
    }

    /// Updates counters and logs for one attempt; true when it fully succeeded.
    fn account(&mut self, outcome: BatchOutcome) -> bool {
        Shared::add(&self.shared.written, outcome.written);
        Shared::add(&self.shared.rejected, outcome.rejected);
        for (path, error) in &outcome.sync_failures {
            warn!(path = %path.display(), %error, "cannot fsync data file");
        }
        if outcome.written > 0 && self.policy == FsyncPolicy::Interval && self.sync_due.is_none() {
            self.sync_due = Some(Instant::now() + SYNC_INTERVAL);
        }
        if outcome.failures.is_empty() {
            if self.failing > 0 {
                info!(failed_attempts = self.failing, "recorder writes recovered");
                self.failing = 0;
            }
            return true;
        }
        self.failing += 1;
        let failed_writes = Shared::add(&self.shared.failed_writes, 1);
        if self.fail_log.allow() {
            for (path, error) in &outcome.failures {
                warn!(
                    path = %path.display(),
                    %error,
                    waiting_records = self.pending.len(),
                    failed_writes,
                    "recorder write failed; retrying with backoff"
                );
            }
        }
        false
    }

    async fn sync_now(&mut self) {
        self.sync_due = None;
        let synced = self
            .blocking(|cache| (cache.sync_dirty(), cache.has_dirty()))
            .await;
        if let Some((failures, still_dirty)) = synced {
            for (path, error) in failures {
                warn!(path = %path.display(), %error, "cannot fsync data file");
            }
            if still_dirty && self.policy == FsyncPolicy::Interval {
                self.sync_due = Some(Instant::now() + SYNC_INTERVAL);
            }
        }
    }

    /// Syncs every dirty file and closes all handles. True when every sync succeeded.
    async fn close_all(&mut self) -> bool {
        let Some(failures) = self.blocking(FileCache::close_all).await else {
            return false;
        };
        for (path, error) in &failures {
            error!(path = %path.display(), %error, "cannot fsync data file at shutdown");
        }
        failures.is_empty()
    }

    /// Told to give up: stop receiving, make one last attempt at everything queued, sync, and
    /// log what is lost. Always false.
    async fn abandon(&mut self) -> bool {
        self.rx.close();
        while let Ok(record) = self.rx.try_recv() {
            self.pending.push(record);
        }
        if !self.pending.is_empty() {
            self.write_pending().await;
        }
        self.close_all().await;
        let lost = self.pending.len();
        if lost > 0 {
            error!(lost, "recorder gave up; records not written are lost");
        } else {
            warn!("recorder stopped before its queue was closed; nothing lost");
        }
        false
    }
}
