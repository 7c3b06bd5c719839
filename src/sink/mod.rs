//! The object-storage sink (`--sink URL`, docs/object-storage.md): records go, besides the
//! local day files, into segment files in the spool (`<data_dir>/@spool/`), which are sealed
//! (compressed, named after their final object key) and uploaded as immutable objects
//! `<prefix>/workflow=<id>/date=<YYYY-MM-DD>/<instance>-<first-record-time>-<seq>.jsonl.gz`.
//! Label lines (`labels.jsonl`) take the same way into segments of their own, uploaded below
//! `<prefix>/_labels/` (the same key otherwise, see [`crate::layout::SegmentKind`]).
//!
//! - The recorder's writer appends each batch's lines to their open segment right after the
//!   local write ([`Spool::append`], blocking IO on the writer's thread): the request path never
//!   waits for the bucket, and the sink costs one more `write` per file per batch.
//! - `sealer` seals full and aged segments (`seal`), `upload` PUTs them one at a time and
//!   removes each only after the store accepted it; failures are retried without limit.
//! - Exactly once by construction: an object's key is fixed when its segment is sealed, so an
//!   upload repeated after a crash overwrites the same object.
//! - `spool` accounts the bytes on disk against `--sink-spool-bytes` and finds what a previous
//!   run left; `retention` implements `--local-retention-days`; `target` parses the URL.
//! - Leaves shared by those: `staged` (the [`staged::Ready`] and [`staged::Sealed`] states of
//!   a segment), `files` (creating spool files and folders with `--data-mode`), `error`.
//!
//! `object_store` (Apache Arrow) is the client: S3 request signing, credentials from the
//! standard AWS environment (static keys, web identity / IRSA, ECS and instance metadata),
//! retries with backoff, in one well-kept crate used by the Arrow, DataFusion and Delta Lake
//! ecosystems.

mod args;
mod error;
mod files;
mod retention;
mod seal;
mod sealer;
mod segment;
mod spool;
mod staged;
mod target;
mod upload;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

pub use crate::layout::Compression;
pub use crate::layout::SegmentKind;
pub use args::SinkArgs;
pub use error::SinkError;
pub use spool::Spool;

use crate::layout;
use files::DataMode;

/// Longest `--instance-id`.
const MAX_INSTANCE_LEN: usize = 128;

/// `--instance-id`, or the hostname; refused unless made of `A-Z a-z 0-9 . _ -`.
fn instance_id(given: Option<&str>) -> Result<String, SinkError> {
    let id = match given {
        Some(id) => id.to_owned(),
        None => rustix::system::uname()
            .nodename()
            .to_string_lossy()
            .into_owned(),
    };
    let bad = |reason: &str| SinkError::BadInstanceId {
        id: id.clone(),
        reason: reason.to_owned(),
    };
    if id.is_empty() {
        return Err(bad("it is empty (set --instance-id)"));
    }
    if id.len() > MAX_INSTANCE_LEN {
        return Err(bad("it is longer than 128 characters"));
    }
    if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(bad(
            "only letters A-Z a-z, digits, `.`, `_` and `-` are allowed (it is part of object keys)",
        ));
    }
    Ok(id)
}

/// The running sink: the spool the recorder appends to, and the sealer and uploader tasks.
#[derive(Debug)]
pub struct SinkHandle {
    /// The spool (given to the recorder with [`SinkHandle::spool`]).
    spool: Arc<Spool>,
    /// The sealer task.
    sealer: JoinHandle<()>,
    /// The uploader task; true when it uploaded everything.
    uploader: JoinHandle<bool>,
    /// Cancelled at the stop: seal what is open, upload what is sealed.
    stopping: CancellationToken,
    /// Cancelled when the stop budget is spent.
    give_up: CancellationToken,
    /// `--sink`, for the log.
    url: String,
}

/// What the sink left at its stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SinkStopReport {
    /// Everything was sealed and uploaded.
    pub uploaded_all: bool,
    /// Bytes left in the spool (uploaded at the next start).
    pub left_bytes: u64,
}

/// Starts the sink when `--sink` is given: parses the URL and the instance id (start errors),
/// prepares the spool, finds what a previous run left (cutting torn lines) and spawns the
/// sealer and the uploader. The spool's files and folders get `mode` (`--data-mode`). Call
/// inside a tokio runtime, before the recorder starts.
pub fn start(
    args: &SinkArgs,
    data_dir: &Path,
    mode: DataMode,
) -> Result<Option<SinkHandle>, SinkError> {
    let Some(url) = args.sink.as_deref() else {
        return Ok(None);
    };
    let target = target::parse(url)?;
    start_with_target(target, args, data_dir, mode).map(Some)
}

