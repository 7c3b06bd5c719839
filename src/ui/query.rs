//! The records list (newest first, filtered, paged) and one record by its place
//! (`workflow`, day, data folder, for a bucket the object, line), from any [`Source`]. Files
//! are read one line at a time ([`DayLines`]); a page keeps only the line numbers of one
//! file's matches plus its own rows. Without line-level filters, whole files are skipped by
//! their cached record count.

use chrono::NaiveDate;
use serde_json::Value;

use super::labels::Label;
use super::lines::{narrow, DayLines, Item};
use super::source::Source;
use super::text::{answer_text, snippet, text_of};
use crate::dataset::record::Record;
use crate::dataset::scan::{DataFile, Selection};
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
    /// `bucket`: the sink's bucket; anything else: the local data folders.
    pub source: String,
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
    /// For a bucket record, the name of its segment object (`line` is in that object).
    pub object: Option<String>,
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

fn files(source: &dyn Source, filter: &Filter) -> Result<Vec<DataFile>, DatasetError> {
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
    let mut files = source.files(&selection)?;
    files.reverse();
    Ok(files)
}

/// A match: (object index among the file's object names, line, choice).
type Hit = (u32, u64, u32);

/// One page of the list (blocking).
pub fn list(source: &dyn Source, filter: &Filter) -> Result<Page, DatasetError> {
    let mut skip = filter.page * PER_PAGE;
    let mut page = Page::default();
    let needle = filter.q.to_lowercase();
    for file in files(source, filter)? {
        let summary = source.summary(&file)?;
        let labels = source.labels(&file);
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
        // The file's matches, oldest first.
        let mut matches: Vec<Hit> = Vec::new();
        let mut lines = DayLines::open(&file)?;
        while let Some(item) = lines.next_item()? {
            let Item::Record(parsed) = item else {
                continue;
            };
            let (light, choice) = (&parsed.light, parsed.choice);
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
                && (needle.is_empty() || contains_text(parsed.bytes, &needle));
            if keep {
                matches.push((parsed.object, parsed.line, choice));
            }
        }
        if skip >= matches.len() {
            skip -= matches.len();
            continue;
        }
        let wanted: Vec<Hit> = matches.iter().rev().skip(skip).copied().collect();
        skip = 0;
        let room = PER_PAGE - page.rows.len();
        if wanted.len() > room {
            page.has_more = true;
        }
        let take: Vec<Hit> = wanted.into_iter().take(room).collect();
        for row in rows(&file, &take, lines.objects(), &labels)? {
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

/// The rows of `file` at `wanted` (object, line, choice), in the order given.
fn rows(
    file: &DataFile,
    wanted: &[Hit],
    names: &[String],
    labels: &super::labels::DayLabels,
) -> Result<Vec<Row>, DatasetError> {
    let mut found = std::collections::HashMap::new();
    let last = wanted.iter().map(|w| (w.0, w.1)).max().unwrap_or((0, 0));
    let mut lines = DayLines::open(file)?;
    while let Some(item) = lines.next_item()? {
        let Item::Record(parsed) = item else {
            continue;
        };
        let at = (parsed.object, parsed.line);
        if at > last {
            break;
        }
        if let Some(hit) = wanted.iter().find(|w| (w.0, w.1) == at) {
            if let Ok(record) = Record::parse(parsed.bytes) {
                found.insert(at, (record, hit.2));
            }
        }
    }
    let mut out = Vec::new();
    for (object, n, _) in wanted {
        let Some((record, choice)) = found.remove(&(*object, *n)) else {
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
                object: file
                    .segments
                    .as_ref()
                    .and_then(|_| names.get(*object as usize).cloned()),
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

/// The record at `place` (blocking); `None` when there is no such file, object or line.
pub fn find(source: &dyn Source, place: &Place) -> Result<Option<Found>, DatasetError> {
    let selection = Selection {
        workflows: vec![place.workflow.clone()],
        since: Some(place.date),
        until: Some(place.date),
    };
    let files = source.files(&selection)?;
    let file = files
        .iter()
        .filter(|f| f.source == place.source)
        .find_map(|f| match (&f.segments, &place.object) {
            (None, None) => Some(f.clone()),
            (Some(segments), Some(name)) => segments
                .objects
                .iter()
                .find(|o| o.key.filename() == Some(name.as_str()))
                .map(|o| narrow(f, o)),
            _ => None,
        });
    let Some(file) = file else {
        return Ok(None);
    };
    let mut lines = DayLines::open(&file)?;
    while let Some(item) = lines.next_item()? {
        let Item::Record(parsed) = item else {
            continue;
        };
        if parsed.line == place.line {
            let Ok(record) = Record::parse(parsed.bytes) else {
                return Ok(None);
            };
            let label = record
                .request_id()
                .and_then(|id| source.labels(&file).get(id, parsed.choice).cloned());
            return Ok(Some(Found {
                record,
                choice: parsed.choice,
                label,
            }));
        }
    }
    Ok(None)
}

#[cfg(test)]
#[path = "query_tests.rs"]
mod tests;
