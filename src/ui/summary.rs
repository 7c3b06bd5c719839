//! Per-file summaries for the overview, cached by `(path, size, mtime)`: a data file is read
//! once (line by line, bounded memory) and again only when it changed, so after the first scan
//! an overview of a large data folder costs one `stat` per file.
//!
//! A line counts as a record when it is a JSON object with `messages`, `model` and
//! `workflow_id` (a lighter check than `validate`'s, for speed: only the summed fields are
//! decoded). Tokens are counted once per `request_id` within a file, as `stats` does.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use chrono::NaiveDate;

use super::lines::{DayLines, Item};
use crate::dataset::scan::DataFile;
use crate::dataset::source::SegmentObject;
use crate::dataset::DatasetError;
use crate::labels::LabelLine;

/// What one data file holds.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct FileSummary {
    /// Record lines.
    pub records: u64,
    /// Lines that are not records (a torn last line included).
    pub invalid: u64,
    /// Sum of `usage.prompt_tokens`, once per request.
    pub prompt_tokens: u64,
    /// Sum of `usage.completion_tokens`, once per request.
    pub completion_tokens: u64,
    /// Records per model.
    pub models: BTreeMap<String, u64>,
    /// Records per finish reason (`none` for null or missing).
    pub finish_reasons: BTreeMap<String, u64>,
    /// Records per endpoint.
    pub endpoints: BTreeMap<String, u64>,
    /// Streamed records.
    pub streamed: u64,
}

impl FileSummary {
    /// Reads `path` once, line by line.
    pub fn read(path: &Path) -> Result<FileSummary, DatasetError> {
        Self::read_lines(DayLines::open_path(path)?)
    }

    /// Reads a data file (local, or a bucket's objects) once, line by line.
    pub fn read_lines(mut lines: DayLines) -> Result<FileSummary, DatasetError> {
        let mut out = FileSummary::default();
        while let Some(item) = lines.next_item()? {
            let Item::Record(parsed) = item else {
                out.invalid += 1;
                continue;
            };
            let light = parsed.light;
            out.records += 1;
            bump(&mut out.models, light.model.as_deref().unwrap_or(""));
            bump(
                &mut out.finish_reasons,
                light.finish_reason.as_deref().unwrap_or("none"),
            );
            bump(&mut out.endpoints, light.endpoint.as_deref().unwrap_or(""));
            if light.stream == Some(true) {
                out.streamed += 1;
            }
            if let (0, Some(usage)) = (parsed.choice, light.usage) {
                out.prompt_tokens += usage.prompt_tokens.unwrap_or(0);
                out.completion_tokens += usage.completion_tokens.unwrap_or(0);
            }
        }
        Ok(out)
    }

    /// Adds `other`'s counts.
    pub fn add(&mut self, other: &FileSummary) {
        self.records += other.records;
        self.invalid += other.invalid;
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
        self.streamed += other.streamed;
        for (into, from) in [
            (&mut self.models, &other.models),
            (&mut self.finish_reasons, &other.finish_reasons),
            (&mut self.endpoints, &other.endpoints),
        ] {
            for (k, v) in from {
                *into.entry(k.clone()).or_default() += v;
            }
        }
    }
}

fn bump(map: &mut BTreeMap<String, u64>, key: &str) {
    match map.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            map.insert(key.to_owned(), 1);
        }
    }
}

type Stamp = (u64, Option<SystemTime>);

/// The lines of one labels file.
type Lines = Arc<Vec<LabelLine>>;

/// The cache of file summaries and day labels files.
#[derive(Default)]
pub struct SummaryCache {
    files: Mutex<HashMap<PathBuf, (Stamp, Arc<FileSummary>)>>,
    labels: Mutex<HashMap<PathBuf, (Stamp, Lines)>>,
    /// Bucket objects by key: immutable once uploaded (a re-upload writes the same lines), so
    /// the size is the stamp.
    objects: Mutex<HashMap<String, (u64, Arc<FileSummary>)>>,
}

