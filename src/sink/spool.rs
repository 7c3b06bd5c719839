//! The spool, `<data_dir>/@spool/`: what the recorder's writer appends to ([`Spool::append`]),
//! its size on disk (checked against `--sink-spool-bytes`), and the start-up scan that finds
//! the segments a previous run left.
//!
//! ```text
//! @spool/next-seq                                   the next segment number
//! @spool/open/workflow=<id>/date=<day>/<stem>.jsonl        written, or waiting to be sealed
//! @spool/sealed/workflow=<id>/date=<day>/<stem>.jsonl.gz   sealed, waiting for the upload
//! @spool/{open,sealed}/_labels/workflow=<id>/...           the same for label lines
//! @spool/days/<workflow>/<day>[.unspooled]          which days went to the spool
//! ```

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use chrono::{DateTime, NaiveDate, Utc};
use tokio::sync::mpsc;
use tracing::{error, warn};

use super::files;
use super::segment::OpenSegments;
use super::staged::{Ready, Sealed};
use crate::layout::{self, SegmentKind};
use crate::recorder::{DataMode, LogLimiter, LOG_EVERY};

/// Why records were not spooled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NotSpooled {
    /// The spool is at `--sink-spool-bytes`.
    Full,
    /// The segment could not be written.
    Error,
}

/// The shared spool: appended by the recorder's writer, sealed and emptied by the sink's tasks.
#[derive(Debug)]
pub struct Spool {
    /// `<data_dir>/@spool`.
    pub(crate) root: PathBuf,
    /// `<spool>/sealed`.
    pub(crate) sealed_dir: PathBuf,
    /// `--sink-spool-bytes`.
    limit: u64,
    /// `--data-mode` of the spool's files and folders.
    pub(crate) mode: DataMode,
    /// Bytes of every file in `open/` and `sealed/` now.
    bytes: AtomicU64,
    /// The open segments.
    segments: Mutex<OpenSegments>,
    /// Where full (or failed) segments go to be sealed.
    ready_tx: mpsc::UnboundedSender<Ready>,
    /// Days whose marker this process already made (or found).
    days: Mutex<HashSet<(String, NaiveDate, bool)>>,
    /// Records not spooled, since the start.
    not_spooled: AtomicU64,
    /// Rate limit of the "not spooled" error line.
    log: LogLimiter,
}

impl Spool {
    /// A spool at `root` (its folders already exist) holding `bytes` on disk.
    pub(crate) fn new(
        root: PathBuf,
        mode: DataMode,
        limit: u64,
        bytes: u64,
        segments: OpenSegments,
        ready_tx: mpsc::UnboundedSender<Ready>,
    ) -> Self {
        let spool = Self {
            sealed_dir: root.join(layout::SPOOL_SEALED),
            root,
            limit,
            mode,
            bytes: AtomicU64::new(bytes),
            segments: Mutex::new(segments),
            ready_tx,
            days: Mutex::new(HashSet::new()),
            not_spooled: AtomicU64::new(0),
            log: LogLimiter::new(LOG_EVERY),
        };
        spool.publish_bytes();
        spool
    }

    /// Appends the lines in `buf` (`records` of them, all `kind` lines of `workflow`'s `date`,
    /// the first at `first`) to their segment, right after the recorder wrote them locally.
    /// Never fails: lines that cannot be spooled (spool full, write error) are counted, logged
    /// (rate-limited) and their day is marked as not fully spooled. Blocking file IO.
    ///
    /// Label lines (`SegmentKind::Labels`, from `labels.jsonl`) go into segments of their own,
    /// named by the time they were appended (a label line's own timestamp is its record's day),
    /// and never mark a day as shipped: only records do, so `--local-retention-days` never
    /// deletes a day whose records predate the sink because one of its labels was shipped.
    pub fn append(
        &self,
        kind: SegmentKind,
        workflow: &str,
        date: NaiveDate,
        first: DateTime<Utc>,
        buf: &[u8],
        records: u64,
    ) {
        let len = buf.len() as u64;
        if self.bytes.load(Ordering::Relaxed) + len > self.limit {
            self.refuse(kind, workflow, date, records, NotSpooled::Full, None);
            return;
        }
        let first = match kind {
            SegmentKind::Records => first,
            SegmentKind::Labels => Utc::now(),
        };
        let appended = match self.segments.lock() {
            Ok(mut segments) => segments.append(kind, workflow, date, first, buf),
            Err(_) => Err(io::Error::other("segment state poisoned by a panic")),
        };
        match appended {
            Ok(appended) => {
                self.add_bytes(len);
                if appended.new_segment && kind == SegmentKind::Records {
                    self.mark_day(workflow, date, false);
                }
                if let Some(ready) = appended.ready {
                    self.hand_over(ready);
                }
            }
            Err(e) => self.refuse(kind, workflow, date, records, NotSpooled::Error, Some(e)),
        }
    }

