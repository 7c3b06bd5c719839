//! The on-disk layout of the records, and its one owner: every other module builds and reads
//! record paths through these functions, never by spelling a file name or a day format.
//!
//! ```text
//! <data_dir>/                     the root given by --data-dir
//!   <workflow_id>/                one folder per workflow (its id is a safe folder name)
//!     <DD-MM-YYYY>/               one folder per UTC day, zero-padded: 24-08-2025
//!       data.jsonl                that day's record lines (DATA_FILE)
//! ```
//!
//! The day folder is named after the UTC date of the record's `timestamp`. A name that is not
//! exactly `DD-MM-YYYY` (two digits, two digits, four digits, a real date) is not a day folder:
//! [`parse_day_folder`] refuses it, so [`day_folder_name`] and [`parse_day_folder`] round-trip.

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

/// File name of every day's records, inside its day folder.
pub const DATA_FILE: &str = "data.jsonl";

/// `chrono` format of a day folder's name: `DD-MM-YYYY`.
const DAY_FOLDER_FORMAT: &str = "%d-%m-%Y";

/// The name of `date`'s day folder, `DD-MM-YYYY` (zero-padded).
pub fn day_folder_name(date: NaiveDate) -> String {
    date.format(DAY_FOLDER_FORMAT).to_string()
}

/// The date a day folder's name stands for: `Some` only for an exact, zero-padded
/// `DD-MM-YYYY` name of a real date (as [`day_folder_name`] writes it).
pub fn parse_day_folder(name: &str) -> Option<NaiveDate> {
    let b = name.as_bytes();
    let shape = b.len() == 10
        && b[2] == b'-'
        && b[5] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 2 || i == 5 || c.is_ascii_digit());
    if !shape {
        return None;
    }
    NaiveDate::parse_from_str(name, DAY_FOLDER_FORMAT).ok()
}

/// `<data_dir>/<workflow_id>/<DD-MM-YYYY>`: the folder of one workflow's day.
pub fn day_dir(data_dir: &Path, workflow_id: &str, date: NaiveDate) -> PathBuf {
    data_dir.join(workflow_id).join(day_folder_name(date))
}

/// `<day_dir>/data.jsonl`: the data file inside a day folder.
pub fn data_file_in(day_dir: &Path) -> PathBuf {
    day_dir.join(DATA_FILE)
}

/// `<data_dir>/<workflow_id>/<DD-MM-YYYY>/data.jsonl`, dated by the UTC day of `timestamp`:
/// where the recorder appends a record.
pub fn record_path(data_dir: &Path, workflow_id: &str, timestamp: DateTime<Utc>) -> PathBuf {
    data_file_in(&day_dir(data_dir, workflow_id, timestamp.date_naive()))
}

/// Bucket partition folder of a workflow: `workflow=<id>` (hive style, as the sink uploads).
pub const WORKFLOW_PARTITION: &str = "workflow=";

/// Bucket partition folder of a UTC day: `date=<YYYY-MM-DD>`.
pub const DATE_PARTITION: &str = "date=";

/// How an uploaded segment is compressed, told by its name's ending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentCompression {
    /// `.jsonl.gz`
    Gzip,
    /// `.jsonl.zst`
    Zstd,
    /// `.jsonl`
    None,
}

/// One uploaded segment's name, `<instance>-<YYYYMMDDTHHMMSSZ>-<seq>.jsonl[.gz|.zst]`, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentName {
    /// The instance (`--instance-id`) that wrote it; may itself contain `-`.
    pub instance: String,
    /// UTC time of its first record, to the second.
    pub first_record: NaiveDateTime,
    /// Its sequence number.
    pub seq: u64,
    /// Its compression.
    pub compression: SegmentCompression,
}

/// The workflow id a `workflow=<id>` partition folder names (`None` for any other name).
pub fn parse_workflow_partition(name: &str) -> Option<&str> {
    name.strip_prefix(WORKFLOW_PARTITION).filter(|id| !id.is_empty())
}

/// The day a `date=<YYYY-MM-DD>` partition folder names (`None` for any other name).
pub fn parse_date_partition(name: &str) -> Option<NaiveDate> {
    let day = name.strip_prefix(DATE_PARTITION)?;
    let b = day.as_bytes();
    let shape = b.len() == 10
        && b.iter()
            .enumerate()
            .all(|(i, c)| if i == 4 || i == 7 { *c == b'-' } else { c.is_ascii_digit() });
    shape
        .then(|| NaiveDate::parse_from_str(day, "%Y-%m-%d").ok())
        .flatten()
}

