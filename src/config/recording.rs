//! The recording controls of a workflow (issue 14, item 4): `RECORD` (all, none or a sampled
//! fraction) and `RESPECT_STORE`. The decision per request lives in `crate::trust::gate`; this
//! file owns the validated values and their validators.

use std::fmt;

use super::errors::ConfigError;
use super::node::Node;

/// `RECORD`: which of a workflow's answers are recorded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RecordMode {
    /// `"all"` (the default): every recordable answer.
    #[default]
    All,
    /// `"none"`: proxy only, nothing is recorded.
    None,
    /// A number from 0.0 to 1.0: the fraction of requests recorded, decided by a hash of the
    /// request body (see `docs/recording-controls.md`).
    Sample(SampleRate),
}

/// A sampling fraction in `0.0..=1.0` (never NaN, so it compares as `Eq`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleRate(f64);

// The value is never NaN (checked in `SampleRate::new`), so `==` is an equivalence.
impl Eq for SampleRate {}

impl SampleRate {
    /// The rate, when `fraction` is a finite number from 0.0 to 1.0.
    pub fn new(fraction: f64) -> Option<Self> {
        (fraction.is_finite() && (0.0..=1.0).contains(&fraction)).then_some(SampleRate(fraction))
    }

    /// The fraction, 0.0 to 1.0.
    pub fn fraction(self) -> f64 {
        self.0
    }
}

impl fmt::Display for RecordMode {
    /// `all`, `none`, or the fraction as a percentage (`25%`), for `micromodel check`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordMode::All => f.write_str("all"),
            RecordMode::None => f.write_str("none"),
            RecordMode::Sample(rate) => write!(f, "{}%", rate.fraction() * 100.0),
        }
    }
}

/// What `RECORD` accepts, for the wrong-type message.
const RECORD_EXPECTED: &str = "\"all\", \"none\" or a number from 0.0 to 1.0";

/// `RECORD`: `"all"`, `"none"` (case-insensitive) or a number from 0.0 to 1.0. `null` or
/// absent → `"all"`.
pub(crate) fn record(workflow: &str, node: &Node) -> Result<RecordMode, ConfigError> {
    match node {
        Node::Null => Ok(RecordMode::All),
        Node::String(s) if s.eq_ignore_ascii_case("all") => Ok(RecordMode::All),
        Node::String(s) if s.eq_ignore_ascii_case("none") => Ok(RecordMode::None),
        Node::String(_) => Err(ConfigError::InvalidRecord {
            workflow: workflow.to_owned(),
            value: node.describe(),
        }),
        Node::Number(number) => number
            .as_f64()
            .and_then(SampleRate::new)
            .map(RecordMode::Sample)
            .ok_or_else(|| ConfigError::InvalidRecord {
                workflow: workflow.to_owned(),
                value: node.describe(),
            }),
        other => Err(ConfigError::WrongType {
            workflow: workflow.to_owned(),
            field: "RECORD",
            expected: RECORD_EXPECTED,
            found: other.describe(),
        }),
    }
}

/// `RESPECT_STORE`: `true` or `false`; `null` or absent → `false`.
pub(crate) fn respect_store(workflow: &str, node: &Node) -> Result<bool, ConfigError> {
    match node {
        Node::Null => Ok(false),
        Node::Bool(b) => Ok(*b),
        other => Err(ConfigError::WrongType {
            workflow: workflow.to_owned(),
            field: "RESPECT_STORE",
            expected: "true or false",
            found: other.describe(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(text: &str) -> Node {
        serde_json::from_str(text).expect("json")
    }

    #[test]
    fn record_accepts_all_none_and_fractions() {
        assert_eq!(record("w", &Node::Null), Ok(RecordMode::All));
        assert_eq!(
            record("w", &Node::String("ALL".into())),
            Ok(RecordMode::All)
        );
        assert_eq!(
            record("w", &Node::String("none".into())),
            Ok(RecordMode::None)
        );
        for (text, want) in [("0", 0.0), ("0.25", 0.25), ("1", 1.0), ("1.0", 1.0)] {
            let Ok(RecordMode::Sample(rate)) = record("w", &number(text)) else {
                panic!("{text} is a rate");
            };
            assert_eq!(rate.fraction(), want);
        }
    }

    #[test]
    fn record_refuses_out_of_range_unknown_strings_and_other_types() {
        for bad in ["-0.1", "1.5", "2", "1e400"] {
            if let Ok(node) = serde_json::from_str::<Node>(bad) {
                assert!(
                    matches!(record("w", &node), Err(ConfigError::InvalidRecord { .. })),
                    "{bad}"
                );
            }
        }
        assert!(matches!(
            record("w", &Node::String("some".into())),
            Err(ConfigError::InvalidRecord { .. })
        ));
        assert!(matches!(
            record("w", &Node::Bool(true)),
            Err(ConfigError::WrongType {
                field: "RECORD",
                ..
            })
        ));
    }

    #[test]
    fn respect_store_is_a_boolean() {
        assert_eq!(respect_store("w", &Node::Null), Ok(false));
        assert_eq!(respect_store("w", &Node::Bool(true)), Ok(true));
        assert!(matches!(
            respect_store("w", &Node::String("true".into())),
            Err(ConfigError::WrongType {
                field: "RESPECT_STORE",
                ..
            })
        ));
    }

    #[test]
    fn modes_display_for_check() {
        assert_eq!(RecordMode::All.to_string(), "all");
        let quarter = SampleRate::new(0.25).map(RecordMode::Sample);
        assert_eq!(quarter.map(|m| m.to_string()).as_deref(), Some("25%"));
    }
}
