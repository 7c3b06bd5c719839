//! Labels (docs/labels.md): `good` / `bad` / `none` judgements of records, with a note and
//! tags, appended by the recorder to `labels.jsonl` beside the `data.jsonl` of the record's
//! own day; the last label of a record wins.
//!
//! - `line`: the labels line format ([`LabelLine`]).
//! - `request`: the body of `POST /feedback` and `POST /api/labels` ([`LabelRequest`]).
//! - `index`: the bounded in-memory index of recently recorded `request_id`s.
//! - `scan`: on an index miss, the scan of the data folders, newest day first.
//! - `unknown`: with the sink on, where a label goes whose record this instance does not hold.
//!
//! The HTTP side (`/feedback`, `/api/labels`) lives in `proxy::feedback`.

pub mod index;
pub mod line;
pub mod request;
pub mod scan;
pub mod unknown;

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{NaiveDate, NaiveTime, Utc};
use tracing::{debug, warn};

pub use index::{Location, RecentIds};
pub use line::{Label, LabelLine, Source};
pub use request::{BadLabel, LabelRequest};
pub use unknown::Filed;

use crate::recorder::{RecordLine, Recorder};

/// Which records a label request may reach.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// `/feedback` on a workflow's port: only records filed under that workflow (including
    /// those re-routed to it by `workflow_id`).
    Workflow(&'a str),
    /// `/api/labels` on the admin listener: every record of this instance's data folder.
    Any,
}

impl Scope<'_> {
    fn admits(&self, workflow_id: &str) -> bool {
        match self {
            Scope::Workflow(id) => *id == workflow_id,
            Scope::Any => true,
        }
    }

    fn folder(&self) -> Option<&str> {
        match self {
            Scope::Workflow(id) => Some(id),
            Scope::Any => None,
        }
    }
}

/// Why a label was not written.
#[derive(Debug, thiserror::Error)]
pub enum LabelError {
    /// No record of that `request_id` within reach (answered 404).
    #[error("No record with request_id {0:?} was found.")]
    UnknownRequestId(String),
    /// The request has fewer records than `choice + 1` (answered 404).
    #[error("The request {request_id:?} has {records} record(s); there is no choice {choice}.")]
    UnknownChoice {
        /// The request.
        request_id: String,
        /// The choice asked for.
        choice: u32,
        /// How many records the request has.
        records: u32,
    },
    /// The recorder's queue is full or the recorder stopped (answered 503).
    #[error("The recorder cannot take the label right now (its queue is full); retry shortly.")]
    Busy,
    /// The data folder could not be read for the scan (answered 500).
    #[error("The data folder could not be searched: {0}")]
    Scan(String),
}

/// What a written label answers.
#[derive(Debug, Clone)]
pub struct Labelled {
    /// The line queued for `labels.jsonl`.
    pub line: LabelLine,
    /// Where the record (and so the label) is filed.
    pub location: Location,
    /// Whether the record was found, or the label filed without it.
    pub filed: Filed,
}

/// The label service: the index, the scan and the recorder, shared by every listener.
#[derive(Debug)]
pub struct Labels {
    /// Appends the label lines.
    recorder: Recorder,
    /// `--data-dir`: where records are, for the scan.
    data_dir: PathBuf,
    /// Recently recorded ids.
    recent: RecentIds,
    /// At most one scan at a time.
    scan: tokio::sync::Mutex<()>,
    /// `--sink` is on: labels are shipped to the bucket, so one for a record this instance
    /// does not hold is filed anyway (`unknown`).
    shipped: bool,
}

impl Labels {
    /// A label service writing through `recorder`, scanning `data_dir` on index misses.
    pub fn new(recorder: Recorder, data_dir: PathBuf) -> Self {
        Labels {
            recorder,
            data_dir,
            recent: RecentIds::new(index::DEFAULT_CAPACITY),
            scan: tokio::sync::Mutex::new(()),
            shipped: false,
        }
    }

