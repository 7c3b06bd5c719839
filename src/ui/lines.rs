//! One data file's lines, parsed: the read loop shared by the summaries, the records list and
//! one record's page, over a local `data.jsonl` or a bucket data file (one instance's segments
//! of a workflow and day, each streamed and decompressed as it is read).
//!
//! Each line is decoded as a [`Light`] (only the fields the pages sum or filter on) and gets
//! its choice index: its place among the earlier lines of the same `request_id`. Choices are
//! counted per file, and for a bucket per object (the choices of one answer are recorded
//! together, so they share a segment unless a seal falls between them); ids are kept as
//! 64-bit hashes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::de::IgnoredAny;
use serde::Deserialize;

use crate::dataset::reader::{Line, LineReader};
use crate::dataset::scan::DataFile;
use crate::dataset::DatasetError;

/// The fields a summary (and the list's filters) read from a record line.
#[derive(Debug, Deserialize)]
pub struct Light<'a> {
    /// Presence only.
    #[serde(default)]
    pub messages: Option<IgnoredAny>,
    /// `model`.
    #[serde(borrow, default)]
    pub model: Option<std::borrow::Cow<'a, str>>,
    /// `workflow_id`.
    #[serde(borrow, default)]
    pub workflow_id: Option<std::borrow::Cow<'a, str>>,
    /// `endpoint`.
    #[serde(borrow, default)]
    pub endpoint: Option<std::borrow::Cow<'a, str>>,
    /// `finish_reason`.
    #[serde(borrow, default)]
    pub finish_reason: Option<std::borrow::Cow<'a, str>>,
    /// `request_id`.
    #[serde(borrow, default)]
    pub request_id: Option<std::borrow::Cow<'a, str>>,
    /// `stream`.
    #[serde(default)]
    pub stream: Option<bool>,
    /// `usage` token counts.
    #[serde(default)]
    pub usage: Option<Usage>,
}

/// `usage`'s counts.
#[derive(Debug, Default, Deserialize)]
pub struct Usage {
    /// `prompt_tokens`.
    #[serde(default)]
    pub prompt_tokens: Option<u64>,
    /// `completion_tokens`.
    #[serde(default)]
    pub completion_tokens: Option<u64>,
}

impl<'a> Light<'a> {
    /// Decodes a line; `None` when it is not a record.
    pub fn parse(line: &'a [u8]) -> Option<Light<'a>> {
        let light: Light<'a> = serde_json::from_slice(line).ok()?;
        (light.messages.is_some() && light.model.is_some() && light.workflow_id.is_some())
            .then_some(light)
    }
}

/// One line of a data file.
pub enum Item<'a> {
    /// A record line.
    Record(Parsed<'a>),
    /// A line that is not a record (a torn last line included).
    Invalid,
}

/// A record line, decoded.
pub struct Parsed<'a> {
    /// For a bucket file, its object's index in [`DayLines::objects`] (0 for a local file).
    pub object: u32,
    /// Its 1-based line number (in its object, for a bucket).
    pub line: u64,
    /// The line, without its newline.
    pub bytes: &'a [u8],
    /// Its light fields.
    pub light: Light<'a>,
    /// Its index among the earlier lines of its `request_id` (0 without an id).
    pub choice: u32,
}

/// The lines of one data file, parsed, one at a time (bounded memory: one line, plus a
/// counter per `request_id` of the file or object being read).
pub struct DayLines {
    reader: LineReader,
    bucket: bool,
    path: PathBuf,
    objects: Vec<String>,
    choices: HashMap<u64, u32>,
}

impl DayLines {
    /// Opens a scanned data file (local or bucket).
    pub fn open(file: &DataFile) -> Result<DayLines, DatasetError> {
        Ok(Self::over(
            LineReader::open_file(file)?,
            file.segments.is_some(),
        ))
    }

    /// Opens a local file.
    pub fn open_path(path: &Path) -> Result<DayLines, DatasetError> {
        Ok(Self::over(LineReader::open(path)?, false))
    }

    fn over(reader: LineReader, bucket: bool) -> DayLines {
        DayLines {
            path: PathBuf::new(),
            reader,
            bucket,
            objects: Vec::new(),
            choices: HashMap::new(),
        }
    }

    /// For a bucket file, the names (last key parts) of the objects read so far, in order.
    pub fn objects(&self) -> &[String] {
        &self.objects
    }

    /// The next line, or `None` at the end.
    pub fn next_item(&mut self) -> Result<Option<Item<'_>>, DatasetError> {
        let Some((line, text, path)) = self.reader.next_line_at()? else {
            return Ok(None);
        };
        if path != self.path {
            // The next object of a bucket file: choices start over.
            self.path = path.to_path_buf();
            self.choices.clear();
            if self.bucket {
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
                self.objects.push(name.to_owned());
            }
        }
        let object = self.objects.len().saturating_sub(1) as u32;
        let Line::Complete(bytes) = text else {
            return Ok(Some(Item::Invalid));
        };
        let Some(light) = Light::parse(bytes) else {
            return Ok(Some(Item::Invalid));
        };
        let choice = match light.request_id.as_deref() {
            Some(id) => {
                let n = self
                    .choices
                    .entry(xxhash_rust::xxh3::xxh3_64(id.as_bytes()))
                    .or_insert(0);
                *n += 1;
                *n - 1
            }
            None => 0,
        };
        Ok(Some(Item::Record(Parsed {
            object,
            line,
            bytes,
            light,
            choice,
        })))
    }
}

/// `file` (a bucket data file) with only `object` to read.
pub fn narrow(file: &DataFile, object: &crate::dataset::source::SegmentObject) -> DataFile {
    let mut one = file.clone();
    if let Some(segments) = &mut one.segments {
        segments.objects = vec![object.clone()];
    }
    one.len = object.size;
    one
}
