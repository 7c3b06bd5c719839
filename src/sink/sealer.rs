//! The sealer task: seals segments as they fill up (sent by the writer) or age out (checked
//! every second), hands them to the uploader, runs `--local-retention-days` hourly, and at the
//! stop seals every open segment.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{interval, Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use tracing::{error, info};

use super::spool::Spool;
use super::staged::{Ready, Sealed};
use super::{retention, seal};
use crate::layout::Compression;
use crate::recorder::{LogLimiter, LOG_EVERY};

/// How often open segments are checked for `--sink-segment-seconds`.
const TICK: Duration = Duration::from_secs(1);
/// How often `--local-retention-days` looks for old day folders.
const RETENTION_EVERY: Duration = Duration::from_secs(3600);

/// The sealer's state.
pub(crate) struct Sealer {
    /// The spool (open segments, byte accounting).
    pub spool: Arc<Spool>,
    /// Segments the writer filled up.
    pub ready_rx: mpsc::UnboundedReceiver<Ready>,
    /// To the uploader; dropped when the sealer ends, which tells the uploader no more come.
    pub sealed_tx: mpsc::UnboundedSender<Sealed>,
    /// `--sink-compression`.
    pub compression: Compression,
    /// Cancelled at the stop: seal everything open, then end.
    pub stopping: CancellationToken,
    /// Cancelled when the stop budget is spent: end now.
    pub give_up: CancellationToken,
    /// `--data-dir` and `--local-retention-days`, when set.
    pub retention: Option<(PathBuf, u32)>,
}

impl Sealer {
    /// Seals `leftovers` (open segments a previous run left), then works until the stop.
    pub(crate) async fn run(mut self, leftovers: Vec<Ready>) {
        let log = LogLimiter::new(LOG_EVERY);
        let mut retry = Vec::new();
        for ready in leftovers {
            self.seal_one(ready, &mut retry, &log).await;
        }
        let mut tick = interval(TICK);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut retention_at = Instant::now();
        loop {
            tokio::select! {
                biased;
                _ = self.stopping.cancelled() => break,
                got = self.ready_rx.recv() => {
                    if let Some(ready) = got {
                        self.seal_one(ready, &mut retry, &log).await;
                    }
                }
                _ = tick.tick() => {
                    let mut due = std::mem::take(&mut retry);
                    due.extend(self.spool.take_due(std::time::Instant::now()));
                    for ready in due {
                        self.seal_one(ready, &mut retry, &log).await;
                    }
                    if Instant::now() >= retention_at {
                        retention_at = Instant::now() + RETENTION_EVERY;
                        self.retention_pass().await;
                    }
                }
            }
        }
        let mut rest = std::mem::take(&mut retry);
        while let Ok(ready) = self.ready_rx.try_recv() {
            rest.push(ready);
        }
        rest.extend(self.spool.take_all());
        for ready in rest {
            if self.give_up.is_cancelled() {
                break;
            }
            self.seal_one(ready, &mut retry, &log).await;
        }
    }

    /// Seals one segment on a blocking thread and hands it to the uploader; a failure keeps
    /// it for the next tick (it stays in `open/` meanwhile, and across restarts).
    async fn seal_one(&mut self, ready: Ready, retry: &mut Vec<Ready>, log: &LogLimiter) {
        let sealed_dir = self.spool.sealed_dir.clone();
        let compression = self.compression;
        let mode = self.spool.mode;
        let job = ready.clone();
        let done =
            tokio::task::spawn_blocking(move || seal::seal(&job, &sealed_dir, compression, mode))
                .await;
        match done {
            Ok(Ok((sealed, open_len))) => {
                self.spool.add_bytes(sealed.bytes);
                self.spool.sub_bytes(open_len);
                let _ = self.sealed_tx.send(sealed);
            }
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound && !ready.path.exists() => {
                error!(path = %ready.path.display(), "an open segment vanished from the spool before it was sealed");
            }
            Ok(Err(e)) => {
                if log.allow() {
                    error!(path = %ready.path.display(), error = %e, "cannot seal a segment; retrying");
                }
                retry.push(ready);
            }
            Err(e) => {
                error!(path = %ready.path.display(), error = %e, "the seal task failed; retrying");
                retry.push(ready);
            }
        }
    }

    async fn retention_pass(&self) {
        let Some((data_dir, days)) = self.retention.clone() else {
            return;
        };
        let today = chrono::Utc::now().date_naive();
        let pass =
            tokio::task::spawn_blocking(move || retention::run(&data_dir, days, today)).await;
        if let Ok(pass) = pass {
            if pass.deleted > 0 || pass.kept > 0 {
                info!(
                    deleted = pass.deleted,
                    kept_not_shipped = pass.kept,
                    days,
                    "local retention pass"
                );
            }
        }
    }
}