fn stamp(path: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.len(), meta.modified().ok()))
}

impl SummaryCache {
    /// The summary of `path`, read again only when its size or mtime changed.
    pub fn file(&self, path: &Path) -> Result<Arc<FileSummary>, DatasetError> {
        let now = stamp(path);
        if let Some(now) = now {
            let files = self.files.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((then, summary)) = files.get(path) {
                if *then == now {
                    return Ok(Arc::clone(summary));
                }
            }
        }
        let summary = Arc::new(FileSummary::read(path)?);
        if let Some(now) = now {
            let mut files = self.files.lock().unwrap_or_else(|e| e.into_inner());
            files.insert(path.to_path_buf(), (now, Arc::clone(&summary)));
        }
        Ok(summary)
    }

    /// The summary of one object of a bucket data file, read once.
    pub fn object(
        &self,
        file: &DataFile,
        object: &SegmentObject,
    ) -> Result<Arc<FileSummary>, DatasetError> {
        let key = object.key.to_string();
        {
            let objects = self.objects.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((size, summary)) = objects.get(&key) {
                if *size == object.size {
                    return Ok(Arc::clone(summary));
                }
            }
        }
        let one = super::lines::narrow(file, object);
        let summary = Arc::new(FileSummary::read_lines(DayLines::open(&one)?)?);
        let mut objects = self.objects.lock().unwrap_or_else(|e| e.into_inner());
        objects.insert(key, (object.size, Arc::clone(&summary)));
        Ok(summary)
    }

    /// The label lines `workflow` filed on `date` in each of `dirs` (folder order, then file
    /// order), each file read again only when it changed.
    pub fn day_label_lines(
        &self,
        dirs: &[PathBuf],
        workflow: &str,
        date: NaiveDate,
    ) -> Vec<LabelLine> {
        let mut lines = Vec::new();
        for dir in dirs {
            let day = crate::layout::day_dir(dir, workflow, date);
            lines.extend(self.label_lines(&day).iter().cloned());
        }
        lines
    }

    /// The label lines of `day_dir`'s `labels.jsonl` (file order), read again only when it
    /// changed; none when it is missing.
    fn label_lines(&self, day_dir: &Path) -> Arc<Vec<LabelLine>> {
        let path = crate::layout::labels_file_in(day_dir);
        let Some(now) = stamp(&path) else {
            return Arc::default();
        };
        let mut labels = self.labels.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((then, day)) = labels.get(&path) {
            if *then == now {
                return Arc::clone(day);
            }
        }
        let day = Arc::new(super::labels::DayLabels::lines_in(day_dir));
        labels.insert(path, (now, Arc::clone(&day)));
        day
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_cache() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.jsonl");
        let line = |id: &str, model: &str, stream: bool| {
            format!(
                "{{\"messages\":[],\"model\":\"{model}\",\"workflow_id\":\"w\",\"endpoint\":\"/v1/chat/completions\",\
                 \"finish_reason\":\"stop\",\"stream\":{stream},\"request_id\":\"{id}\",\
                 \"usage\":{{\"prompt_tokens\":3,\"completion_tokens\":4}}}}\n"
            )
        };
        let text = format!(
            "{}{}{}oops\n",
            line("a", "m1", true),
            line("a", "m1", true),
            line("b", "m2", false)
        );
        std::fs::write(&path, text).unwrap();
        let cache = SummaryCache::default();
        let s = cache.file(&path).unwrap();
        assert_eq!((s.records, s.invalid, s.streamed), (3, 1, 2));
        assert_eq!((s.prompt_tokens, s.completion_tokens), (6, 8));
        assert_eq!(s.models["m1"], 2);
        assert!(Arc::ptr_eq(&s, &cache.file(&path).unwrap()));
        std::fs::write(&path, line("c", "m3", false)).unwrap();
        assert_eq!(cache.file(&path).unwrap().records, 1);
    }
}
