//! Open segments: one uncompressed file per (kind, workflow, UTC day) in `<spool>/open/`
//! (labels below `open/_labels/`), appended
//! by the recorder's writer right after each local write, and handed over for sealing when it
//! is big enough or old enough. Blocking file IO: runs on the writer's blocking thread.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};

use super::files;
use super::staged::Ready;
use crate::layout::{self, Compression, SegmentKey, SegmentKind};
use crate::recorder::DataMode;

/// One open segment.
#[derive(Debug)]
struct OpenSegment {
    /// Records or labels.
    kind: SegmentKind,
    /// The workflow (with `date`: which records go here).
    workflow: String,
    /// The UTC day of its records.
    date: NaiveDate,
    /// The append-mode handle.
    file: File,
    /// Where it is.
    path: PathBuf,
    /// Its key, fixed when it was opened (first record's time, sequence number).
    key: SegmentKey,
    /// Bytes written so far (uncompressed).
    bytes: u64,
    /// When it was opened (its age decides the time-based seal).
    opened: Instant,
}

/// The open segments, at most one per (kind, workflow, day).
#[derive(Debug)]
pub struct OpenSegments {
    /// `<spool>/open`.
    dir: PathBuf,
    /// `--instance-id`.
    instance: String,
    /// `--sink-segment-bytes`.
    max_bytes: u64,
    /// `--sink-segment-seconds`.
    max_age: Duration,
    /// The next sequence number to give out (persisted by [`SeqFile`]).
    seq: SeqFile,
    /// `--data-mode` of new folders and files.
    mode: DataMode,
    /// The segments; few at a time (workflows × days in flight), so a list beats a map.
    open: Vec<OpenSegment>,
}

/// Outcome of one append.
#[derive(Debug, Default)]
pub struct Appended {
    /// A segment this append filled up: to be sealed.
    pub ready: Option<Ready>,
    /// A new segment was opened for a day never seen before by this process (the day marker
    /// must exist).
    pub new_segment: bool,
}

impl OpenSegments {
    /// No segment open yet; `seq` gives out the sequence numbers.
    pub fn new(
        dir: PathBuf,
        instance: String,
        max_bytes: u64,
        max_age: Duration,
        seq: SeqFile,
        mode: DataMode,
    ) -> Self {
        Self {
            dir,
            instance,
            max_bytes: max_bytes.max(1),
            max_age,
            seq,
            mode,
            open: Vec::new(),
        }
    }

    /// Appends `buf` (whole `kind` lines of `workflow`'s `date`, the first recorded at `first`) to
    /// its open segment, opening one when there is none. On a failed write the file is cut
    /// back to its length before (no partial line) and the segment is handed for sealing as
    /// it is, so the next append starts a fresh one.
    pub fn append(
        &mut self,
        kind: SegmentKind,
        workflow: &str,
        date: NaiveDate,
        first: DateTime<Utc>,
        buf: &[u8],
    ) -> io::Result<Appended> {
        let mut out = Appended::default();
        let index = match self
            .open
            .iter()
            .position(|s| s.date == date && s.kind == kind && s.workflow == workflow)
        {
            Some(i) => i,
            None => {
                out.new_segment = true;
                self.open_segment(kind, workflow, date, first)?
            }
        };
        let segment = &mut self.open[index];
        let before = segment.bytes;
        if let Err(error) = segment.file.write_all(buf) {
            let _ = segment.file.set_len(before);
            let failed = self.open.swap_remove(index);
            if failed.bytes > 0 {
                out.ready = Some(failed.into_ready());
            } else {
                let _ = std::fs::remove_file(&failed.path);
            }
            return Err(error);
        }
        segment.bytes += buf.len() as u64;
        if segment.bytes >= self.max_bytes {
            out.ready = Some(self.open.swap_remove(index).into_ready());
        }
        Ok(out)
    }

