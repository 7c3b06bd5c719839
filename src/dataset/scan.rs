//! Finding data files: `<data-dir>/<workflow>/<DD-MM-YYYY>/data.jsonl` in one or several data
//! folders (named by [`crate::layout`]), or one instance's segments of a workflow and day in a
//! bucket ([`super::source`]); and the `YYYY-MM-DD` days the flags take.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::NaiveDate;

use super::error::DatasetError;
use super::source::{self, Bucket, DataDir, ListStats, Prune, Segments};
use crate::layout;

/// One day's data file of one workflow in one data folder; in a bucket, one instance's
/// segments of that workflow and day, which together are that instance's day file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataFile {
    /// Its path; for a bucket, `<url>/workflow=<id>/date=<day>/<instance>-*` (a name for
    /// messages: the lines come from `segments`).
    pub path: PathBuf,
    /// The workflow folder's name.
    pub workflow: String,
    /// The day folder's date.
    pub date: NaiveDate,
    /// Index of its data folder among those given (replica order).
    pub source: usize,
    /// Size in bytes when scanned (for a bucket, of the compressed objects).
    pub len: u64,
    /// For a bucket: the objects to read instead of `path`.
    pub segments: Option<Segments>,
}

/// Which files to pick.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Only these workflows (empty: all).
    pub workflows: Vec<String>,
    /// First day, inclusive.
    pub since: Option<NaiveDate>,
    /// Last day, inclusive.
    pub until: Option<NaiveDate>,
}

impl Selection {
    fn wants_workflow(&self, name: &str) -> bool {
        self.workflows.is_empty() || self.workflows.iter().any(|w| w == name)
    }

    fn wants_date(&self, date: NaiveDate) -> bool {
        self.since.map_or(true, |s| date >= s) && self.until.map_or(true, |u| date <= u)
    }
}

/// What a scan found.
#[derive(Debug, Default)]
pub struct Scan {
    /// Data files, sorted by date, workflow, then data folder order.
    pub files: Vec<DataFile>,
    /// Entries that are not `<workflow>/<DD-MM-YYYY>/` folders (ignored).
    pub ignored: Vec<PathBuf>,
    /// Each bucket read, and what listing it did.
    pub buckets: Vec<(Arc<Bucket>, ListStats)>,
}

impl Scan {
    /// Total size of the files found.
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.len).sum()
    }

    /// One line per bucket for the summaries: listings, objects selected, objects read.
    pub fn bucket_notes(&self) -> Vec<String> {
        self.buckets
            .iter()
            .map(|(bucket, stats)| {
                format!(
                    "bucket {}: {} listings, {} objects selected, {} objects read",
                    stats.url,
                    stats.listings,
                    stats.objects,
                    bucket.objects_opened()
                )
            })
            .collect()
    }

    /// The files grouped by date, in date order.
    pub fn by_date(&self) -> impl Iterator<Item = &[DataFile]> {
        self.files.chunk_by(|a, b| a.date == b.date)
    }
}

/// Lists the data files of `data_dirs` (folders or bucket URLs) that `selection` picks. A data
/// folder that cannot be listed is an error; so is a workflow or day folder that cannot be
/// listed (data would be silently missing otherwise), and a bucket that cannot be listed.
pub fn scan(data_dirs: &[PathBuf], selection: &Selection) -> Result<Scan, DatasetError> {
    let mut out = Scan::default();
    for (source, dir) in data_dirs.iter().enumerate() {
        match source::classify(dir)? {
            DataDir::Local(dir) => scan_folder(dir, source, selection, &mut out)?,
            DataDir::Bucket(url) => scan_bucket(Bucket::open(url)?, source, selection, &mut out)?,
        }
    }
    out.files.sort_by(|a, b| {
        (a.date, &a.workflow, a.source, &a.path).cmp(&(b.date, &b.workflow, b.source, &b.path))
    });
    Ok(out)
}

fn scan_folder(
    dir: &Path,
    source: usize,
    selection: &Selection,
    out: &mut Scan,
) -> Result<(), DatasetError> {
    for workflow in sorted_entries(dir)? {
        let Some(name) = file_name(&workflow) else {
            out.ignored.push(workflow);
            continue;
        };
        if layout::is_spool_folder(&name) {
            // The sink's spool (`--sink`): its segments are copies of the day files.
            continue;
        }
        if !workflow.is_dir() {
            out.ignored.push(workflow);
            continue;
        }
        if !selection.wants_workflow(&name) {
            continue;
        }
        for day in sorted_entries(&workflow)? {
            let date = file_name(&day).and_then(|n| layout::parse_day_folder(&n));
            let Some(date) = date.filter(|_| day.is_dir()) else {
                out.ignored.push(day);
                continue;
            };
            if !selection.wants_date(date) {
                continue;
            }
            let path = layout::data_file_in(&day);
            let Ok(meta) = fs::metadata(&path) else {
                continue;
            };
            if meta.is_file() {
                out.files.push(DataFile {
                    path,
                    workflow: name.clone(),
                    date,
                    source,
                    len: meta.len(),
                    segments: None,
                });
            }
        }
    }
    Ok(())
}

fn scan_bucket(
    bucket: Arc<Bucket>,
    source: usize,
    selection: &Selection,
    out: &mut Scan,
) -> Result<(), DatasetError> {
    let prune = Prune {
        workflows: &selection.workflows,
        since: selection.since,
        until: selection.until,
    };
    let (days, stats) = bucket.list(&prune)?;
    let url = bucket.url().to_string();
    out.ignored.extend(
        stats
            .ignored
            .iter()
            .map(|key| PathBuf::from(format!("{url}: {key}"))),
    );
    for day in days {
        let path = PathBuf::from(format!(
            "{url}/{}/{}/{}-*",
            layout::workflow_partition(&day.workflow),
            layout::date_partition(day.date),
            day.instance
        ));
        out.files.push(DataFile {
            path,
            workflow: day.workflow,
            date: day.date,
            source,
            len: day.objects.iter().map(|o| o.size).sum(),
            segments: Some(Segments {
                bucket: Arc::clone(&bucket),
                objects: day.objects,
            }),
        });
    }
    out.buckets.push((bucket, stats));
    Ok(())
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, DatasetError> {
    let error = |source| DatasetError::DataDir {
        path: dir.to_path_buf(),
        source,
    };
    let mut entries = Vec::new();
    for entry in fs::read_dir(dir).map_err(error)? {
        entries.push(entry.map_err(error)?.path());
    }
    entries.sort();
    Ok(entries)
}

fn file_name(path: &Path) -> Option<String> {
    path.file_name()?.to_str().map(str::to_owned)
}

/// A day given on the command line, `YYYY-MM-DD`.
pub fn parse_day(text: &str) -> Result<NaiveDate, String> {
    let b = text.as_bytes();
    let shape = b.len() == 10 && b[4] == b'-' && b[7] == b'-';
    match shape.then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()) {
        Some(Some(date)) => Ok(date),
        _ => Err(format!("expected a date YYYY-MM-DD, got {text:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_days() {
        assert_eq!(
            parse_day("2025-08-24"),
            Ok(NaiveDate::from_ymd_opt(2025, 8, 24).unwrap())
        );
        assert!(parse_day("24-08-2025").is_err());
        assert!(parse_day("2025-8-24").is_err());
        assert!(parse_day("2025-13-01").is_err());
    }
}
