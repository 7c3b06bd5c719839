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
//!
//! The sink (`crate::sink`) keeps its segments in `<data_dir>/@spool/` ([`SPOOL_DIR`]) and
//! names objects `<prefix>/workflow=<id>/date=<YYYY-MM-DD>/<instance>-<YYYYMMDDTHHMMSSZ>-<seq>.jsonl.gz`:
//! [`segment_key`] writes that key and [`parse_segment_key`] reads it back.

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};

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

/// How a segment's lines are compressed, which also fixes its object name's extension.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Compression {
    /// gzip (`.jsonl.gz`): every consumer reads it.
    #[default]
    Gzip,
    /// Zstandard (`.jsonl.zst`): smaller and faster, read by DuckDB, Spark, `datasets`.
    Zstd,
    /// None (`.jsonl`).
    None,
}

impl Compression {
    /// Every compression, for parsing keys.
    pub const ALL: [Compression; 3] = [Compression::Gzip, Compression::Zstd, Compression::None];

    /// The object name's extension, with its dot: `.jsonl.gz`, `.jsonl.zst`, `.jsonl`.
    pub fn extension(self) -> &'static str {
        match self {
            Compression::Gzip => ".jsonl.gz",
            Compression::Zstd => ".jsonl.zst",
            Compression::None => ".jsonl",
        }
    }
}

/// `chrono` format of a segment's first-record time in its name: `YYYYMMDDTHHMMSSZ`.
const SEGMENT_TIME_FORMAT: &str = "%Y%m%dT%H%M%SZ";
/// Length of a formatted segment time.
const SEGMENT_TIME_LEN: usize = 16;
/// `chrono` format of the `date=` partition: `YYYY-MM-DD` (ISO dates sort).
const PARTITION_DATE_FORMAT: &str = "%Y-%m-%d";

/// Everything a segment's object key says: its partitions and its name.
///
/// The key, below the sink's prefix, is
/// `workflow=<id>/date=<YYYY-MM-DD>/<instance>-<YYYYMMDDTHHMMSSZ>-<seq>.jsonl.gz`
/// ([`segment_key`]; [`parse_segment_key`] reads it back). `<instance>` may contain `-`; the
/// time has a fixed width, so the name is parsed from its end.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SegmentKey {
    /// The workflow id (the `workflow=` partition).
    pub workflow: String,
    /// The UTC day of the segment's records (the `date=` partition).
    pub date: NaiveDate,
    /// `--instance-id` of the instance that wrote it.
    pub instance: String,
    /// The timestamp of its first record, to the second (UTC).
    pub first_record: DateTime<Utc>,
    /// The writer's segment sequence number (unique per instance, survives restarts).
    pub seq: u64,
    /// How the object is compressed.
    pub compression: Compression,
}

/// `workflow=<id>`: the workflow partition's folder name.
pub fn workflow_partition(workflow: &str) -> String {
    format!("workflow={workflow}")
}

/// The workflow id of a `workflow=<id>` folder name.
pub fn parse_workflow_partition(name: &str) -> Option<&str> {
    name.strip_prefix("workflow=").filter(|id| !id.is_empty())
}

/// `date=<YYYY-MM-DD>`: the date partition's folder name.
pub fn date_partition(date: NaiveDate) -> String {
    format!("date={}", date.format(PARTITION_DATE_FORMAT))
}

/// The date of a `date=<YYYY-MM-DD>` folder name (exact, zero-padded).
pub fn parse_date_partition(name: &str) -> Option<NaiveDate> {
    let text = name.strip_prefix("date=")?;
    let b = text.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape {
        return None;
    }
    NaiveDate::parse_from_str(text, PARTITION_DATE_FORMAT).ok()
}

/// A segment's file name (the key's last part), without its extension:
/// `<instance>-<YYYYMMDDTHHMMSSZ>-<seq>` (seq zero-padded to 6 digits, so names sort).
pub fn segment_stem(instance: &str, first_record: DateTime<Utc>, seq: u64) -> String {
    format!(
        "{instance}-{}-{seq:06}",
        first_record.format(SEGMENT_TIME_FORMAT)
    )
}

