//! The on-disk layout of the records, and its one owner: every other module builds and reads
//! record paths through these functions, never by spelling a file name or a day format.
//!
//! ```text
//! <data_dir>/                     the root given by --data-dir
//!   <workflow_id>/                one folder per workflow (its id is a safe folder name)
//!     <DD-MM-YYYY>/               one folder per UTC day, zero-padded: 24-08-2025
//!       data.jsonl                that day's record lines (DATA_FILE)
//!       labels.jsonl              labels of that day's records (LABELS_FILE, docs/labels.md)
//! ```
//!
//! The day folder is named after the UTC date of the record's `timestamp`. A name that is not
//! exactly `DD-MM-YYYY` (two digits, two digits, four digits, a real date) is not a day folder:
//! [`parse_day_folder`] refuses it, so [`day_folder_name`] and [`parse_day_folder`] round-trip.
//!
//! The sink (`crate::sink`) keeps its segments in `<data_dir>/@spool/` ([`SPOOL_DIR`]) and
//! names objects `<prefix>/workflow=<id>/date=<YYYY-MM-DD>/<instance>-<YYYYMMDDTHHMMSSZ>-<seq>.jsonl.gz`
//! (labels: the same below `<prefix>/_labels/`): [`segment_key`] writes that key and
//! [`parse_segment_key`] reads it back (both in `layout/keys.rs`).

mod keys;

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};

use keys::PARTITION_DATE_FORMAT;
pub use keys::{
    date_partition, parse_date_partition, parse_segment_key, parse_segment_stem,
    parse_workflow_partition, segment_key, workflow_partition, Compression, SegmentKey,
    SegmentKind, LABELS_DIR,
};

/// File name of every day's records, inside its day folder.
pub const DATA_FILE: &str = "data.jsonl";

/// File name of the labels of a day's records, beside its [`DATA_FILE`].
pub const LABELS_FILE: &str = "labels.jsonl";

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

/// A day given by a client (the `day` of a label body): the day folder notation `DD-MM-YYYY`,
/// or ISO `YYYY-MM-DD` (the bucket's `date=` partition notation), both exact and zero-padded.
pub fn parse_day_name(name: &str) -> Option<NaiveDate> {
    parse_day_folder(name).or_else(|| {
        let b = name.as_bytes();
        let shape = b.len() == 10
            && b[4] == b'-'
            && b[7] == b'-'
            && b.iter()
                .enumerate()
                .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
        shape
            .then(|| NaiveDate::parse_from_str(name, PARTITION_DATE_FORMAT).ok())
            .flatten()
    })
}

/// `<data_dir>/<workflow_id>/<DD-MM-YYYY>`: the folder of one workflow's day.
pub fn day_dir(data_dir: &Path, workflow_id: &str, date: NaiveDate) -> PathBuf {
    data_dir.join(workflow_id).join(day_folder_name(date))
}

/// `<day_dir>/data.jsonl`: the data file inside a day folder.
pub fn data_file_in(day_dir: &Path) -> PathBuf {
    day_dir.join(DATA_FILE)
}

/// `<day_dir>/labels.jsonl`: the labels file inside a day folder.
pub fn labels_file_in(day_dir: &Path) -> PathBuf {
    day_dir.join(LABELS_FILE)
}

/// `<data_dir>/<workflow_id>/<DD-MM-YYYY>/data.jsonl`, dated by the UTC day of `timestamp`:
/// where the recorder appends a record.
pub fn record_path(data_dir: &Path, workflow_id: &str, timestamp: DateTime<Utc>) -> PathBuf {
    data_file_in(&day_dir(data_dir, workflow_id, timestamp.date_naive()))
}

/// Folder under `--data-dir` where the sink keeps its segments (`<data_dir>/@spool/`). `@` is
/// not allowed in workflow ids, so the spool can never be mistaken for a workflow's folder.
pub const SPOOL_DIR: &str = "@spool";

/// `<data_dir>/@spool`: the sink's spool (see `crate::sink`).
pub fn spool_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(SPOOL_DIR)
}

/// Inside the spool: segments being written, or waiting to be sealed (uncompressed, named
/// like their key with the `.jsonl` extension).
pub const SPOOL_OPEN: &str = "open";
/// Inside the spool: sealed segments waiting for their upload, each at its object key.
pub const SPOOL_SEALED: &str = "sealed";
/// Inside the spool: one marker file per workflow day that went to the spool
/// (`days/<workflow>/<YYYY-MM-DD>`), plus `<YYYY-MM-DD>.unspooled` when some of its records
/// could not be spooled; `--local-retention-days` reads them.
pub const SPOOL_DAYS: &str = "days";
/// Inside the spool: the next segment sequence number (decimal text).
pub const SPOOL_SEQ_FILE: &str = "next-seq";
/// Suffix of a day's "not everything was spooled" marker.
pub const UNSPOOLED_SUFFIX: &str = ".unspooled";

/// `<spool>/days/<workflow>/<YYYY-MM-DD>`: the marker of a workflow day that went to the spool.
pub fn spool_day_marker(spool: &Path, workflow: &str, date: NaiveDate) -> PathBuf {
    spool
        .join(SPOOL_DAYS)
        .join(workflow)
        .join(date.format(PARTITION_DATE_FORMAT).to_string())
}

/// `<spool>/days/<workflow>/<YYYY-MM-DD>.unspooled`: some records of that day are only local.
pub fn spool_unspooled_marker(spool: &Path, workflow: &str, date: NaiveDate) -> PathBuf {
    let mut name = date.format(PARTITION_DATE_FORMAT).to_string();
    name.push_str(UNSPOOLED_SUFFIX);
    spool.join(SPOOL_DAYS).join(workflow).join(name)
}

/// `<spool>/<open|sealed>/workflow=<id>/date=<YYYY-MM-DD>`: one partition's spool folder.
pub fn spool_partition_dir(stage: &Path, workflow: &str, date: NaiveDate) -> PathBuf {
    stage
        .join(workflow_partition(workflow))
        .join(date_partition(date))
}

/// True for an entry of `--data-dir` that is not a workflow's folder but the sink's spool.
pub fn is_spool_folder(name: &str) -> bool {
    name == SPOOL_DIR
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
        let day = NaiveDate::from_ymd_opt(2025, 8, 24);
        assert_eq!(parse_day_name("24-08-2025"), day);
        assert_eq!(parse_day_name("2025-08-24"), day);
        for bad in [
            "2025-8-24",
            "2025-02-30",
            "+025-08-24",
            "24.08.2025",
            "",
            "yesterday",
        ] {
            assert_eq!(parse_day_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_spool_is_no_workflow() {
        assert!(is_spool_folder(SPOOL_DIR));
        assert!(!is_spool_folder("wf"));
    }
}