    /// Counts, marks and logs records that are only in the local files.
    fn refuse(
        &self,
        kind: SegmentKind,
        workflow: &str,
        date: NaiveDate,
        records: u64,
        why: NotSpooled,
        error: Option<io::Error>,
    ) {
        let total = self.not_spooled.fetch_add(records, Ordering::Relaxed) + records;
        let reason = match why {
            NotSpooled::Full => "spool_full",
            NotSpooled::Error => "spool_error",
        };
        let lines = match kind {
            SegmentKind::Records => "records",
            SegmentKind::Labels => "labels",
        };
        metrics::counter!(crate::telemetry::SINK_RECORDS_NOT_SPOOLED, "reason" => reason, "lines" => lines)
            .increment(records);
        self.mark_day(workflow, date, true);
        if self.log.allow() {
            let spool_bytes = self.bytes.load(Ordering::Relaxed);
            match error {
                Some(error) => error!(
                    workflow, %date, lines, not_spooled_total = total, %error,
                    "cannot write to the sink's spool: records are in the local data files only \
                     and will not reach the bucket unless shipped by hand"
                ),
                None => error!(
                    workflow, %date, lines, not_spooled_total = total, spool_bytes,
                    spool_limit = self.limit,
                    "the sink's spool is full (--sink-spool-bytes): records are in the local \
                     data files only and will not reach the bucket unless shipped by hand"
                ),
            }
        }
    }

    /// Creates the day's marker (once per process and day): `unspooled` for "some records of
    /// this day are only local", which keeps `--local-retention-days` away from it.
    fn mark_day(&self, workflow: &str, date: NaiveDate, unspooled: bool) {
        let key = (workflow.to_owned(), date, unspooled);
        let first = self.days.lock().is_ok_and(|mut days| days.insert(key));
        if !first {
            return;
        }
        let path = if unspooled {
            layout::spool_unspooled_marker(&self.root, workflow, date)
        } else {
            layout::spool_day_marker(&self.root, workflow, date)
        };
        let made = path
            .parent()
            .map_or(Ok(()), |dir| files::create_dirs(self.mode, dir))
            .and_then(|()| files::create_truncated(self.mode, &path).map(drop));
        if let Err(error) = made {
            warn!(path = %path.display(), %error, "cannot write a spool day marker");
        }
    }

    /// Sends a segment to the sealer. After the sink stopped it stays in `open/`, sealed at
    /// the next start.
    pub(crate) fn hand_over(&self, ready: Ready) {
        let _ = self.ready_tx.send(ready);
    }

    /// Segments at least `--sink-segment-seconds` old, taken out of the open set.
    pub(crate) fn take_due(&self, now: std::time::Instant) -> Vec<Ready> {
        self.segments
            .lock()
            .map(|mut s| s.take_due(now))
            .unwrap_or_default()
    }

    /// Every open segment, taken out of the open set (the stop).
    pub(crate) fn take_all(&self) -> Vec<Ready> {
        self.segments
            .lock()
            .map(|mut s| s.take_all())
            .unwrap_or_default()
    }

    /// Bytes in the spool now.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Records not spooled (full or failing) since the start.
    pub fn not_spooled(&self) -> u64 {
        self.not_spooled.load(Ordering::Relaxed)
    }

    pub(crate) fn add_bytes(&self, n: u64) {
        self.bytes.fetch_add(n, Ordering::Relaxed);
        self.publish_bytes();
    }

    pub(crate) fn sub_bytes(&self, n: u64) {
        let _ = self
            .bytes
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                Some(b.saturating_sub(n))
            });
        self.publish_bytes();
    }

    fn publish_bytes(&self) {
        metrics::gauge!(crate::telemetry::SINK_SPOOL_BYTES).set(self.bytes() as f64);
    }
}