/// Reads a [`segment_stem`] back: (instance, first-record time, seq).
pub fn parse_segment_stem(stem: &str) -> Option<(&str, DateTime<Utc>, u64)> {
    let (rest, seq) = stem.rsplit_once('-')?;
    if seq.is_empty() || !seq.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let seq = seq.parse().ok()?;
    let split = rest.len().checked_sub(SEGMENT_TIME_LEN + 1)?;
    let (instance, time) = (rest.get(..split)?, rest.get(split + 1..)?);
    if instance.is_empty() || rest.as_bytes()[split] != b'-' {
        return None;
    }
    let time = chrono::NaiveDateTime::parse_from_str(time, SEGMENT_TIME_FORMAT).ok()?;
    Some((instance, time.and_utc(), seq))
}

/// The object key of a segment below the sink's prefix:
/// `workflow=<id>/date=<YYYY-MM-DD>/<instance>-<YYYYMMDDTHHMMSSZ>-<seq><extension>`.
pub fn segment_key(key: &SegmentKey) -> String {
    format!(
        "{}/{}/{}{}",
        workflow_partition(&key.workflow),
        date_partition(key.date),
        segment_stem(&key.instance, key.first_record, key.seq),
        key.compression.extension()
    )
}

/// Reads a key written by [`segment_key`] (relative to the prefix: strip it first). `None`
/// for anything else, so a listing can skip foreign objects.
pub fn parse_segment_key(key: &str) -> Option<SegmentKey> {
    let mut parts = key.split('/');
    let (workflow, date, name) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let workflow = parse_workflow_partition(workflow)?;
    let date = parse_date_partition(date)?;
    // Longest extension first: `.jsonl` is a suffix of neither of the others, but check all.
    let (stem, compression) = Compression::ALL
        .iter()
        .find_map(|c| name.strip_suffix(c.extension()).map(|stem| (stem, *c)))?;
    let (instance, first_record, seq) = parse_segment_stem(stem)?;
    Some(SegmentKey {
        workflow: workflow.to_owned(),
        date,
        instance: instance.to_owned(),
        first_record,
        seq,
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
    fn segment_keys_round_trip() {
        let first = DateTime::parse_from_rfc3339("2025-08-04T07:08:09.750Z")
            .map(|t| t.with_timezone(&Utc))
            .expect("valid timestamp");
        let key = SegmentKey {
            workflow: "my.flow-1".into(),
            date: NaiveDate::from_ymd_opt(2025, 8, 4).expect("date"),
            instance: "micromodel-7d9f-x2".into(),
            first_record: first,
            seq: 42,
            compression: Compression::Gzip,
        };
        let text = segment_key(&key);
        assert_eq!(
            text,
            "workflow=my.flow-1/date=2025-08-04/micromodel-7d9f-x2-20250804T070809Z-000042.jsonl.gz"
        );
        let back = parse_segment_key(&text).expect("parses");
        assert_eq!(back.first_record.timestamp(), first.timestamp());
        assert_eq!(
            back,
            SegmentKey {
                first_record: back.first_record,
                ..key.clone()
            }
        );
        for c in Compression::ALL {
            let k = SegmentKey {
                compression: c,
                seq: 1_234_567,
                ..back.clone()
            };
            assert_eq!(parse_segment_key(&segment_key(&k)), Some(k));
        }
    }

    #[test]
    fn foreign_keys_are_refused() {
        for bad in [
            "",
            "workflow=a/date=2025-08-04",
            "workflow=a/date=2025-08-04/x-20250804T070809Z-1.json",
            "workflow=a/date=2025-8-04/x-20250804T070809Z-1.jsonl",
            "workflow=/date=2025-08-04/x-20250804T070809Z-1.jsonl",
            "wf=a/date=2025-08-04/x-20250804T070809Z-1.jsonl",
            "workflow=a/date=2025-08-04/-20250804T070809Z-1.jsonl",
            "workflow=a/date=2025-08-04/x-20250804T070809Z-.jsonl",
            "workflow=a/date=2025-08-04/x-20250804T070809-1.jsonl",
            "workflow=a/date=2025-08-04/x20250804T070809Z-1.jsonl",
            "workflow=a/date=2025-08-04/x-20251304T070809Z-1.jsonl",
            "workflow=a/date=2025-08-04/sub/x-20250804T070809Z-1.jsonl",
        ] {
            assert_eq!(parse_segment_key(bad), None, "{bad:?}");
        }
        assert!(is_spool_folder(SPOOL_DIR));
        assert_eq!(parse_date_partition("date=2025-02-31"), None);
    }
}
