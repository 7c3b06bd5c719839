//! `export`'s record filters, in the order they apply: endpoint, partial, model, finish reason,
//! `--min-turns`, then (after a successful conversion) `--dedupe`. Each rejection has a
//! [`Skip`] reason ([`super::skip`]) that the summary counts.

use std::collections::HashSet;

use serde_json::Value;

use super::args::ExportArgs;
use super::record::Record;
use super::skip::Skip;

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
