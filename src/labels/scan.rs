//! Finding a record that the index no longer (or never) held: a scan of the data folders,
//! newest day first, one line in memory at a time. Blocking: run it on a blocking thread.

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::NaiveDate;
use serde::Deserialize;

use super::index::Location;
use crate::layout;

/// Just the `request_id` of a record line.
#[derive(Deserialize)]
struct IdOnly {
    /// The record's `request_id`, when it has one.
    #[serde(default)]
    request_id: Option<String>,
}

/// Looks for the records of `request_id` under `data_dir`, in the folder of `workflow` only
/// when one is given, else in every workflow folder; in the day folder of `day` only when one
/// is given, else in every day folder, newest first (across workflows). The first day file holding it is the answer. Unreadable folders and files are
/// skipped; only an unreadable `data_dir` is an error (a missing one finds nothing).
pub fn find(
    data_dir: &Path,
    workflow: Option<&str>,
    day: Option<NaiveDate>,
    request_id: &str,
) -> io::Result<Option<Location>> {
    let mut days = day_files(data_dir, workflow)?;
    days.retain(|d| day.map_or(true, |wanted| d.1 == wanted));
    // Newest first; within a day, workflow order does not matter.
    days.sort_by_key(|d| std::cmp::Reverse(d.1));
    // The id as it appears inside a JSON line (quoted and escaped): a cheap pre-filter
    // before a line is parsed.
    let needle = serde_json::to_string(request_id).expect("a string serialises");
    for (workflow_id, day, path) in days {
        let Ok(file) = File::open(&path) else {
            continue;
        };
        let records = count_in(BufReader::new(file), needle.as_bytes(), request_id);
        if records > 0 {
            return Ok(Some(Location {
                workflow_id: Arc::from(workflow_id.as_str()),
                day,
                records,
            }));
        }
    }
    Ok(None)
}

/// Every `(workflow, day, data.jsonl)` under `data_dir` (of `workflow` only, when given).
fn day_files(
    data_dir: &Path,
    workflow: Option<&str>,
) -> io::Result<Vec<(String, NaiveDate, PathBuf)>> {
    let workflows: Vec<String> = match workflow {
        Some(id) => vec![id.to_owned()],
        None => match fs::read_dir(data_dir) {
            Ok(entries) => entries
                .flatten()
                .filter(|e| e.path().is_dir())
                .filter_map(|e| e.file_name().to_str().map(str::to_owned))
                .collect(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        },
    };
    let mut days = Vec::new();
    for id in workflows {
        let Ok(entries) = fs::read_dir(data_dir.join(&id)) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(day) = name.to_str().and_then(layout::parse_day_folder) else {
                continue;
            };
            let path = layout::data_file_in(&entry.path());
            if path.is_file() {
                days.push((id.clone(), day, path));
            }
        }
    }
    Ok(days)
}

/// How many lines of `reader` are records of `request_id` (lines that do not contain
/// `needle` are not parsed). A line that cannot be read ends the count there.
fn count_in(mut reader: impl BufRead, needle: &[u8], request_id: &str) -> u32 {
    let mut count = 0u32;
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return count,
            Ok(_) => {}
        }
        if !contains(&line, needle) {
            continue;
        }
        let parsed: Result<IdOnly, _> = serde_json::from_slice(&line);
        if parsed.is_ok_and(|r| r.request_id.as_deref() == Some(request_id)) {
            count = count.saturating_add(1);
        }
    }
}

/// Whether `haystack` contains `needle`.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, workflow: &str, day: &str, lines: &[&str]) {
        let folder = dir.join(workflow).join(day);
        fs::create_dir_all(&folder).expect("mkdir");
        let mut text = lines.join("\n");
        text.push('\n');
        fs::write(layout::data_file_in(&folder), text).expect("write");
    }

    #[test]
    fn newest_day_first_and_scoped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        write(d, "a", "01-01-2026", &[r#"{"request_id":"x"}"#]);
        write(
            d,
            "b",
            "02-01-2026",
            &[r#"{"request_id":"x"}"#, r#"{"request_id":"x"}"#, "torn {"],
        );
        write(d, "b", "03-01-2026", &[r#"{"request_id":"x-2"}"#]);
        let found = find(d, None, None, "x").expect("scan").expect("found");
        assert_eq!(&*found.workflow_id, "b");
        assert_eq!(
            found.day,
            NaiveDate::from_ymd_opt(2026, 1, 2).expect("date")
        );
        assert_eq!(found.records, 2);
        let scoped = find(d, Some("a"), None, "x").expect("scan").expect("found");
        assert_eq!(&*scoped.workflow_id, "a");
        assert_eq!(find(d, Some("c"), None, "x").expect("scan"), None);
        assert_eq!(find(d, None, None, "y").expect("scan"), None);
        assert_eq!(
            find(&d.join("missing"), None, None, "x").expect("scan"),
            None
        );
        let first = NaiveDate::from_ymd_opt(2026, 1, 1);
        let that_day = find(d, None, first, "x").expect("scan").expect("found");
        assert_eq!((&*that_day.workflow_id, that_day.records), ("a", 1));
        let none_then = NaiveDate::from_ymd_opt(2026, 1, 3);
        assert_eq!(find(d, None, none_then, "x").expect("scan"), None);
    }
}
