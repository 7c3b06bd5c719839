//! The records list (newest first, filtered, paged) and one record by its place
//! (`workflow`, day, data folder, line). Files are read one line at a time; a page keeps only
//! the line numbers of one file's matches plus its own rows. Without line-level filters, whole
//! files are skipped by their cached record count.

use std::path::PathBuf;

use chrono::NaiveDate;
use serde_json::Value;

use super::labels::Label;
use super::summary::{Light, SummaryCache};
use super::text::{answer_text, snippet, text_of};
use crate::dataset::reader::{Line, LineReader};
use crate::dataset::record::Record;
use crate::dataset::scan::{scan, DataFile, Selection};
use crate::dataset::DatasetError;

/// The list's filters (empty strings: no filter).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct Filter {
    /// Workflow folder.
    pub workflow: String,
    /// Day, `YYYY-MM-DD`.
    pub day: String,
    /// Exact model.
    pub model: String,
    /// Exact endpoint path.
    pub endpoint: String,
    /// Finish reason (`none` for null or missing).
    pub finish: String,
    /// `good`, `bad`, `labelled` or `unlabelled`.
    pub label: String,
    /// Case-insensitive text searched in the message contents.
    pub q: String,
    /// 0-based page.
    pub page: usize,
}

impl Filter {
    fn line_level(&self) -> bool {
        !(self.model.is_empty()
            && self.endpoint.is_empty()
            && self.finish.is_empty()
            && self.label.is_empty()
            && self.q.is_empty())
    }
}

/// Rows per page.
pub const PER_PAGE: usize = 50;

/// Where a record is.
#[derive(Debug, Clone)]
pub struct Place {
    /// Workflow folder.
    pub workflow: String,
    /// Day folder's date.
    pub date: NaiveDate,
    /// Data folder index.
    pub source: usize,
    /// 1-based line.
    pub line: u64,
}

/// One row of the list.
#[derive(Debug, Clone)]
pub struct Row {
    /// Where it is.
    pub place: Place,
    /// `timestamp` as recorded.
    pub timestamp: String,
    /// `model`.
    pub model: String,
    /// `finish_reason`.
    pub finish: String,
    /// The start of the last user (or first) message.
    pub prompt: String,
    /// The start of the answer.
    pub answer: String,
    /// The current label, if any.
    pub label: Option<Label>,
}

/// One page of rows.
#[derive(Debug, Default)]
pub struct Page {
    /// The rows, newest first.
    pub rows: Vec<Row>,
    /// Whether a next page exists.
    pub has_more: bool,
}

/// A record read back, with its choice index and label.
#[derive(Debug)]
pub struct Found {
    /// The record.
    pub record: Record,
    /// Its index among the lines of its file that share its `request_id`.
    pub choice: u32,
    /// Its current label.
    pub label: Option<Label>,
}

fn files(dirs: &[PathBuf], filter: &Filter) -> Result<Vec<DataFile>, DatasetError> {
    let day = crate::dataset::scan::parse_day(&filter.day).ok();
    let selection = Selection {
        workflows: if filter.workflow.is_empty() {
            Vec::new()
        } else {
            vec![filter.workflow.clone()]
        },
        since: day,
        until: day,
    };
    let mut files = scan(dirs, &selection)?.files;
    files.reverse();
    Ok(files)
}

/// Counts the choices of request ids while a file is read in order.
#[derive(Default)]
struct Choices(std::collections::HashMap<String, u32>);

impl Choices {
    fn next(&mut self, request_id: Option<&str>) -> u32 {
        let Some(id) = request_id else { return 0 };
        let n = self.0.entry(id.to_owned()).or_insert(0);
        *n += 1;
        *n - 1
    }
}

/// One page of the list (blocking).
pub fn list(dirs: &[PathBuf], cache: &SummaryCache, filter: &Filter) -> Result<Page, DatasetError> {
    let mut skip = filter.page * PER_PAGE;
    let mut page = Page::default();
    let needle = filter.q.to_lowercase();
    for file in files(dirs, filter)? {
        let summary = cache.file(&file.path)?;
        let labels = file
            .path
            .parent()
            .map(|d| cache.labels(d))
            .unwrap_or_default();
        let lacks = |map: &std::collections::BTreeMap<String, u64>, key: &str| {
            !key.is_empty() && !map.contains_key(key)
        };
        if lacks(&summary.models, &filter.model)
            || lacks(&summary.endpoints, &filter.endpoint)
            || lacks(&summary.finish_reasons, &filter.finish)
            || (matches!(filter.label.as_str(), "good" | "bad" | "labelled")
                && labels.labelled() == 0)
        {
            continue;
        }
        if !filter.line_level() && skip >= summary.records as usize {
            skip -= summary.records as usize;
            continue;
        }
        // Line numbers of the file's matches, oldest first.
        let mut matches = Vec::new();
        let mut reader = LineReader::open(&file.path)?;
        let mut choices = Choices::default();
        while let Some((n, line)) = reader.next_line()? {
            let Line::Complete(bytes) = line else {
                continue;
            };
            let Some(light) = Light::parse(bytes) else {
                continue;
            };
            let choice = choices.next(light.request_id.as_deref());
            let label = light
                .request_id
                .as_deref()
                .and_then(|id| labels.get(id, choice));
            let keep = eq(&filter.model, light.model.as_deref())
                && eq(&filter.endpoint, light.endpoint.as_deref())
                && eq(
                    &filter.finish,
                    Some(light.finish_reason.as_deref().unwrap_or("none")),
                )
                && label_matches(&filter.label, label)
                && (needle.is_empty() || contains_text(bytes, &needle));
            if keep {
                matches.push((n, choice));
            }
        }
        if skip >= matches.len() {
            skip -= matches.len();
            continue;
        }
        let wanted: Vec<(u64, u32)> = matches.iter().rev().skip(skip).copied().collect();
        skip = 0;
        let room = PER_PAGE - page.rows.len();
        if wanted.len() > room {
            page.has_more = true;
        }
        let take: Vec<(u64, u32)> = wanted.into_iter().take(room).collect();
        for row in rows(&file, &take, &labels)? {
            page.rows.push(row);
        }
        if page.rows.len() >= PER_PAGE {
            page.has_more = true;
            break;
        }
    }
    Ok(page)
}

