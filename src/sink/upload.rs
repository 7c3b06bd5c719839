//! The uploader task: PUTs sealed segments, oldest first, one at a time, each at the key its
//! name fixed when it was sealed; removes the local file only after the store said yes.
//! A failure is retried with backoff, without limit (the segment stays in the spool meanwhile);
//! a crash between the PUT and the removal re-uploads the same object under the same key,
//! which overwrites it: no line is ever in the bucket twice.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use object_store::PutPayload;
use tokio::sync::mpsc;
use tokio::time::sleep;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::spool::Spool;
use super::staged::Sealed;
use super::target::Target;
use crate::layout;
use crate::recorder::{LogLimiter, LOG_EVERY};
use crate::telemetry;

/// First retry delay after a failed upload; doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
/// Longest wait between two attempts while the store is down.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How often the gauges are refreshed while nothing happens.
const GAUGE_EVERY: Duration = Duration::from_secs(5);

/// Why an upload failed (the `kind` label of the failures counter).
fn failure_kind(error: &object_store::Error) -> &'static str {
    match error {
        object_store::Error::PermissionDenied { .. }
        | object_store::Error::Unauthenticated { .. } => "auth",
        object_store::Error::NotFound { .. } => "not_found",
        _ => "store",
    }
}

/// The uploader's state.
pub(crate) struct Uploader {
    /// Where objects go.
    target: Target,
    /// The spool (byte accounting).
    spool: Arc<Spool>,
    /// Sealed segments from the sealer; closed when the sealer is done (the stop).
    rx: mpsc::UnboundedReceiver<Sealed>,
    /// Waiting for upload, oldest first.
    queue: VecDeque<Sealed>,
    /// Cancelled when the stop budget is spent: stop at once, leave the rest in the spool.
    give_up: CancellationToken,
    /// Rate limit of the failure warning.
    log: LogLimiter,
    /// Failed attempts since the last success.
    failing: u64,
}

impl Uploader {
    /// An uploader starting with `found` (what a previous run left sealed).
    pub(crate) fn new(
        target: Target,
        spool: Arc<Spool>,
        rx: mpsc::UnboundedReceiver<Sealed>,
        found: Vec<Sealed>,
        give_up: CancellationToken,
    ) -> Self {
        Self {
            target,
            spool,
            rx,
            queue: found.into(),
            give_up,
            log: LogLimiter::new(LOG_EVERY),
            failing: 0,
        }
    }

    /// Runs until the sealer is done and the queue is empty (true), or until told to give up
    /// (false).
    pub(crate) async fn run(mut self) -> bool {
        let mut backoff = FIRST_BACKOFF;
        let mut closed = false;
        loop {
            while let Ok(sealed) = self.rx.try_recv() {
                self.queue.push_back(sealed);
            }
            self.publish();
            let Some(next) = self.queue.front().cloned() else {
                if closed {
                    return true;
                }
                tokio::select! {
                    biased;
                    _ = self.give_up.cancelled() => return false,
                    got = self.rx.recv() => match got {
                        Some(sealed) => self.queue.push_back(sealed),
                        None => closed = true,
                    },
                    _ = sleep(GAUGE_EVERY) => {}
                }
                continue;
            };
            let give_up = self.give_up.clone();
            let outcome = tokio::select! {
                biased;
                _ = give_up.cancelled() => return false,
                outcome = self.upload(&next) => outcome,
            };
            match outcome {
                Ok(()) => {
                    backoff = FIRST_BACKOFF;
                    self.queue.pop_front();
                }
                Err(kind) => {
                    metrics::counter!(telemetry::SINK_UPLOAD_FAILURES, "kind" => kind).increment(1);
                    tokio::select! {
                        biased;
                        _ = self.give_up.cancelled() => return false,
                        _ = sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// One attempt at one segment. `Err(kind)` when it must be tried again.
    async fn upload(&mut self, sealed: &Sealed) -> Result<(), &'static str> {
        let key = layout::segment_key(&sealed.key);
        let body = match tokio::fs::read(&sealed.path).await {
            Ok(body) => body,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                warn!(path = %sealed.path.display(), "a sealed segment vanished from the spool before its upload; skipped");
                self.spool.sub_bytes(sealed.bytes);
                return Ok(());
            }
            Err(error) => {
                self.failed("local_io", &key, &error.to_string());
                return Err("local_io");
            }
        };
        let len = body.len() as u64;
        let path = self.target.object_path(&key);
        match self
            .target
            .store
            .put(&path, PutPayload::from(bytes::Bytes::from(body)))
            .await
        {
            Ok(_) => {}
            Err(error) => {
                let kind = failure_kind(&error);
                self.failed(kind, &key, &error.to_string());
                return Err(kind);
            }
        }
        metrics::counter!(telemetry::SINK_OBJECTS_UPLOADED).increment(1);
        metrics::counter!(telemetry::SINK_BYTES_UPLOADED).increment(len);
        if self.failing > 0 {
            info!(
                failed_attempts = self.failing,
                "uploads to the sink recovered"
            );
            self.failing = 0;
        }
        debug!(object = %path, bytes = len, "segment uploaded");
        match tokio::fs::remove_file(&sealed.path).await {
            Ok(()) => {}
            // Uploaded again at the next start, to the same key: overwritten, not doubled.
            Err(error) => {
                warn!(path = %sealed.path.display(), %error, "cannot remove an uploaded segment")
            }
        }
        if let Some(parent) = sealed.path.parent() {
            let _ = tokio::fs::remove_dir(parent).await;
        }
        self.spool.sub_bytes(sealed.bytes);
        Ok(())
    }

    fn failed(&mut self, kind: &'static str, key: &str, error: &str) {
        self.failing += 1;
        if self.log.allow() {
            warn!(
                sink = %self.target.display,
                object = key,
                kind,
                %error,
                failed_attempts = self.failing,
                pending_segments = self.queue.len(),
                spool_bytes = self.spool.bytes(),
                "upload to the sink failed; the segment stays in the spool and is retried with backoff"
            );
        }
    }

    /// Pending segments and the age of the oldest one.
    fn publish(&self) {
        metrics::gauge!(telemetry::SINK_SPOOL_SEGMENTS).set(self.queue.len() as f64);
        let oldest = self
            .queue
            .iter()
            .map(|s| s.sealed_at)
            .min()
            .and_then(|t| t.elapsed().ok())
            .map_or(0.0, |age| age.as_secs_f64());
        metrics::gauge!(telemetry::SINK_OLDEST_PENDING).set(oldest);
    }
}
