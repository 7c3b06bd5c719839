//! The sink's bucket as a source of the pages (`?source=bucket`, when `serve --sink` is set):
//! segments listed through [`crate::dataset::source`] (pruned by workflow and day as for the
//! data tools), each object streamed and decompressed as it is read, its summary cached by
//! key (objects are immutable). One bucket data file is one instance's segments of a workflow
//! and day, as for `export`/`stats`; the overview adds the instances up.
//!
//! Labels of bucket records: the local `labels.jsonl` of the record's day in the data folder
//! (where the page's buttons write them), merged with the labels objects in the bucket below
//! `<prefix>/_labels/` when there are any, through [`BucketLabels`]: the seam where the
//! sink's labels upload meets the page.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;

use super::jobs::{Jobs, Progress};
use super::labels::DayLabels;
use super::overview_data::{Overview, DEFAULT_DAYS};
use super::query::{Found, Page};
use super::source::Source;
use super::summary::{FileSummary, SummaryCache};
use crate::dataset::scan::{DataFile, Selection};
use crate::dataset::source::{Bucket, BucketUrl, Prune, Segments};
use crate::dataset::DatasetError;
use crate::labels::LabelLine;

/// The bucket the page may read, opened at its first read, and its pages' jobs.
pub struct BucketView {
    /// The `--sink` URL (it holds no credentials).
    pub url: String,
    opened: Mutex<Option<Opened>>,
    /// Overview reads.
    pub overviews: Jobs<Overview>,
    /// List reads (with the workflows for the filter).
    pub lists: Jobs<(Page, Vec<String>)>,
    /// One record's reads.
    pub records: Jobs<Option<Found>>,
}

impl BucketView {
    /// The view of `url` (nothing is opened or requested yet).
    pub fn new(url: String) -> BucketView {
        BucketView {
            url,
            opened: Mutex::new(None),
            overviews: Jobs::default(),
            lists: Jobs::default(),
            records: Jobs::default(),
        }
    }

    /// The bucket and its labels root, opened once (blocking: it starts the client's runtime).
    /// A labels root that cannot be opened (a `file://` folder without `_labels`) is none.
    pub fn open(&self) -> Result<Opened, DatasetError> {
        let mut opened = self.opened.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(pair) = &*opened {
            return Ok(pair.clone());
        }
        let url = BucketUrl::parse(&self.url)?;
        let labels = BucketUrl::parse(&format!("{url}/{LABELS_FOLDER}"))
            .and_then(Bucket::open)
            .ok();
        let pair = (Bucket::open(url)?, labels);
        *opened = Some(pair.clone());
        Ok(pair)
    }
}

impl Drop for BucketView {
    fn drop(&mut self) {
        // A bucket owns a runtime, which may not be dropped on a runtime worker.
        let opened = self.opened.get_mut().map(Option::take).unwrap_or(None);
        if let Some(pair) = opened {
            let _ = std::thread::Builder::new()
                .name("micromodel-bucket-drop".into())
                .spawn(move || drop(pair));
        }
    }
}

/// The opened bucket and, when it opened, its labels root.
pub type Opened = (Arc<Bucket>, Option<Arc<Bucket>>);

/// No labels in the bucket.
pub struct NoLabels;

impl BucketLabels for NoLabels {
    fn lines(&self, _: &str, _: NaiveDate) -> Result<Vec<LabelLine>, DatasetError> {
        Ok(Vec::new())
    }
}

/// The folder below the prefix that holds labels objects (see docs/labels.md).
pub const LABELS_FOLDER: &str = "_labels";

/// Labels kept in the bucket for a workflow and day: the seam between the sink's labels
/// upload and the page.
pub trait BucketLabels {
    /// Every labels line of `workflow`'s `date`, in any order (the newest `timestamp` wins).
    fn lines(&self, workflow: &str, date: NaiveDate) -> Result<Vec<LabelLine>, DatasetError>;
}

