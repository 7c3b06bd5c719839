//! Where the pages read from: the local data folders ([`Local`]) or the sink's bucket
//! ([`super::bucket::BucketRead`]). The overview, the list and one record are written once
//! against [`Source`]; a bucket data file is one instance's segments of a workflow and day,
//! as for the data tools.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::NaiveDate;

use super::labels::DayLabels;
use super::summary::{FileSummary, SummaryCache};
use crate::dataset::scan::{scan, DataFile, Selection};
use crate::dataset::DatasetError;

/// What the pages read from a source (blocking calls: run them on a blocking thread).
pub trait Source {
    /// The data files `selection` picks, by date, workflow, data folder (and instance).
    fn files(&self, selection: &Selection) -> Result<Vec<DataFile>, DatasetError>;
    /// What one data file holds.
    fn summary(&self, file: &DataFile) -> Result<Arc<FileSummary>, DatasetError>;
    /// The labels of `file`'s records, as `export` applies them: those of its workflow and
    /// day in every data folder, and the unmatched ones of the days after it within the
    /// window ([`DayLabels::window`]). Reads labels files only, eight days of them.
    fn labels(&self, file: &DataFile) -> Arc<DayLabels>;
    /// The range the overview lists when none is given; `None`: every day, then the last
    /// [`super::overview_data::DEFAULT_DAYS`] days with data are shown.
    fn default_range(&self) -> Option<(NaiveDate, NaiveDate)> {
        None
    }
    /// `?source=` of the links to this source's pages (`""` for local).
    fn name(&self) -> &'static str {
        ""
    }
}

/// The local data folders (`--data-dir`), with the summary cache.
pub struct Local<'a> {
    /// The folders.
    pub dirs: &'a [PathBuf],
    /// Summaries and day labels, cached by file stamp.
    pub cache: &'a SummaryCache,
}

impl Source for Local<'_> {
    fn files(&self, selection: &Selection) -> Result<Vec<DataFile>, DatasetError> {
        Ok(scan(self.dirs, selection)?.files)
    }

    fn summary(&self, file: &DataFile) -> Result<Arc<FileSummary>, DatasetError> {
        self.cache.file(&file.path)
    }

    fn labels(&self, file: &DataFile) -> Arc<DayLabels> {
        // Every folder's labels of a day, as `export` reads them.
        let lines_on = |on| self.cache.day_label_lines(self.dirs, &file.workflow, on);
        Arc::new(DayLabels::window(file.date, lines_on))
    }
}
