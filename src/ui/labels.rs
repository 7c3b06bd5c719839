//! Reading a day's labels for the page (`labels.jsonl` beside `data.jsonl`, lines of
//! [`crate::labels::LabelLine`], docs/labels.md): the last line for a `(request_id, choice)`
//! wins, and `none` un-labels. Bounded by the number of labelled records of the day.
//!
//! A record's labels are those `export` applies ([`DayLabels::window`]): its day's, and the
//! unmatched ones filed on the days after it within
//! [`crate::dataset::label_days::UNMATCHED_WINDOW_DAYS`] (fleet feedback, docs/labels.md).

use std::collections::HashMap;
use std::path::Path;

use chrono::NaiveDate;

use crate::dataset::label_days;
use crate::dataset::reader::{Line, LineReader};
use crate::labels::{Label as Judgement, LabelLine};
use crate::layout;

/// The current label of one record choice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// `good` or `bad`.
    pub label: String,
    /// The note given with it (may be empty).
    pub note: String,
    /// Free-form tags.
    pub tags: Vec<String>,
}

/// The labels of one day folder, keyed by `(request_id, choice)`.
#[derive(Debug, Default, Clone)]
pub struct DayLabels(HashMap<(String, u32), Label>);

impl DayLabels {
    /// The label lines of `<day_dir>/labels.jsonl`, in file order: none when it is missing;
    /// unreadable lines are skipped (a torn last line is a write in progress).
    pub fn lines_in(day_dir: &Path) -> Vec<LabelLine> {
        let mut out = Vec::new();
        let Ok(mut reader) = LineReader::open(&layout::labels_file_in(day_dir)) else {
            return out;
        };
        while let Ok(Some((_, line))) = reader.next_line() {
            if let Line::Complete(bytes) = line {
                out.extend(serde_json::from_slice::<LabelLine>(bytes).ok());
            }
        }
        out
    }

    /// The labels of lines from several files (a day folder's and the bucket's labels
    /// objects): the newest `timestamp` wins, ties in the order given.
    pub fn from_lines(mut lines: Vec<LabelLine>) -> DayLabels {
        lines.sort_by(|a, b| a.timestamp.cmp(&b.timestamp));
        Self::apply(lines)
    }

    /// The labels of the records of `date`, as `export` and `stats` join them: every line
    /// `lines_on` gives for `date`, and the unmatched lines it gives for each later day of
    /// the window ([`label_days::dates`]); then the newest `timestamp` wins, ties in that
    /// order, as in `export`. `lines_on` reads labels files only (no data file).
    pub fn window(
        date: NaiveDate,
        mut lines_on: impl FnMut(NaiveDate) -> Vec<LabelLine>,
    ) -> DayLabels {
        let mut lines = Vec::new();
        for (on, which) in label_days::dates(date) {
            let of_day = lines_on(on).into_iter();
            lines.extend(of_day.filter(|l| which.keeps(l.unmatched)));
        }
        Self::from_lines(lines)
    }

    /// The last line of each `(request_id, choice)` wins; `none` un-labels.
    fn apply(lines: Vec<LabelLine>) -> DayLabels {
        let mut out = HashMap::new();
        for entry in lines {
            let key = (entry.request_id, entry.choice);
            if entry.label == Judgement::None {
                out.remove(&key);
            } else {
                out.insert(
                    key,
                    Label {
                        label: entry.label.as_str().to_owned(),
                        note: entry.note.unwrap_or_default(),
                        tags: entry.tags,
                    },
                );
            }
        }
        DayLabels(out)
    }

    /// The label of `request_id`'s choice `choice`, if any.
    pub fn get(&self, request_id: &str, choice: u32) -> Option<&Label> {
        self.0.get(&(request_id.to_owned(), choice))
    }

    /// Every labelled choice, `(request_id, choice)`, and its label.
    pub fn entries(&self) -> impl Iterator<Item = (&(String, u32), &Label)> {
        self.0.iter()
    }

    /// How many choices carry a label (`good` or `bad`).
    pub fn labelled(&self) -> u64 {
        self.0.len() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_wins_and_none_unlabels() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            layout::labels_file_in(dir.path()),
            concat!(
                "{\"timestamp\":\"t\",\"request_id\":\"a\",\"label\":\"bad\",\"source\":\"api\"}\n",
                "{\"timestamp\":\"t\",\"request_id\":\"a\",\"choice\":0,\"label\":\"good\",\"note\":\"ok\",\"source\":\"ui\"}\n",
                "{\"timestamp\":\"t\",\"request_id\":\"b\",\"choice\":1,\"label\":\"bad\",\"source\":\"api\"}\n",
                "{\"timestamp\":\"t\",\"request_id\":\"b\",\"choice\":1,\"label\":\"none\",\"source\":\"api\"}\n",
                "not json\n",
                "{\"timestamp\":\"t\",\"request_id\":\"c\",\"label\":\"good\"",
            ),
        )
        .unwrap();
        let labels = DayLabels::from_lines(DayLabels::lines_in(dir.path()));
        assert_eq!(labels.get("a", 0).unwrap().label, "good");
        assert_eq!(labels.get("a", 0).unwrap().note, "ok");
        assert!(labels.get("b", 1).is_none());
        assert!(labels.get("c", 0).is_none());
        assert_eq!(labels.labelled(), 1);
        let good = labels.entries().filter(|(_, l)| l.label == "good");
        assert_eq!(good.count(), 1);
    }
}