/// A segment object's file name parsed (`None` when it is not one). The instance is what is
/// left of the name after the last two `-`-separated parts, so it may contain `-` (pod names).
pub fn parse_segment_name(name: &str) -> Option<SegmentName> {
    let (stem, compression) = if let Some(stem) = name.strip_suffix(".jsonl.gz") {
        (stem, SegmentCompression::Gzip)
    } else if let Some(stem) = name.strip_suffix(".jsonl.zst") {
        (stem, SegmentCompression::Zstd)
    } else {
        (name.strip_suffix(".jsonl")?, SegmentCompression::None)
    };
    let (rest, seq) = stem.rsplit_once('-')?;
    let (instance, time) = rest.rsplit_once('-')?;
    if instance.is_empty() || seq.is_empty() || !seq.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let first_record = (time.len() == 16)
        .then(|| NaiveDateTime::parse_from_str(time, "%Y%m%dT%H%M%SZ").ok())
        .flatten()?;
    Some(SegmentName {
        instance: instance.to_owned(),
        first_record,
        seq: seq.parse().ok()?,
        compression,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_uses_utc_day() {
        let ts = DateTime::parse_from_rfc3339("2025-08-24T23:59:59.999-01:00")
            .map(|t| t.with_timezone(&Utc))
            .expect("valid timestamp");
        let p = record_path(Path::new("/d"), "wf", ts);
        assert_eq!(p, Path::new("/d/wf/25-08-2025/data.jsonl"));
        let ts = DateTime::parse_from_rfc3339("2025-08-24T23:59:59.999Z")
            .map(|t| t.with_timezone(&Utc))
            .expect("valid timestamp");
        let p = record_path(Path::new("/d"), "wf", ts);
        assert_eq!(p, Path::new("/d/wf/24-08-2025/data.jsonl"));
    }

    #[test]
    fn day_folder_names() {
        let date = NaiveDate::from_ymd_opt(2025, 8, 4).expect("valid date");
        assert_eq!(day_folder_name(date), "04-08-2025");
        assert_eq!(parse_day_folder("04-08-2025"), Some(date));
        assert_eq!(
            data_file_in(&day_dir(Path::new("/d"), "wf", date)),
            Path::new("/d/wf/04-08-2025/data.jsonl")
        );
    }

    #[test]
    fn folder_dates() {
        assert_eq!(
            parse_day_folder("24-08-2025"),
            NaiveDate::from_ymd_opt(2025, 8, 24)
        );
        assert_eq!(parse_day_folder("2025-08-24"), None);
        assert_eq!(parse_day_folder("4-8-2025"), None);
        assert_eq!(parse_day_folder("31-02-2025"), None);
        assert_eq!(parse_day_folder("+4-08-2025"), None);
    }
    #[test]
    fn segment_names() {
        let name = parse_segment_name("micromodel-7c9f-0-20250824T235959Z-000012.jsonl.gz")
            .expect("a segment name");
        assert_eq!(name.instance, "micromodel-7c9f-0");
        assert_eq!(name.seq, 12);
        assert_eq!(name.compression, SegmentCompression::Gzip);
        assert_eq!(
            name.first_record.to_string(),
            "2025-08-24 23:59:59".to_owned()
        );
        let zstd = parse_segment_name("a-20250824T000000Z-1.jsonl.zst").expect("zstd");
        assert_eq!(zstd.compression, SegmentCompression::Zstd);
        let plain = parse_segment_name("a-20250824T000000Z-1.jsonl").expect("plain");
        assert_eq!(plain.compression, SegmentCompression::None);
        for bad in [
            "a-20250824T000000Z-1.json",
            "-20250824T000000Z-1.jsonl",
            "a-20250824T000000-1.jsonl",
            "a-20250824T000000Z-x.jsonl",
            "a-20250832T000000Z-1.jsonl",
            "a-1.jsonl",
            "data.jsonl",
        ] {
            assert_eq!(parse_segment_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn partitions() {
        assert_eq!(parse_workflow_partition("workflow=chat"), Some("chat"));
        assert_eq!(parse_workflow_partition("workflow="), None);
        assert_eq!(parse_workflow_partition("chat"), None);
        assert_eq!(
            parse_date_partition("date=2025-08-24"),
            NaiveDate::from_ymd_opt(2025, 8, 24)
        );
        assert_eq!(parse_date_partition("date=2025-8-24"), None);
        assert_eq!(parse_date_partition("date=24-08-2025"), None);
        assert_eq!(parse_date_partition("2025-08-24"), None);
    }
}