fn eq(wanted: &str, value: Option<&str>) -> bool {
    wanted.is_empty() || value == Some(wanted)
}

fn label_matches(filter: &str, label: Option<&Label>) -> bool {
    match filter {
        "" => true,
        "labelled" => label.is_some(),
        "unlabelled" => label.is_none(),
        other => label.is_some_and(|l| l.label == other),
    }
}

/// Whether a message's text contains `needle` (lowercase).
fn contains_text(line: &[u8], needle: &str) -> bool {
    // Fast reject on the raw line when the needle has nothing JSON would escape.
    let plain = needle
        .chars()
        .all(|c| c != '"' && c != '\\' && !c.is_control());
    if plain
        && !String::from_utf8_lossy(line)
            .to_lowercase()
            .contains(needle)
    {
        return false;
    }
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(line) else {
        return false;
    };
    let Some(Value::Array(messages)) = map.get("messages") else {
        return false;
    };
    messages
        .iter()
        .any(|m| text_of(m).to_lowercase().contains(needle))
}

/// The rows of `file` at `wanted` (line, choice), in the order given.
fn rows(
    file: &DataFile,
    wanted: &[(u64, u32)],
    labels: &super::labels::DayLabels,
) -> Result<Vec<Row>, DatasetError> {
    let mut found = std::collections::HashMap::new();
    let last = wanted.iter().map(|w| w.0).max().unwrap_or(0);
    let mut reader = LineReader::open(&file.path)?;
    while let Some((n, line)) = reader.next_line()? {
        if n > last {
            break;
        }
        let Line::Complete(bytes) = line else {
            continue;
        };
        if let Some((_, choice)) = wanted.iter().find(|w| w.0 == n) {
            if let Ok(record) = Record::parse(bytes) {
                found.insert(n, (record, *choice));
            }
        }
    }
    let mut out = Vec::new();
    for (n, _) in wanted {
        let Some((record, choice)) = found.remove(n) else {
            continue;
        };
        let messages = record.messages();
        let (answer, prompt) = messages.split_last().unwrap_or((&Value::Null, &[]));
        let asked = prompt
            .iter()
            .rev()
            .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
            .or(prompt.first());
        out.push(Row {
            place: Place {
                workflow: file.workflow.clone(),
                date: file.date,
                source: file.source,
                line: *n,
            },
            timestamp: record.timestamp().format("%Y-%m-%d %H:%M:%S").to_string(),
            model: record.model().to_owned(),
            finish: record.finish_reason().unwrap_or("none").to_owned(),
            prompt: snippet(&asked.map(text_of).unwrap_or_default()),
            answer: snippet(&answer_text(answer)),
            label: record
                .request_id()
                .and_then(|id| labels.get(id, choice))
                .cloned(),
        });
    }
    Ok(out)
}

/// The record at `place` (blocking); `None` when there is no such file or line.
pub fn find(
    dirs: &[PathBuf],
    cache: &SummaryCache,
    place: &Place,
) -> Result<Option<Found>, DatasetError> {
    let selection = Selection {
        workflows: vec![place.workflow.clone()],
        since: Some(place.date),
        until: Some(place.date),
    };
    let scanned = scan(dirs, &selection)?;
    let Some(file) = scanned.files.iter().find(|f| f.source == place.source) else {
        return Ok(None);
    };
    let mut reader = LineReader::open(&file.path)?;
    let mut choices = Choices::default();
    while let Some((n, line)) = reader.next_line()? {
        let Line::Complete(bytes) = line else {
            continue;
        };
        let Some(light) = Light::parse(bytes) else {
            continue;
        };
        let choice = choices.next(light.request_id.as_deref());
        if n == place.line {
            let Ok(record) = Record::parse(bytes) else {
                return Ok(None);
            };
            let labels = file
                .path
                .parent()
                .map(|d| cache.labels(d))
                .unwrap_or_default();
            let label = record
                .request_id()
                .and_then(|id| labels.get(id, choice))
                .cloned();
            return Ok(Some(Found {
                record,
                choice,
                label,
            }));
        }
    }
    Ok(None)
}

#[cfg(test)]
#[path = "query_tests.rs"]
mod tests;