    /// The same service, knowing whether the sink ships labels (`--sink`).
    pub fn shipped(mut self, shipped: bool) -> Self {
        self.shipped = shipped;
        self
    }

    /// Notes that `records` records of `request_id` were handed to the recorder for
    /// `workflow_id`'s folder of `day`.
    pub fn remember(&self, request_id: &str, workflow_id: &str, day: NaiveDate, records: u32) {
        self.recent.insert(
            request_id,
            Location {
                workflow_id: Arc::from(workflow_id),
                day,
                records,
            },
        );
    }

    /// Finds the record and queues the label line. Waits only for a scan (on an index miss).
    pub async fn label(
        &self,
        request: LabelRequest,
        scope: Scope<'_>,
        source: Source,
    ) -> Result<Labelled, LabelError> {
        let unknown = || LabelError::UnknownRequestId(request.request_id.clone());
        if unknown::other_workflow(&request, scope) {
            return Err(unknown());
        }
        let now = Utc::now();
        let (location, filed) = match self.locate(&request, scope).await {
            Ok(location) => (location, Filed::Found),
            Err(LabelError::UnknownRequestId(_)) => {
                unknown::place(&request, scope, self.shipped, now.date_naive())
                    .ok_or_else(unknown)?
            }
            Err(other) => return Err(other),
        };
        if request.choice >= location.records {
            return Err(LabelError::UnknownChoice {
                request_id: request.request_id,
                choice: request.choice,
                records: location.records,
            });
        }
        let line = LabelLine {
            timestamp: LabelLine::format_timestamp(now),
            request_id: request.request_id,
            choice: request.choice,
            label: request.label,
            note: request.note,
            tags: request.tags,
            source,
            unmatched: filed == Filed::Unmatched,
        };
        let queued = self.recorder.submit_label(RecordLine {
            workflow_id: location.workflow_id.to_string(),
            // Only its date is used: the day folder of the record.
            timestamp: location.day.and_time(NaiveTime::MIN).and_utc(),
            json: line.to_json(),
        });
        if !queued {
            return Err(LabelError::Busy);
        }
        debug!(
            request_id = %line.request_id,
            choice = line.choice,
            label = line.label.as_str(),
            workflow = %location.workflow_id,
            day = %location.day,
            filed = ?filed,
            "label queued"
        );
        Ok(Labelled {
            line,
            location,
            filed,
        })
    }

    /// The index, then (one at a time, on a blocking thread) the scan: of the request's
    /// `day` only, when it gives one.
    async fn locate(
        &self,
        request: &LabelRequest,
        scope: Scope<'_>,
    ) -> Result<Location, LabelError> {
        let request_id = request.request_id.as_str();
        let unknown = || LabelError::UnknownRequestId(request_id.to_owned());
        let admitted = |l: Location| scope.admits(&l.workflow_id).then_some(l);
        if let Some(found) = self.recent.get(request_id).and_then(admitted) {
            return Ok(found);
        }
        let _one_at_a_time = self.scan.lock().await;
        // Another scan (or the record itself) may have filled the index meanwhile.
        if let Some(found) = self.recent.get(request_id).and_then(admitted) {
            return Ok(found);
        }
        let data_dir = self.data_dir.clone();
        let folder = scope.folder().map(str::to_owned);
        let (id, day) = (request_id.to_owned(), request.day);
        let scanned =
            tokio::task::spawn_blocking(move || scan::find(&data_dir, folder.as_deref(), day, &id))
                .await
                .map_err(|e| LabelError::Scan(e.to_string()))?;
        match scanned {
            Ok(Some(location)) => {
                self.recent.insert(request_id, location.clone());
                Ok(location)
            }
            Ok(None) => Err(unknown()),
            Err(error) => {
                warn!(data_dir = %self.data_dir.display(), %error, "label look-up could not scan the data folder");
                Err(LabelError::Scan(error.to_string()))
            }
        }
    }
}
