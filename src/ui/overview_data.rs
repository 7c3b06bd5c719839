//! The overview's numbers: per workflow and day, the cached file summaries and day labels
//! added up over the selected range.

use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDate;

use super::source::Source;
use super::summary::FileSummary;
use crate::dataset::scan::{DataFile, Selection};
use crate::dataset::DatasetError;

/// One workflow's numbers over the range.
#[derive(Debug, Default)]
pub struct WorkflowOverview {
    /// Everything added up.
    pub total: FileSummary,
    /// Records per day (days with data only).
    pub per_day: BTreeMap<NaiveDate, u64>,
    /// Labelled choices (`good` or `bad`).
    pub labelled: u64,
    /// Of those, `good`.
    pub good: u64,
    /// Of those, `bad`.
    pub bad: u64,
}

/// The overview of a range.
#[derive(Debug, Default)]
pub struct Overview {
    /// Per workflow folder.
    pub workflows: BTreeMap<String, WorkflowOverview>,
    /// The range shown (inclusive).
    pub since: Option<NaiveDate>,
    /// The range shown (inclusive).
    pub until: Option<NaiveDate>,
    /// Every day that has data, in any workflow (for the range picker).
    pub first_day: Option<NaiveDate>,
    /// The newest day with data.
    pub last_day: Option<NaiveDate>,
    /// Bytes of the files in the range.
    pub bytes: u64,
    /// Data files in the range.
    pub files: usize,
    /// `?source=` of the page (`""`: local, `bucket`: the sink's bucket).
    pub source: &'static str,
}

/// Days shown when no range is given: the 30 days up to the newest with data.
pub const DEFAULT_DAYS: i64 = 30;

/// Builds the overview (blocking: run it on a blocking thread). A source with a default
/// range (the bucket) lists only the range; the local folders are listed whole, and the range
/// defaults to the [`DEFAULT_DAYS`] up to the newest day with data.
pub fn build(
    source: &dyn Source,
    since: Option<NaiveDate>,
    until: Option<NaiveDate>,
) -> Result<Overview, DatasetError> {
    let (since, until, selection) = match source.default_range() {
        Some((first, last)) => {
            let (since, until) = (since.or(Some(first)), until.or(Some(last)));
            let selection = Selection {
                since,
                until,
                ..Selection::default()
            };
            (since, until, selection)
        }
        None => (since, until, Selection::default()),
    };
    let all = source.files(&selection)?;
    let first_day = all.first().map(|f| f.date);
    let last_day = all.last().map(|f| f.date);
    let until = until.or(last_day);
    let since = since.or_else(|| {
        let end = until?;
        end.checked_sub_signed(chrono::Duration::days(DEFAULT_DAYS - 1))
    });
    let mut out = Overview {
        since,
        until,
        first_day,
        last_day,
        source: source.name(),
        ..Overview::default()
    };
    let wanted =
        |f: &&DataFile| since.map_or(true, |s| f.date >= s) && until.map_or(true, |u| f.date <= u);
    // A day's labels once per (workflow, day): its folders and a bucket's instances share
    // them. Each labelled choice is counted once, though the windows of several days hold it.
    let mut labelled_days = HashSet::new();
    let mut counted = HashSet::new();
    for file in all.iter().filter(wanted) {
        let summary = source.summary(file)?;
        let workflow = out.workflows.entry(file.workflow.clone()).or_default();
        workflow.total.add(&summary);
        *workflow.per_day.entry(file.date).or_default() += summary.records;
        if labelled_days.insert((file.workflow.clone(), file.date)) {
            for (key, label) in source.labels(file).entries() {
                if !counted.insert((file.workflow.clone(), key.clone())) {
                    continue;
                }
                workflow.labelled += 1;
                match label.label.as_str() {
                    "good" => workflow.good += 1,
                    "bad" => workflow.bad += 1,
                    _ => {}
                }
            }
        }
        out.bytes += file.len;
        out.files += 1;
    }
    Ok(out)
}