/// What a previous run left in the spool.
#[derive(Debug, Default)]
pub(crate) struct Found {
    /// Open segments (torn last line cut), to be sealed first.
    pub open: Vec<Ready>,
    /// Sealed segments waiting for their upload, oldest first.
    pub sealed: Vec<Sealed>,
    /// Bytes of all of them.
    pub bytes: u64,
    /// One past the highest sequence number seen.
    pub next_seq: u64,
}

/// Lists `<stage>/workflow=*/date=*/*` and `<stage>/_labels/workflow=*/date=*/*` files with
/// their keys (files whose names are not keys are logged and left alone).
fn list_stage(stage: &Path) -> Vec<(PathBuf, layout::SegmentKey, fs::Metadata)> {
    let mut out = Vec::new();
    let Ok(workflows) = fs::read_dir(stage) else {
        return out;
    };
    let labels = fs::read_dir(stage.join(layout::LABELS_DIR))
        .into_iter()
        .flatten();
    for wf in workflows.flatten().chain(labels.flatten()) {
        if wf.file_name() == layout::LABELS_DIR {
            continue;
        }
        let Ok(dates) = fs::read_dir(wf.path()) else {
            continue;
        };
        for date in dates.flatten() {
            let Ok(files) = fs::read_dir(date.path()) else {
                continue;
            };
            for file in files.flatten() {
                let path = file.path();
                if path.extension().is_some_and(|e| e == "tmp") {
                    // A seal cut short by a crash; its open segment is still there.
                    match fs::remove_file(&path) {
                        Ok(()) => {
                            warn!(path = %path.display(), "removed a half-written sealed segment")
                        }
                        Err(error) => {
                            warn!(path = %path.display(), %error, "cannot remove a half-written sealed segment")
                        }
                    }
                    continue;
                }
                let key = path
                    .strip_prefix(stage)
                    .ok()
                    .and_then(|rel| rel.to_str())
                    .and_then(layout::parse_segment_key);
                match (key, file.metadata()) {
                    (Some(key), Ok(meta)) if meta.is_file() => out.push((path, key, meta)),
                    _ => warn!(path = %path.display(), "not a segment; left alone in the spool"),
                }
            }
        }
    }
    out
}

/// Scans the spool a previous run left: cuts torn last lines of open segments (a crash in
/// the middle of an append), drops open segments whose sealed file already exists (a crash
/// between the seal and the removal) or that are empty, and lists what waits for an upload.
pub(crate) fn scan(root: &Path) -> Found {
    let mut found = Found::default();
    let open_dir = root.join(layout::SPOOL_OPEN);
    let sealed_dir = root.join(layout::SPOOL_SEALED);
    let mut sealed = list_stage(&sealed_dir);
    sealed.sort_by_key(|(_, _, meta)| meta.modified().ok());
    for (path, key, meta) in sealed {
        found.next_seq = found.next_seq.max(key.seq + 1);
        found.bytes += meta.len();
        found.sealed.push(Sealed {
            path,
            key,
            bytes: meta.len(),
            sealed_at: meta
                .modified()
                .unwrap_or_else(|_| std::time::SystemTime::now()),
        });
    }
    for (path, key, _) in list_stage(&open_dir) {
        found.next_seq = found.next_seq.max(key.seq + 1);
        if key.compression != layout::Compression::None {
            warn!(path = %path.display(), "not an open segment; left alone in the spool");
            continue;
        }
        match crate::recorder::repair_torn_tail(&path) {
            Ok(Some(bytes_cut)) => {
                warn!(path = %path.display(), bytes_cut, "cut a torn last line of a spool segment left by a crash");
            }
            Ok(None) => {}
            Err(error) => {
                warn!(path = %path.display(), %error, "cannot check a spool segment for a torn line");
            }
        }
        let already_sealed = found.sealed.iter().any(|s| {
            layout::SegmentKey {
                compression: layout::Compression::None,
                ..s.key.clone()
            } == key
        });
        let len = fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        if already_sealed || len == 0 {
            if let Err(error) = fs::remove_file(&path) {
                warn!(path = %path.display(), %error, "cannot remove a spool segment");
            }
            continue;
        }
        found.bytes += len;
        found.open.push(Ready { path, key });
    }
    found
}