    fn open_segment(
        &mut self,
        kind: SegmentKind,
        workflow: &str,
        date: NaiveDate,
        first: DateTime<Utc>,
    ) -> io::Result<usize> {
        let seq = self.seq.take()?;
        let key = SegmentKey {
            workflow: workflow.to_owned(),
            date,
            instance: self.instance.clone(),
            first_record: first,
            seq,
            compression: Compression::None,
            kind,
        };
        let path = self.dir.join(layout::segment_key(&key));
        let file = files::create_in_folder(self.mode, &path, files::create_file)?;
        self.open.push(OpenSegment {
            kind,
            workflow: workflow.to_owned(),
            date,
            file,
            path,
            key,
            bytes: 0,
            opened: Instant::now(),
        });
        Ok(self.open.len() - 1)
    }

    /// Hands over every segment at least `--sink-segment-seconds` old.
    pub fn take_due(&mut self, now: Instant) -> Vec<Ready> {
        let max_age = self.max_age;
        let (due, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut self.open)
            .into_iter()
            .partition(|s| now.saturating_duration_since(s.opened) >= max_age);
        self.open = keep;
        due.into_iter().map(OpenSegment::into_ready).collect()
    }

    /// Hands over every open segment (at the stop).
    pub fn take_all(&mut self) -> Vec<Ready> {
        std::mem::take(&mut self.open)
            .into_iter()
            .map(OpenSegment::into_ready)
            .collect()
    }

    /// Bytes in open segments now.
    #[cfg(test)]
    pub fn open_bytes(&self) -> u64 {
        self.open.iter().map(|s| s.bytes).sum()
    }
}

impl OpenSegment {
    fn into_ready(self) -> Ready {
        Ready {
            path: self.path,
            key: self.key,
        }
    }
}

/// The persisted sequence counter: `<spool>/next-seq` holds the next number; it is bumped
/// (written and renamed into place) before a number is used, so a number is never given out
/// twice by one instance, even across crashes.
#[derive(Debug)]
pub struct SeqFile {
    /// `<spool>/next-seq`.
    path: PathBuf,
    /// The next number.
    next: u64,
    /// `--data-mode` of the file.
    mode: DataMode,
}

impl SeqFile {
    /// Reads the counter (0 when the file is missing or unreadable) and starts at least at
    /// `at_least` (one past the highest number found in the spool).
    pub fn load(path: PathBuf, at_least: u64, mode: DataMode) -> Self {
        let stored = std::fs::read_to_string(&path)
            .ok()
            .and_then(|text| text.trim().parse::<u64>().ok())
            .unwrap_or(0);
        Self {
            path,
            next: stored.max(at_least),
            mode,
        }
    }

    /// Gives out the next number, after persisting the one after it.
    pub fn take(&mut self) -> io::Result<u64> {
        let n = self.next;
        write_atomically(self.mode, &self.path, format!("{}\n", n + 1).as_bytes())?;
        self.next = n + 1;
        Ok(n)
    }
}

