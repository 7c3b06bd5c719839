//! [`Counts`]: how many finds each detector (or custom rule name) replaced.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Serialize;

/// Replacements per detector name, serialised as a JSON object in name order
/// (`{"email":2,"phone":1}`), so that records list them alike.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Counts(BTreeMap<Cow<'static, str>, u32>);

impl Counts {
    /// Adds `n` finds of `name`.
    pub fn add(&mut self, name: Cow<'static, str>, n: u32) {
        let count = self.0.entry(name).or_insert(0);
        *count = count.saturating_add(n);
    }

    /// Adds every count of `other`.
    pub fn merge(&mut self, other: &Counts) {
        for (name, n) in &other.0 {
            self.add(name.clone(), *n);
        }
    }

    /// Nothing was replaced.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `(name, count)` in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u32)> {
        self.0.iter().map(|(name, n)| (name.as_ref(), *n))
    }

    /// The count of `name` (0 when none).
    pub fn get(&self, name: &str) -> u32 {
        self.0.get(name).copied().unwrap_or(0)
    }

    /// Counts them in `micromodel_redactions_total{workflow,detector}` (when metrics are on).
    pub fn count_metrics(&self, workflow: &str) {
        if !crate::telemetry::enabled() {
            return;
        }
        for (name, n) in self.iter() {
            metrics::counter!(
                crate::telemetry::REDACTIONS,
                "workflow" => workflow.to_owned(),
                "detector" => name.to_owned()
            )
            .increment(u64::from(n));
        }
    }
}