/// Labels objects named like segments below `<prefix>/_labels/`
/// (`workflow=<id>/date=<YYYY-MM-DD>/<instance>-<time>-<seq>.jsonl[.gz|.zst]`), read with
/// the segment lister: a bucket opened at `<url>/_labels` lists them as its segments.
impl BucketLabels for Bucket {
    fn lines(&self, workflow: &str, date: NaiveDate) -> Result<Vec<LabelLine>, DatasetError> {
        let workflows = [workflow.to_owned()];
        let prune = Prune {
            workflows: &workflows,
            since: Some(date),
            until: Some(date),
        };
        let mut out = Vec::new();
        for day in self.list(&prune)?.0 {
            for object in &day.objects {
                let mut reader = self.open_object(object)?;
                let mut line = String::new();
                while std::io::BufRead::read_line(&mut reader, &mut line).map_err(|source| {
                    DatasetError::Read {
                        path: self.object_url(&object.key).into(),
                        source,
                    }
                })? > 0
                {
                    if let Ok(label) = serde_json::from_str::<LabelLine>(line.trim_end()) {
                        out.push(label);
                    }
                    line.clear();
                }
            }
        }
        Ok(out)
    }
}

impl BucketRead<'_> {
    /// The labels lines of `workflow` filed on `date`: the local folders' and the bucket's.
    /// A bucket that cannot be read is logged, and its labels are missing. Listed once per
    /// read: the windows of consecutive days share seven of their eight days.
    fn lines_on(&self, workflow: &str, date: NaiveDate) -> Vec<LabelLine> {
        let key = (workflow.to_owned(), date);
        let mut memo = self.label_days.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(lines) = memo.get(&key) {
            return lines.clone();
        }
        let mut lines = self.cache.day_label_lines(self.local, workflow, date);
        match self.labels.lines(workflow, date) {
            Ok(more) => lines.extend(more),
            Err(error) => {
                tracing::warn!(%error, workflow, %date,
                    "The data page could not read the bucket's labels.");
            }
        }
        memo.insert(key, lines.clone());
        lines
    }
}

/// One page read of the bucket.
pub struct BucketRead<'a> {
    /// The segments.
    pub bucket: Arc<Bucket>,
    /// The labels objects.
    pub labels: &'a dyn BucketLabels,
    /// The local data folders (for the labels the page writes).
    pub local: &'a [PathBuf],
    /// Object summaries and local day labels.
    pub cache: &'a SummaryCache,
    /// What the read did so far.
    pub progress: &'a Progress,
    /// The labels lines of each `(workflow, day)` read so far (this read only).
    pub label_days: LabelDays,
}

/// Labels lines by `(workflow, day)`, kept for one read.
pub type LabelDays = Mutex<HashMap<(String, NaiveDate), Vec<LabelLine>>>;

impl Source for BucketRead<'_> {
    fn files(&self, selection: &Selection) -> Result<Vec<DataFile>, DatasetError> {
        let prune = Prune {
            workflows: &selection.workflows,
            since: selection.since,
            until: selection.until,
        };
        let (days, stats) = self.bucket.list(&prune)?;
        let p = self.progress;
        p.bump(&p.listings, stats.listings);
        let url = self.bucket.url().to_string();
        let mut files = Vec::new();
        for day in days {
            let len: u64 = day.objects.iter().map(|o| o.size).sum();
            p.bump(&p.objects_total, day.objects.len() as u64);
            p.bump(&p.bytes_total, len);
            files.push(DataFile {
                path: PathBuf::from(format!(
                    "{url}/workflow={}/date={}/{}-*",
                    day.workflow,
                    day.date.format("%Y-%m-%d"),
                    day.instance
                )),
                workflow: day.workflow,
                date: day.date,
                source: 0,
                len,
                segments: Some(Segments {
                    bucket: Arc::clone(&self.bucket),
                    objects: day.objects,
                }),
            });
        }
        Ok(files)
    }

    fn summary(&self, file: &DataFile) -> Result<Arc<FileSummary>, DatasetError> {
        let mut total = FileSummary::default();
        for object in file.segments.iter().flat_map(|s| &s.objects) {
            total.add(&*self.cache.object(file, object)?);
            let p = self.progress;
            p.bump(&p.objects_done, 1);
            p.bump(&p.bytes_done, object.size);
        }
        Ok(Arc::new(total))
    }

    fn labels(&self, file: &DataFile) -> Arc<DayLabels> {
        let lines_on = |on| self.lines_on(&file.workflow, on);
        Arc::new(DayLabels::window(file.date, lines_on))
    }

    fn default_range(&self) -> Option<(NaiveDate, NaiveDate)> {
        let today = chrono::Utc::now().date_naive();
        let first = today.checked_sub_signed(chrono::Duration::days(DEFAULT_DAYS - 1))?;
        Some((first, today))
    }

    fn name(&self) -> &'static str {
        "bucket"
    }
}

#[cfg(test)]
#[path = "bucket_tests.rs"]
mod tests;