/// [`start`] with the store already built.
fn start_with_target(
    target: target::Target,
    args: &SinkArgs,
    data_dir: &Path,
    mode: DataMode,
) -> Result<SinkHandle, SinkError> {
    let url = target.display.clone();
    let instance = instance_id(args.instance_id.as_deref())?;
    let root = layout::spool_dir(data_dir);
    let spool_error = |source| SinkError::Spool {
        path: root.display().to_string(),
        source,
    };
    for stage in [layout::SPOOL_OPEN, layout::SPOOL_SEALED] {
        files::create_dirs(mode, &root.join(stage)).map_err(spool_error)?;
    }
    let found = spool::scan(&root);
    let seq = segment::SeqFile::load(root.join(layout::SPOOL_SEQ_FILE), found.next_seq, mode);
    let segments = segment::OpenSegments::new(
        root.join(layout::SPOOL_OPEN),
        instance.clone(),
        args.sink_segment_bytes,
        Duration::from_secs(args.sink_segment_seconds),
        seq,
        mode,
    );
    let (ready_tx, ready_rx) = mpsc::unbounded_channel();
    let (sealed_tx, sealed_rx) = mpsc::unbounded_channel();
    let spool = Arc::new(Spool::new(
        root.clone(),
        mode,
        args.sink_spool_bytes,
        found.bytes,
        segments,
        ready_tx,
    ));
    let stopping = CancellationToken::new();
    let give_up = CancellationToken::new();
    info!(
        sink = %url,
        instance = %instance,
        spool = %root.display(),
        left_open = found.open.len(),
        left_sealed = found.sealed.len(),
        spool_bytes = found.bytes,
        "Sink on: records are also shipped to object storage."
    );
    let uploader = upload::Uploader::new(
        target,
        Arc::clone(&spool),
        sealed_rx,
        found.sealed,
        give_up.clone(),
    );
    let sealer = sealer::Sealer {
        spool: Arc::clone(&spool),
        ready_rx,
        sealed_tx,
        compression: args.sink_compression,
        stopping: stopping.clone(),
        give_up: give_up.clone(),
        retention: args
            .local_retention_days
            .map(|days| (data_dir.to_path_buf(), days)),
    };
    Ok(SinkHandle {
        spool,
        sealer: tokio::spawn(sealer.run(found.open)),
        uploader: tokio::spawn(uploader.run()),
        stopping,
        give_up,
        url,
    })
}

/// How long the sink's tasks get to notice the end of the budget (a seal in progress on a
/// blocking thread cannot be interrupted; it finishes in the background or with the process).
const GIVE_UP_GRACE: Duration = Duration::from_millis(500);

impl SinkHandle {
    /// The spool, for [`crate::recorder::start_with_sink`].
    pub fn spool(&self) -> Arc<Spool> {
        Arc::clone(&self.spool)
    }

    /// The stop, after the recorder's (so every record written is in a segment): seals every
    /// open segment and uploads what is sealed until `deadline`; what is left stays in the
    /// spool for the next start, and the log says how much.
    pub async fn stop(self, deadline: tokio::time::Instant) -> SinkStopReport {
        self.stopping.cancel();
        let mut sealer = self.sealer;
        let mut uploader = self.uploader;
        // A finished JoinHandle must not be polled again: each is awaited until it is done
        // or the time is up, never after.
        let sealed = tokio::time::timeout_at(deadline, &mut sealer).await.is_ok();
        let uploaded = if sealed {
            tokio::time::timeout_at(deadline, &mut uploader).await.ok()
        } else {
            None
        };
        let uploaded_all = match uploaded {
            Some(all) => all.unwrap_or(false),
            None => {
                self.give_up.cancel();
                if !sealed {
                    let _ = tokio::time::timeout(GIVE_UP_GRACE, &mut sealer).await;
                }
                let _ = tokio::time::timeout(GIVE_UP_GRACE, &mut uploader).await;
                sealer.abort();
                uploader.abort();
                false
            }
        };
        let left_bytes = self.spool.bytes();
        if uploaded_all && left_bytes == 0 {
            info!(sink = %self.url, "Sink: every segment uploaded.");
        } else {
            warn!(
                sink = %self.url,
                left_bytes,
                spool = %self.spool.root.display(),
                "Sink: the stop budget ran out; segments left in the spool are uploaded at the next start."
            );
        }
        SinkStopReport {
            uploaded_all: uploaded_all && left_bytes == 0,
            left_bytes,
        }
    }
}

#[cfg(test)]
mod tests;
