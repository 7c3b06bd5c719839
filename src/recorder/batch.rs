//! One write attempt for a batch: group records by file (keeping order), build one buffer per
//! file and append it in one write. Runs on a blocking thread.

use std::io;
use std::path::{Path, PathBuf};

use tracing::error;

use super::files::FileCache;
use super::line::{LineFile, Queued, RecordLine};
use super::settings::FsyncPolicy;
use crate::layout::{day_dir, labels_file_in, record_path};

/// What one attempt did.
#[derive(Debug, Default)]
pub(crate) struct BatchOutcome {
    /// Lines appended (and not to be written again).
    pub written: u64,
    /// Files whose append failed; their lines are back in `pending`.
    pub failures: Vec<(PathBuf, io::Error)>,
    /// Files whose fsync failed (policy `always`).
    pub sync_failures: Vec<(PathBuf, io::Error)>,
    /// Records refused as unsafe to write (bad workflow id, embedded newline).
    pub rejected: u64,
}

/// Writes `pending` and leaves in it only the lines of files whose append failed, in order.
pub(crate) fn write_batch(
    cache: &mut FileCache,
    data_dir: &Path,
    policy: FsyncPolicy,
    pending: &mut Vec<Queued>,
    sink: Option<&crate::sink::Spool>,
) -> BatchOutcome {
    let mut outcome = BatchOutcome::default();
    let groups = group_by_file(data_dir, std::mem::take(pending), &mut outcome.rejected);
    for (path, lines) in groups {
        let len: usize = lines.iter().map(|l| l.line.json.len() + 1).sum();
        let mut buf = Vec::with_capacity(len);
        for queued in &lines {
            buf.extend_from_slice(queued.line.json.as_bytes());
            buf.push(b'\n');
        }
        match cache.append(&path, &buf) {
            Ok(()) => {
                outcome.written += lines.len() as u64;
                if let Some(first) = lines.first() {
                    let name = match first.file {
                        LineFile::Data => crate::telemetry::RECORDS_WRITTEN,
                        LineFile::Labels => crate::telemetry::LABELS_WRITTEN,
                    };
                    metrics::counter!(name, "workflow" => first.line.workflow_id.clone())
                        .increment(lines.len() as u64);
                    // Records and labels are shipped, each kind in segments of its own.
                    if let Some(sink) = sink {
                        let date = first.line.timestamp.date_naive();
                        let kind = match first.file {
                            LineFile::Data => crate::sink::SegmentKind::Records,
                            LineFile::Labels => crate::sink::SegmentKind::Labels,
                        };
                        sink.append(
                            kind,
                            &first.line.workflow_id,
                            date,
                            first.line.timestamp,
                            &buf,
                            lines.len() as u64,
                        );
                    }
                }
            }
            Err(e) => {
                outcome.failures.push((path, e));
                pending.extend(lines);
            }
        }
    }
    if policy == FsyncPolicy::Always && outcome.written > 0 {
        outcome.sync_failures = cache.sync_dirty();
    }
    cache.evict(std::time::Instant::now());
    outcome
}

/// The file a queued line goes to.
fn target(data_dir: &Path, line: &RecordLine, file: LineFile) -> PathBuf {
    match file {
        LineFile::Data => record_path(data_dir, &line.workflow_id, line.timestamp),
        LineFile::Labels => labels_file_in(&day_dir(
            data_dir,
            &line.workflow_id,
            line.timestamp.date_naive(),
        )),
    }
}

/// Groups records by target file, files in order of first appearance, lines in submit order.
/// A batch holds few (workflow, day) pairs, so a linear search beats hashing a cloned key per
/// record.
fn group_by_file(
    data_dir: &Path,
    records: Vec<Queued>,
    rejected: &mut u64,
) -> Vec<(PathBuf, Vec<Queued>)> {
    // The day of each group (same index); the workflow is that of the group's lines.
    let mut days: Vec<chrono::NaiveDate> = Vec::new();
    let mut groups: Vec<(PathBuf, Vec<Queued>)> = Vec::new();
    for queued in records {
        let record = &queued.line;
        if !is_safe_folder_name(&record.workflow_id) || record.json.contains('\n') {
            error!(workflow_id = %record.workflow_id, "record refused: unsafe workflow id or newline in JSON");
            *rejected += 1;
            continue;
        }
        let date = record.timestamp.date_naive();
        let found = groups.iter().zip(&days).position(|((_, lines), day)| {
            *day == date
                && lines.first().is_some_and(|l| {
                    l.file == queued.file && l.line.workflow_id == record.workflow_id
                })
        });
        let i = found.unwrap_or_else(|| {
            let path = target(data_dir, record, queued.file);
            groups.push((path, Vec::new()));
            days.push(date);
            groups.len() - 1
        });
        groups[i].1.push(queued);
    }
    groups
}

/// Last line of defence: ids are validated upstream, but never let one escape `data_dir`.
fn is_safe_folder_name(id: &str) -> bool {
    !id.is_empty() && id != "." && id != ".." && !id.contains(['/', '\\', '\0'])
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn line(wf: &str, day: u32, json: &str) -> Queued {
        labelled(wf, day, json, LineFile::Data)
    }

    fn labelled(wf: &str, day: u32, json: &str, file: LineFile) -> Queued {
        let line = RecordLine {
            workflow_id: wf.to_string(),
            timestamp: Utc
                .with_ymd_and_hms(2025, 8, day, 12, 0, 0)
                .single()
                .expect("date"),
            json: json.to_string(),
        };
        Queued { line, file }
    }

    #[test]
    fn groups_keep_order_and_reject_unsafe() {
        let mut rejected = 0;
        let groups = group_by_file(
            Path::new("/d"),
            vec![
                line("a", 1, "1"),
                line("b", 1, "2"),
                line("a", 1, "3"),
                line("a", 2, "4"),
                line("..", 1, "5"),
                line("a", 1, "6\n"),
                labelled("a", 1, "7", LineFile::Labels),
                line("a", 1, "8"),
            ],
            &mut rejected,
        );
        assert_eq!(rejected, 2);
        let shape: Vec<(String, Vec<&str>)> = groups
            .iter()
            .map(|(p, ls)| {
                (
                    p.display().to_string(),
                    ls.iter().map(|l| l.line.json.as_str()).collect(),
                )
            })
            .collect();
        assert_eq!(
            shape,
            vec![
                (
                    "/d/a/01-08-2025/data.jsonl".to_string(),
                    vec!["1", "3", "8"]
                ),
                ("/d/b/01-08-2025/data.jsonl".to_string(), vec!["2"]),
                ("/d/a/02-08-2025/data.jsonl".to_string(), vec!["4"]),
                ("/d/a/01-08-2025/labels.jsonl".to_string(), vec!["7"]),
            ]
        );
    }
}
