//! The labels line format (docs/labels.md): one JSON object per line of a day folder's
//! `labels.jsonl`, appended by the recorder; the last line for a record wins.
//!
//! ```json
//! {"timestamp":"2026-12-02T10:30:00.000Z","request_id":"chatcmpl-1","choice":0,
//!  "label":"good","note":"crisp","tags":["tone"],"source":"feedback"}
//! ```

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// A judgement of one record. `None` takes back an earlier `good` or `bad`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Label {
    /// Keep it: a good example.
    Good,
    /// A bad example.
    Bad,
    /// No judgement (un-labels the record).
    None,
}

impl Label {
    /// The label as written: `good`, `bad` or `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Good => "good",
            Label::Bad => "bad",
            Label::None => "none",
        }
    }
}

/// Where a label came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// `POST /feedback` on a workflow port (an application).
    Feedback,
    /// `POST /api/labels` on the admin listener (a program).
    Api,
    /// The admin web page's buttons.
    Ui,
}

/// One line of `labels.jsonl`, keys in this order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelLine {
    /// When the label was given: RFC 3339 UTC with milliseconds and `Z`.
    pub timestamp: String,
    /// The labelled record's `request_id` (the upstream's `id` of the answer).
    pub request_id: String,
    /// Which record of that `request_id`: its position among the request's records (0 first).
    #[serde(default)]
    pub choice: u32,
    /// The judgement.
    pub label: Label,
    /// A free-text note, when one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Free-form tags, when some were given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Who gave it.
    pub source: Source,
    /// True (and then written, last) for a label whose record this instance did not hold:
    /// filed under the day it was given, it applies to a record of that day or of the
    /// `dataset::label_days::UNMATCHED_WINDOW_DAYS` days before (docs/labels.md).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unmatched: bool,
}

impl LabelLine {
    /// The timestamp format of the line, as records write theirs.
    pub fn format_timestamp(at: DateTime<Utc>) -> String {
        at.to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    /// The line as JSON, without a newline.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a label line serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_keys_and_round_trip() {
        let line = LabelLine {
            timestamp: "2026-12-02T10:30:00.000Z".into(),
            request_id: "chatcmpl-1".into(),
            choice: 1,
            label: Label::Good,
            note: Some("crisp".into()),
            tags: vec!["tone".into()],
            source: Source::Feedback,
            unmatched: false,
        };
        let json = line.to_json();
        assert_eq!(
            json,
            r#"{"timestamp":"2026-12-02T10:30:00.000Z","request_id":"chatcmpl-1","choice":1,"label":"good","note":"crisp","tags":["tone"],"source":"feedback"}"#
        );
        let back: LabelLine = serde_json::from_str(&json).expect("parses");
        assert_eq!(back, line);
        let bare = LabelLine {
            note: None,
            tags: Vec::new(),
            label: Label::None,
            ..line
        };
        assert!(!bare.to_json().contains("note"));
        assert!(!bare.to_json().contains("tags"));
        assert!(!bare.to_json().contains("unmatched"));
        let unmatched = LabelLine {
            unmatched: true,
            ..bare
        };
        let json = unmatched.to_json();
        assert!(
            json.ends_with(r#","source":"feedback","unmatched":true}"#),
            "{json}"
        );
        let back: LabelLine = serde_json::from_str(&json).expect("parses");
        assert!(back.unmatched);
    }
}
