//! Labels for the data tools (docs/labels.md): the `labels.jsonl` files of one day, read once
//! per day (in every `--data-dir`, so a label written in one replica's folder is found for a
//! record of another's), joined to records by `(request_id, choice)`; the last label wins
//! (latest `timestamp`; in one file, the last line). Also `export`'s label filters.

use std::collections::{BTreeSet, HashMap};
use std::io::{self, BufRead};
use std::path::PathBuf;

use super::error::DatasetError;
use super::label_days::{self, Lines};
use super::record::Record;
use super::scan::DataFile;
use super::skip::Skip;
use crate::labels::{Label, LabelLine};

/// The last labels of one day's records.
#[derive(Debug, Default)]
pub struct DayLabels {
    /// `(request_id, choice)` → its last label (`none` labels kept: they take others back).
    last: HashMap<(String, u32), LabelLine>,
    /// Records seen so far per labelled `request_id`: the choice of the next one.
    seen: HashMap<String, u32>,
    /// Label lines that could not be parsed (skipped).
    pub bad_lines: u64,
}

impl DayLabels {
    /// Reads the labels of the workflows of `day` (one day's data files) from every folder of
    /// `data_dirs` (of a bucket: its label segments, see `bucket_labels`): that day's, and the
    /// unmatched ones of the days after it within the window (`label_days`). A missing labels
    /// file is no label; an unreadable one is an error.
    pub fn read(data_dirs: &[PathBuf], day: &[DataFile]) -> Result<DayLabels, DatasetError> {
        let mut labels = DayLabels::default();
        let Some(date) = day.first().map(|f| f.date) else {
            return Ok(labels);
        };
        let workflows: BTreeSet<&str> = day.iter().map(|f| f.workflow.as_str()).collect();
        for (on, lines) in label_days::dates(date) {
            label_days::read_date(data_dirs, day, &workflows, on, |r| labels.add(r, lines))?;
        }
        Ok(labels)
    }

    /// Adds the lines of one labels file (`Lines::Unmatched`: only those marked unmatched;
    /// the others, and bad lines, belong to that file's own day).
    fn add(&mut self, reader: impl BufRead, lines: Lines) -> io::Result<()> {
        for line in reader.lines() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            let Ok(label) = serde_json::from_str::<LabelLine>(&line) else {
                if lines == Lines::All {
                    self.bad_lines += 1;
                }
                continue;
            };
            if !lines.keeps(label.unmatched) {
                continue;
            }
            let key = (label.request_id.clone(), label.choice);
            let newer = self
                .last
                .get(&key)
                .map_or(true, |old| label.timestamp >= old.timestamp);
            if newer {
                self.seen.entry(label.request_id.clone()).or_insert(0);
                self.last.insert(key, label);
            }
        }
        Ok(())
    }

    /// The last label of `record` (`None` when unlabelled or labelled `none`). Call once per
    /// record, in file order: the records of one request are its choices 0, 1, ...
    pub fn of(&mut self, record: &Record) -> Option<&LabelLine> {
        let id = record.request_id()?;
        let count = self.seen.get_mut(id)?;
        let choice = *count;
        *count += 1;
        self.last
            .get(&(id.to_owned(), choice))
            .filter(|l| l.label != Label::None)
    }
}

/// `export`'s `--label`, `--exclude-label` and `--tag`.
#[derive(Debug, Default)]
pub struct LabelFilter {
    /// `--label`: the record's last label is one of these (`none`: unlabelled).
    pub want: Vec<Label>,
    /// `--exclude-label`: the record's last label is none of these.
    pub exclude: Vec<Label>,
    /// `--tag`: the record's last label has one of these tags.
    pub tags: Vec<String>,
}

impl LabelFilter {
    /// Whether any label filter is set (labels are only read then).
    pub fn active(&self) -> bool {
        !self.want.is_empty() || !self.exclude.is_empty() || !self.tags.is_empty()
    }

    /// Whether a record whose last label is `label` passes.
    pub fn check(&self, label: Option<&LabelLine>) -> Result<(), Skip> {
        let value = label.map_or(Label::None, |l| l.label);
        if !self.want.is_empty() && !self.want.contains(&value) {
            return Err(Skip::Label);
        }
        if self.exclude.contains(&value) {
            return Err(Skip::ExcludedLabel);
        }
        if !self.tags.is_empty() {
            let tagged = label.is_some_and(|l| l.tags.iter().any(|t| self.tags.contains(t)));
            if !tagged {
                return Err(Skip::Tag);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(ts: &str, id: &str, choice: u32, label: &str, tags: &[&str]) -> String {
        serde_json::json!({"timestamp": ts, "request_id": id, "choice": choice, "label": label,
                           "tags": tags, "source": "api"})
        .to_string()
    }

    #[test]
    fn last_label_wins_by_timestamp_then_order() {
        let mut labels = DayLabels::default();
        let first = [
            line("2026-01-01T10:00:00.000Z", "a", 0, "good", &[]),
            line("2026-01-01T12:00:00.000Z", "b", 0, "good", &["t"]),
            "not json".to_owned(),
            line("2026-01-01T10:00:00.000Z", "a", 0, "bad", &[]),
        ]
        .join("\n");
        labels.add(first.as_bytes(), Lines::All).expect("read");
        let other_replica = line("2026-01-01T11:00:00.000Z", "b", 0, "none", &[]);
        labels
            .add(other_replica.as_bytes(), Lines::All)
            .expect("read");
        assert_eq!(labels.bad_lines, 1);
        assert_eq!(labels.last[&("a".to_owned(), 0)].label, Label::Bad);
        assert_eq!(labels.last[&("b".to_owned(), 0)].label, Label::Good);
        let filter = LabelFilter {
            want: vec![Label::Good],
            exclude: vec![],
            tags: vec!["t".into()],
        };
        assert_eq!(filter.check(None), Err(Skip::Label));
        let good = &labels.last[&("b".to_owned(), 0)];
        assert_eq!(filter.check(Some(good)), Ok(()));
        let unlabelled = LabelFilter {
            want: vec![Label::None],
            ..LabelFilter::default()
        };
        assert_eq!(unlabelled.check(None), Ok(()));
        assert_eq!(unlabelled.check(Some(good)), Err(Skip::Label));
    }
}
