//! The window of unmatched labels (`label_days`), read through `DayLabels::read` from local
//! folders: a label filed without its record on a later day applies within the window only.

use std::path::PathBuf;

use chrono::NaiveDate;

use super::label_days::{dates, Lines, UNMATCHED_WINDOW_DAYS};
use super::labels::DayLabels;
use super::record::Record;
use super::scan::DataFile;
use crate::labels::Label;
use crate::layout;

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, d).expect("date")
}

/// Writes `lines` to `<dir>/w/<day>/labels.jsonl`.
fn labels(dir: &std::path::Path, on: NaiveDate, lines: &[String]) {
    let folder = layout::day_dir(dir, "w", on);
    std::fs::create_dir_all(&folder).expect("mkdir");
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(layout::labels_file_in(&folder), text).expect("write");
}

fn line(on: NaiveDate, id: &str, label: &str, unmatched: bool) -> String {
    let ts = format!("{}T12:00:00.000Z", on.format("%Y-%m-%d"));
    let mut v = serde_json::json!({"timestamp": ts, "request_id": id, "choice": 0,
                                   "label": label, "source": "feedback"});
    if unmatched {
        v["unmatched"] = serde_json::json!(true);
    }
    v.to_string()
}

/// The last label of the record `id` of day `on`, as `export` and `stats` see it.
fn label_of(dirs: &[PathBuf], on: NaiveDate, id: &str) -> Option<Label> {
    let file = DataFile {
        path: layout::data_file_in(&layout::day_dir(&dirs[0], "w", on)),
        workflow: "w".into(),
        date: on,
        source: 0,
        len: 0,
        segments: None,
    };
    let mut read = DayLabels::read(dirs, std::slice::from_ref(&file)).expect("read");
    let text = format!(
        r#"{{"messages":[{{"role":"user","content":"hi"}},{{"role":"assistant","content":"yo"}}],"request_id":"{id}","timestamp":"2026-01-01T10:00:00.000Z","workflow_id":"w","endpoint":"/v1/chat/completions","model":"m"}}"#
    );
    let record = Record::parse(text.as_bytes()).expect("record");
    read.of(&record).map(|l| l.label)
}

#[test]
fn the_window_follows_the_day() {
    let all: Vec<_> = dates(day(1)).collect();
    assert_eq!(all.len(), 1 + UNMATCHED_WINDOW_DAYS as usize);
    assert_eq!(all[0], (day(1), Lines::All));
    assert_eq!(all[7], (day(8), Lines::Unmatched));
}

#[test]
fn unmatched_labels_of_later_days_apply_within_the_window_only() {
    let (a, b) = (
        tempfile::tempdir().expect("a"),
        tempfile::tempdir().expect("b"),
    );
    let dirs = vec![a.path().to_path_buf(), b.path().to_path_buf()];
    // Records of day 1. Replica B got their feedback later, without the record.
    labels(a.path(), day(1), &[line(day(1), "own", "bad", false)]);
    labels(
        b.path(),
        day(3),
        &[
            line(day(3), "late", "good", true),
            // A later unmatched label beats the record day's own, by timestamp.
            line(day(3), "own", "good", true),
            // Not unmatched: a label of a record of day 3, not of day 1.
            line(day(3), "of-day-3", "good", false),
        ],
    );
    // The last day of the window, and the first day past it.
    labels(b.path(), day(8), &[line(day(8), "edge", "bad", true)]);
    labels(
        b.path(),
        day(10),
        &[line(day(10), "too-late", "good", true)],
    );
    // An unmatched label on the record's own day applies as any label of that day.
    labels(b.path(), day(1), &[line(day(1), "same-day", "good", true)]);
    assert_eq!(label_of(&dirs, day(1), "late"), Some(Label::Good));
    assert_eq!(label_of(&dirs, day(1), "own"), Some(Label::Good));
    assert_eq!(label_of(&dirs, day(1), "of-day-3"), None);
    assert_eq!(label_of(&dirs, day(3), "of-day-3"), Some(Label::Good));
    assert_eq!(label_of(&dirs, day(1), "edge"), Some(Label::Bad));
    assert_eq!(label_of(&dirs, day(1), "too-late"), None);
    // 8 days after day 2: past the window too; 7 after day 3: the last day in it.
    assert_eq!(label_of(&dirs, day(2), "too-late"), None);
    assert_eq!(label_of(&dirs, day(3), "too-late"), Some(Label::Good));
    assert_eq!(label_of(&dirs, day(1), "same-day"), Some(Label::Good));
    // An unmatched label does not reach back to records of later days.
    assert_eq!(label_of(&dirs, day(4), "late"), None);
}
