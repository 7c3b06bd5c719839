//! Why `export` did not write a line: the reasons its summary counts. A leaf shared by the
//! filters, the label filters, the day merge and the Responses chains.

use std::fmt;

/// Why a line was not written.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Skip {
    /// Not JSON, or lacks a required field.
    Invalid,
    /// The file's last line, without a newline.
    Torn,
    /// `--endpoint`.
    Endpoint,
    /// `--model`.
    Model,
    /// `--finish-reason` (the record's reason; `none` for null or missing).
    FinishReason(String),
    /// `--min-turns`.
    MinTurns,
    /// The output format cannot express the record (why).
    Unconvertible(String),
    /// `--dedupe`: an identical conversation was written earlier.
    Duplicate,
    /// A `partial` record (part of its conversation was not captured), without `--keep-partial`.
    Partial,
    /// A Responses turn whose `previous_response_id` names no record in the selected data.
    NoHistory,
    /// `--label`: the record's last label is not one of those asked for.
    Label,
    /// `--exclude-label`: the record's last label is excluded.
    ExcludedLabel,
    /// `--tag`: the record's last label has none of the tags.
    Tag,
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Skip::Invalid => f.write_str("invalid line"),
            Skip::Torn => f.write_str("torn last line"),
            Skip::Endpoint => f.write_str("endpoint"),
            Skip::Model => f.write_str("model"),
            Skip::FinishReason(reason) => write!(f, "finish_reason={reason}"),
            Skip::MinTurns => f.write_str("min-turns"),
            Skip::Unconvertible(why) => write!(f, "format cannot express: {why}"),
            Skip::Duplicate => f.write_str("duplicate"),
            Skip::Partial => f.write_str("partial (history not captured)"),
            Skip::Label => f.write_str("label"),
            Skip::ExcludedLabel => f.write_str("excluded label"),
            Skip::Tag => f.write_str("tag"),
            Skip::NoHistory => {
                f.write_str("history not captured (previous_response_id not in the selected data)")
            }
        }
    }
}
