//! [`RecordLine`]: what the proxy submits to the recorder.

use chrono::{DateTime, Utc};

/// One record to append: a JSON object filed under a workflow and a day.
#[derive(Debug)]
pub struct RecordLine {
    /// Workflow folder name; already validated as a safe folder name.
    pub workflow_id: String,
    /// When the answer completed; its UTC date picks the `DD-MM-YYYY` folder.
    pub timestamp: DateTime<Utc>,
    /// One JSON object, without a trailing newline.
    pub json: String,
}

/// Which file of its day folder a queued line goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LineFile {
    /// `data.jsonl`: a record.
    Data,
    /// `labels.jsonl`: a label of a record of that day (docs/labels.md).
    Labels,
}

/// A line in the recorder's queue: the line and the file it goes to.
#[derive(Debug)]
pub(crate) struct Queued {
    /// The line, its workflow and day.
    pub(crate) line: RecordLine,
    /// The file of the day folder it is appended to.
    pub(crate) file: LineFile,
}
