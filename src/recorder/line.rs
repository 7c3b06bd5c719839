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
