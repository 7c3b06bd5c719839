//! `export`'s record filters, in the order they apply: endpoint, partial, model, finish reason,
//! `--min-turns`, then (after a successful conversion) `--dedupe`. Each rejection has a
//! [`Skip`] reason that the summary counts.

use std::collections::HashSet;
use std::fmt;

use serde_json::Value;

use super::args::ExportArgs;
use super::record::Record;

/// Why a line was not written.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Skip {
    /// Not JSON, or lacks a required field.
    Invalid,
    /// The file's last line, without a newline.
    Torn,
    /// `--endpoint`.
    Endpoint,
    /// `--model`.
    Model,
    /// `--finish-reason` (the record's reason; `none` for null or missing).
    FinishReason(String),
    /// `--min-turns`.
    MinTurns,
    /// The output format cannot express the record (why).
    Unconvertible(String),
    /// `--dedupe`: an identical conversation was written earlier.
    Duplicate,
    /// A `partial` record (part of its conversation was not captured), without `--keep-partial`.
    Partial,
    /// A Responses turn whose `previous_response_id` names no record in the selected data.
    NoHistory,
    /// `--label`: the record's last label is not one of those asked for.
    Label,
    /// `--exclude-label`: the record's last label is excluded.
    ExcludedLabel,
    /// `--tag`: the record's last label has none of the tags.
    Tag,
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Skip::Invalid => f.write_str("invalid line"),
            Skip::Torn => f.write_str("torn last line"),
            Skip::Endpoint => f.write_str("endpoint"),
            Skip::Model => f.write_str("model"),
            Skip::FinishReason(reason) => write!(f, "finish_reason={reason}"),
            Skip::MinTurns => f.write_str("min-turns"),
            Skip::Unconvertible(why) => write!(f, "format cannot express: {why}"),
            Skip::Duplicate => f.write_str("duplicate"),
            Skip::Partial => f.write_str("partial (history not captured)"),
            Skip::Label => f.write_str("label"),
            Skip::ExcludedLabel => f.write_str("excluded label"),
            Skip::Tag => f.write_str("tag"),
            Skip::NoHistory => {
                f.write_str("history not captured (previous_response_id not in the selected data)")
            }
        }
    }
}

/// The filters of one export.
#[derive(Debug)]
pub struct Filter {
    endpoint: Option<&'static str>,
    models: Vec<String>,
    /// `None`: any finish reason.
    finish_reasons: Option<Vec<String>>,
    min_turns: usize,
    /// Conversation hashes written so far, when deduplicating.
    seen: Option<HashSet<u128>>,
    /// `--keep-partial`: `partial` records pass.
    keep_partial: bool,
}

impl Filter {
    /// The filters `args` ask for.
    pub fn new(args: &ExportArgs) -> Self {
        let reasons: Vec<String> = args
            .finish_reasons
            .iter()
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty())
            .collect();
        Filter {
            endpoint: args.endpoint.map(|e| e.path()),
            models: args.models.clone(),
            finish_reasons: (!reasons.iter().any(|r| r == "any")).then_some(reasons),
            min_turns: args.min_turns,
            seen: args.dedupe.then(HashSet::new),
            keep_partial: args.keep_partial,
        }
    }

    /// Whether `record` passes the endpoint, partial, model, finish-reason and turn filters.
    pub fn check(&self, record: &Record) -> Result<(), Skip> {
        if self.endpoint.is_some_and(|e| e != record.endpoint()) {
            return Err(Skip::Endpoint);
        }
        if !self.keep_partial && record.partial() {
            return Err(Skip::Partial);
        }
        if !self.models.is_empty() && !self.models.iter().any(|m| m == record.model()) {
            return Err(Skip::Model);
        }
        if let Some(reasons) = &self.finish_reasons {
            let reason = record.finish_reason().unwrap_or("none");
            if !reasons.iter().any(|r| r == reason) {
                return Err(Skip::FinishReason(reason.to_owned()));
            }
        }
        if self.min_turns > 0 && turns(record) < self.min_turns {
            return Err(Skip::MinTurns);
        }
        Ok(())
    }

    /// With `--dedupe`: true when an identical conversation was already accepted (and
    /// remembers this one otherwise). Without: always false.
    pub fn is_duplicate(&mut self, conversation_hash: u128) -> bool {
        match &mut self.seen {
            Some(seen) => !seen.insert(conversation_hash),
            None => false,
        }
    }
}

/// Messages of role `user` or `assistant` (what `--min-turns` counts).
pub fn turns(record: &Record) -> usize {
    record
        .messages()
        .iter()
        .filter(|m| {
            matches!(
                m.get("role").and_then(Value::as_str),
                Some("user" | "assistant")
            )
        })
        .count()
}