/// Writes `bytes` to `<path>.tmp` and renames it over `path`.
fn write_atomically(mode: DataMode, path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    {
        let mut file = files::create_truncated(mode, &tmp)?;
        file.write_all(bytes)?;
    }
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 8, 4, h, m, s)
            .single()
            .expect("time")
    }

    fn segments(dir: &Path, max_bytes: u64) -> OpenSegments {
        OpenSegments::new(
            dir.join("open"),
            "pod-1".into(),
            max_bytes,
            Duration::from_secs(300),
            SeqFile::load(dir.join("next-seq"), 0, DataMode::default()),
            DataMode::default(),
        )
    }

    #[test]
    fn seals_by_size_and_names_by_first_record() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut segs = segments(dir.path(), 10);
        let date = at(0, 0, 0).date_naive();
        let a = segs
            .append(SegmentKind::Records, "wf", date, at(7, 8, 9), b"1234\n")
            .expect("a");
        assert!(a.new_segment && a.ready.is_none());
        let b = segs
            .append(SegmentKind::Records, "wf", date, at(7, 9, 0), b"5678\n")
            .expect("b");
        let ready = b.ready.expect("full at 10 bytes");
        assert!(!b.new_segment);
        assert_eq!(
            ready.path,
            dir.path()
                .join("open/workflow=wf/date=2025-08-04/pod-1-20250804T070809Z-000000.jsonl")
        );
        assert_eq!(
            std::fs::read_to_string(&ready.path).expect("read"),
            "1234\n5678\n"
        );
        let c = segs
            .append(SegmentKind::Records, "wf", date, at(7, 9, 1), b"9\n")
            .expect("c");
        assert!(c.new_segment);
        assert_eq!(segs.open_bytes(), 2);
        let all = segs.take_all();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].key.seq, 1);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("next-seq")).expect("seq"),
            "2\n"
        );
        let again = SeqFile::load(dir.path().join("next-seq"), 0, DataMode::default());
        assert_eq!(again.next, 2);
        assert_eq!(
            SeqFile::load(dir.path().join("next-seq"), 9, DataMode::default()).next,
            9
        );
    }

    #[test]
    fn seals_by_age_per_workflow_day() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut segs = segments(dir.path(), 1 << 20);
        let d1 = at(0, 0, 0).date_naive();
        let d2 = d1.succ_opt().expect("next day");
        segs.append(SegmentKind::Records, "a", d1, at(1, 0, 0), b"x\n")
            .expect("a1");
        segs.append(SegmentKind::Records, "b", d1, at(1, 0, 0), b"y\n")
            .expect("b1");
        segs.append(SegmentKind::Records, "a", d2, at(1, 0, 0), b"z\n")
            .expect("a2");
        assert!(segs.take_due(Instant::now()).is_empty());
        let due = segs.take_due(Instant::now() + Duration::from_secs(300));
        assert_eq!(due.len(), 3);
        assert!(segs.take_all().is_empty());
    }

    #[test]
    fn labels_get_segments_of_their_own_created_with_the_data_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let mode = DataMode::new(0o600, 0o700).expect("mode");
        let mut segs = OpenSegments::new(
            dir.path().join("open"),
            "pod-1".into(),
            1 << 20,
            Duration::from_secs(300),
            SeqFile::load(dir.path().join("next-seq"), 0, mode),
            mode,
        );
        let date = at(0, 0, 0).date_naive();
        segs.append(SegmentKind::Records, "wf", date, at(1, 0, 0), b"r\n")
            .expect("record");
        let l = segs
            .append(SegmentKind::Labels, "wf", date, at(2, 0, 0), b"l\n")
            .expect("label");
        assert!(l.new_segment, "labels never share a records segment");
        let mut all = segs.take_all();
        all.sort_by_key(|r| r.key.seq);
        let rel: Vec<_> = all
            .iter()
            .map(|r| r.path.strip_prefix(dir.path()).expect("below").to_owned())
            .collect();
        assert_eq!(
            rel,
            [
                Path::new("open/workflow=wf/date=2025-08-04/pod-1-20250804T010000Z-000000.jsonl"),
                Path::new(
                    "open/_labels/workflow=wf/date=2025-08-04/pod-1-20250804T020000Z-000001.jsonl"
                ),
            ]
        );
        assert_eq!(std::fs::read_to_string(&all[1].path).expect("read"), "l\n");
        // 0600/0700: bits no usual umask takes away.
        let bits = |p: &Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o7777;
        for file in [&all[0].path, &all[1].path, &dir.path().join("next-seq")] {
            assert_eq!(bits(file), 0o600, "{}", file.display());
        }
        for sub in ["open", "open/_labels", "open/_labels/workflow=wf"] {
            assert_eq!(bits(&dir.path().join(sub)), 0o700, "{sub}");
        }
    }

    #[test]
    fn a_failed_open_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("open"), "a file where the folder goes").expect("w");
        let mut segs = segments(dir.path(), 10);
        let date = at(0, 0, 0).date_naive();
        assert!(segs
            .append(SegmentKind::Records, "wf", date, at(1, 0, 0), b"x\n")
            .is_err());
    }
}
