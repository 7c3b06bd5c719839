//! The object keys of the sink's segments (see [`super`]): record segments at
//! `workflow=<id>/date=<YYYY-MM-DD>/<instance>-<YYYYMMDDTHHMMSSZ>-<seq>.jsonl.gz` and label
//! segments (the lines of `labels.jsonl`) at the same key below `_labels/`
//! ([`LABELS_DIR`]). The leading underscore keeps Hive, Spark and DuckDB globs over
//! `workflow=*/date=*/*` (and any reader of `workflow=` folders) from reading labels as
//! records. [`segment_key`] writes both kinds, [`parse_segment_key`] reads both back.

use chrono::{DateTime, NaiveDate, Utc};

/// Folder (below the sink's prefix) of the label segments: `_labels/workflow=<id>/...`.
pub const LABELS_DIR: &str = "_labels";

/// What a segment holds: record lines (`data.jsonl`) or label lines (`labels.jsonl`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum SegmentKind {
    /// Records, at `workflow=<id>/date=<day>/<name>`.
    #[default]
    Records,
    /// Labels, at `_labels/workflow=<id>/date=<day>/<name>`.
    Labels,
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
pub(super) const PARTITION_DATE_FORMAT: &str = "%Y-%m-%d";

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
    /// Records or labels (labels live below [`LABELS_DIR`]).
    pub kind: SegmentKind,
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
/// `workflow=<id>/date=<YYYY-MM-DD>/<instance>-<YYYYMMDDTHHMMSSZ>-<seq><extension>`, with
/// `_labels/` in front for a label segment.
pub fn segment_key(key: &SegmentKey) -> String {
    let root = match key.kind {
        SegmentKind::Records => "",
        SegmentKind::Labels => "_labels/",
    };
    format!(
        "{root}{}/{}/{}{}",
        workflow_partition(&key.workflow),
        date_partition(key.date),
        segment_stem(&key.instance, key.first_record, key.seq),
        key.compression.extension()
    )
}

/// Reads a key written by [`segment_key`] (relative to the prefix: strip it first). `None`
/// for anything else, so a listing can skip foreign objects.
pub fn parse_segment_key(key: &str) -> Option<SegmentKey> {
    let (kind, key) = match key
        .strip_prefix(LABELS_DIR)
        .and_then(|k| k.strip_prefix('/'))
    {
        Some(rest) => (SegmentKind::Labels, rest),
        None => (SegmentKind::Records, key),
    };
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
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
            kind: SegmentKind::Records,
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
        assert_eq!(parse_date_partition("date=2025-02-31"), None);
    }

    #[test]
    fn label_keys_sit_below_labels_and_never_match_a_records_glob() {
        let key = SegmentKey {
            workflow: "wf".into(),
            date: NaiveDate::from_ymd_opt(2025, 8, 4).expect("date"),
            instance: "pod-b".into(),
            first_record: DateTime::from_timestamp(1_754_291_289, 0).expect("time"),
            seq: 3,
            compression: Compression::Gzip,
            kind: SegmentKind::Labels,
        };
        let labels = segment_key(&key);
        assert_eq!(
            labels,
            "_labels/workflow=wf/date=2025-08-04/pod-b-20250804T070809Z-000003.jsonl.gz"
        );
        assert_eq!(parse_segment_key(&labels), Some(key.clone()));
        let records = segment_key(&SegmentKey {
            kind: SegmentKind::Records,
            ..key
        });
        // The hive glob `workflow=*/date=*/*` (DuckDB, Spark): matches records, never labels.
        let glob = |k: &str| {
            let p: Vec<&str> = k.split('/').collect();
            p.len() == 3 && p[0].starts_with("workflow=") && p[1].starts_with("date=")
        };
        assert!(glob(&records));
        assert!(!glob(&labels));
        assert_eq!(labels.strip_prefix("_labels/"), Some(records.as_str()));
        for bad in [
            "_labels/x",
            "_labels",
            "labels/workflow=wf/date=2025-08-04/pod-b-20250804T070809Z-000003.jsonl",
        ] {
            assert_eq!(parse_segment_key(bad), None, "{bad}");
        }
    }
}
