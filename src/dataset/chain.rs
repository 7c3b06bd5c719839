//! Responses conversation state: a turn recorded with `previous_response_id` holds only its new
//! input and answer; export rebuilds the whole conversation by following the link to the record
//! whose `request_id` it names, in any selected workflow, day or data folder.
//!
//! Cost: before the export pass, the selected files are read once more to collect the ids that
//! rebuildable Responses records name, and, only when there are some, once again to keep the
//! named records' own messages (parsed) in memory. Memory is bounded by `--chain-memory` (MiB,
//! counted as the JSON text of the kept messages plus the ids); beyond it export stops with an
//! error. Rebuilding one record walks its chain: O(turns) per record, O(turns²) messages written
//! for a conversation, which is what one line per turn with its full history means.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::error::DatasetError;
use super::reader::{Line, LineReader};
use super::record::Record;
use super::scan::DataFile;
use super::skip::Skip;
use crate::record::EndpointKind;

/// One Responses turn that a later turn names as its `previous_response_id`.
#[derive(Debug)]
struct Turn {
    /// The turn's own `messages` as recorded (its new input, then its answer).
    messages: Vec<Value>,
    /// The turn's own `previous_response_id`, when it continues an earlier one.
    previous: Option<String>,
    /// Its own messages lost nothing (not `partial`, or partial only for its link).
    complete: bool,
}

/// The turns that later turns continue, by `request_id`.
#[derive(Debug, Default)]
pub struct ChainIndex {
    /// `request_id` → the turn.
    turns: HashMap<String, Turn>,
}

/// The keys the index pass reads of a line; the rest is skipped unparsed.
#[derive(Deserialize)]
struct Links<'a> {
    /// `endpoint`.
    #[serde(borrow)]
    endpoint: Option<Cow<'a, str>>,
    /// `request_id`.
    #[serde(borrow)]
    request_id: Option<Cow<'a, str>>,
    /// `previous_response_id`.
    previous_response_id: Option<String>,
    /// `partial`.
    partial: Option<bool>,
    /// `rebuildable`.
    rebuildable: Option<bool>,
    /// `messages`, kept as text until needed.
    #[serde(borrow)]
    messages: Option<&'a RawValue>,
}

impl Links<'_> {
    fn is_responses(&self) -> bool {
        self.endpoint.as_deref() == Some(EndpointKind::Responses.path())
    }

    fn rebuildable(&self) -> bool {
        self.rebuildable == Some(true) && self.previous_response_id.is_some()
    }
}

impl ChainIndex {
    /// Reads `files` (up to twice) and keeps every Responses turn a rebuildable record names,
    /// within `max_bytes`.
    pub fn build(files: &[DataFile], max_bytes: u64) -> Result<ChainIndex, DatasetError> {
        let mut used = 0u64;
        let mut named = HashSet::new();
        each_responses_line(files, |links| {
            let rebuildable = links.rebuildable();
            if let Some(id) = links.previous_response_id.filter(|_| rebuildable) {
                used += id.len() as u64;
                named.insert(id);
            }
            Ok(())
        })?;
        let mut index = ChainIndex::default();
        if named.is_empty() {
            return Ok(index);
        }
        let full = |used: u64| match used > max_bytes {
            true => Err(DatasetError::ChainIndexFull {
                mib: max_bytes / (1024 * 1024),
            }),
            false => Ok(()),
        };
        full(used)?;
        each_responses_line(files, |links| {
            let (Some(id), Some(messages)) = (links.request_id.as_deref(), links.messages) else {
                return Ok(());
            };
            if !named.contains(id) || index.turns.contains_key(id) {
                return Ok(()); // the first record of an id wins
            }
            let Ok(messages) = serde_json::from_str::<Vec<Value>>(messages.get()) else {
                return Ok(());
            };
            used += (id.len() + links.messages.map_or(0, |m| m.get().len())) as u64;
            full(used)?;
            let complete = links.partial != Some(true) || links.rebuildable();
            index.turns.insert(
                id.to_owned(),
                Turn {
                    messages,
                    previous: links.previous_response_id.filter(|_| complete),
                    complete,
                },
            );
            Ok(())
        })?;
        Ok(index)
    }

    /// The full conversation of a rebuildable `record`: the latest `system` message (this
    /// turn's `instructions`), every earlier turn's messages oldest first without their own
    /// leading `system` message, then this turn's messages. `Err(Skip::NoHistory)` when a link
    /// is missing (or loops), `Err(Skip::Partial)` when an earlier turn lost something.
    pub fn rebuild(&self, record: &Record) -> Result<Vec<Value>, Skip> {
        let own = record.messages();
        let mut chain = Vec::new();
        let mut next = record
            .map()
            .get("previous_response_id")
            .and_then(Value::as_str);
        while let Some(id) = next {
            if chain.len() > self.turns.len() {
                return Err(Skip::NoHistory); // a loop of links
            }
            let turn = self.turns.get(id).ok_or(Skip::NoHistory)?;
            if !turn.complete {
                return Err(Skip::Partial);
            }
            chain.push(turn);
            next = turn.previous.as_deref();
        }
        let is_system = |m: &Value| m.get("role").and_then(Value::as_str) == Some("system");
        let (system, own_rest) = match own.split_first() {
            Some((first, rest)) if is_system(first) => (Some(first), rest),
            _ => (None, own),
        };
        let mut messages: Vec<Value> = system.into_iter().cloned().collect();
        for turn in chain.iter().rev() {
            let skip = usize::from(turn.messages.first().is_some_and(is_system));
            messages.extend(turn.messages[skip..].iter().cloned());
        }
        messages.extend(own_rest.iter().cloned());
        Ok(messages)
    }

    /// Whether `record` is a Responses turn export should rebuild.
    pub fn wants(record: &Record) -> bool {
        let map = record.map();
        record.endpoint() == EndpointKind::Responses.path()
            && map.get("rebuildable").and_then(Value::as_bool) == Some(true)
            && map
                .get("previous_response_id")
                .is_some_and(Value::is_string)
    }

    /// `record` with `messages` in place of its own and without `partial`/`rebuildable` (its
    /// history is now complete): the line text and the record.
    pub fn rebuilt(record: &Record, messages: Vec<Value>) -> Result<(Vec<u8>, Record), Skip> {
        let mut map = record.map().clone();
        map.insert("messages".to_owned(), Value::Array(messages));
        map.shift_remove("partial");
        map.shift_remove("rebuildable");
        let raw = serde_json::to_vec(&Value::Object(map))
            .map_err(|e| Skip::Unconvertible(e.to_string()))?;
        let record = Record::parse(&raw).map_err(Skip::Unconvertible)?;
        Ok((raw, record))
    }
}

/// Calls `each` with every complete, parseable Responses line of `files`; bad lines are left to
/// the export pass, which counts them.
fn each_responses_line(
    files: &[DataFile],
    mut each: impl FnMut(Links<'_>) -> Result<(), DatasetError>,
) -> Result<(), DatasetError> {
    for file in files {
        let mut reader = LineReader::open_file(file)?;
        while let Some((_, line)) = reader.next_line()? {
            let Line::Complete(bytes) = line else {
                continue;
            };
            match serde_json::from_slice::<Links<'_>>(bytes) {
                Ok(links) if links.is_responses() => each(links)?,
                _ => {}
            }
        }
    }
    Ok(())
}
