//! Which labels files belong to the records of one day (docs/labels.md): that day's own
//! (every line), and, for labels filed without their record (`"unmatched": true`, see
//! `crate::labels::unknown`), the [`UNMATCHED_WINDOW_DAYS`] days after it. In a fleet, a
//! replica that did not hold a record files its label under the day it was given; that is the
//! record's day or a later one, unless feedback comes more than the window after the answer.
//! Each of those days is read from every `--data-dir` (local folders and buckets alike).

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::PathBuf;

use chrono::{Days, NaiveDate};

use super::error::DatasetError;
use super::scan::DataFile;
use crate::layout;

/// How many days after a record's day an unmatched label of it is still applied: feedback
/// arriving later than this after the answer is not joined (and counted nowhere).
pub const UNMATCHED_WINDOW_DAYS: u64 = 7;

/// Which lines of a labels file apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    /// The record day's own file: every line.
    All,
    /// A later day's file: only the lines marked `"unmatched": true`.
    Unmatched,
}

impl Lines {
    /// Whether a labels line applies under this rule (`unmatched`: the line's mark).
    pub fn keeps(self, unmatched: bool) -> bool {
        self == Lines::All || unmatched
    }
}

/// The days whose labels apply to the records of `date`: `date` itself (every line), then
/// the [`UNMATCHED_WINDOW_DAYS`] days after it (unmatched lines only), in that order.
pub fn dates(date: NaiveDate) -> impl Iterator<Item = (NaiveDate, Lines)> {
    let later = (1..=UNMATCHED_WINDOW_DAYS)
        .filter_map(move |n| date.checked_add_days(Days::new(n)))
        .map(|d| (d, Lines::Unmatched));
    std::iter::once((date, Lines::All)).chain(later)
}

/// Hands every labels file (or a bucket's label segment) of `workflows` on `date`, from
/// every folder of `data_dirs`, to `add`, one at a time. `day` is the record day's data
/// files (a bucket opened for them is reused). A missing file is no label; an unreadable
/// one is an error.
pub(super) fn read_date(
    data_dirs: &[PathBuf],
    day: &[DataFile],
    workflows: &BTreeSet<&str>,
    date: NaiveDate,
    mut add: impl FnMut(Box<dyn BufRead + Send>) -> io::Result<()>,
) -> Result<(), DatasetError> {
    for (index, dir) in data_dirs.iter().enumerate() {
        // A bucket: its `_labels/` segments of that date.
        if super::bucket_labels::read_day(index, dir, day, workflows, date, &mut add)? {
            continue;
        }
        for workflow in workflows {
            let path = layout::labels_file_in(&layout::day_dir(dir, workflow, date));
            let file = match File::open(&path) {
                Ok(file) => file,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(source) => return Err(DatasetError::Read { path, source }),
            };
            add(Box::new(BufReader::new(file)))
                .map_err(|source| DatasetError::Read { path, source })?;
        }
    }
    Ok(())
}
