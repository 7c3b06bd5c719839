//! `REDACT`: a list of built-in detector names (or `"all"`) and custom rules
//! `{"pattern": "<regex>", "replace": "<text>", "name": "<label>"}`, compiled once per load
//! into a shared [`Redactor`]. Every problem of every entry is reported.

use std::sync::Arc;

use super::errors::ConfigError;
use super::node::Node;
use super::suggest::edit_distance;
use crate::trust::redact::{CustomRule, Detector, Redactor, Rule, ALL, CUSTOM};

/// The name that turns on every built-in detector.
pub const ALL_NAME: &str = "all";

/// Longest custom rule `name` (it is a metrics label).
const MAX_NAME_LEN: usize = 32;

fn problem(workflow: &str, index: Option<usize>, problem: String) -> ConfigError {
    ConfigError::InvalidRedact {
        workflow: workflow.to_owned(),
        at: index.map_or_else(String::new, |i| format!("[{i}]")),
        problem,
    }
}

/// `REDACT` of one workflow: `None` when absent, `null` or empty; errors for every entry.
pub(crate) fn redact(
    workflow: &str,
    node: &Node,
    errors: &mut Vec<ConfigError>,
) -> Option<Option<Arc<Redactor>>> {
    let items = match node {
        Node::Null => return Some(None),
        Node::Array(items) => items,
        other => {
            errors.push(problem(
                workflow,
                None,
                format!(
                    "must be an array of detector names and {{\"pattern\", \"replace\"}} rules, found {}",
                    other.describe()
                ),
            ));
            return None;
        }
    };
    let before = errors.len();
    let mut rules = Vec::new();
    // Where each rule came from, to name the entry of a pattern that does not compile.
    let mut origin = Vec::new();
    for (index, item) in items.iter().enumerate() {
        match entry(item) {
            Ok(entry_rules) => {
                for rule in entry_rules {
                    if !rules.contains(&rule) {
                        rules.push(rule);
                        origin.push(index);
                    }
                }
            }
            Err(why) => errors.push(problem(workflow, Some(index), why)),
        }
    }
    if rules.is_empty() {
        return (errors.len() == before).then_some(None);
    }
    match Redactor::new(rules) {
        Ok(redactor) if errors.len() == before => Some(Some(Arc::new(redactor))),
        Ok(_) => None,
        Err(failed) => {
            for (rule, error) in failed {
                let index = origin.get(rule).copied();
                errors.push(problem(workflow, index, error.to_string()));
            }
            None
        }
    }
}

/// The rules one entry stands for, or why it is wrong.
fn entry(item: &Node) -> Result<Vec<Rule>, String> {
    match item {
        Node::String(name) if name == ALL_NAME => Ok(ALL.into_iter().map(Rule::Builtin).collect()),
        Node::String(name) => match Detector::from_name(name) {
            Some(detector) => Ok(vec![Rule::Builtin(detector)]),
            None => Err(unknown_detector(name)),
        },
        Node::Object(fields) => custom(fields).map(|rule| vec![Rule::Custom(rule)]),
        other => Err(format!(
            "must be a detector name or a {{\"pattern\", \"replace\"}} object, found {}",
            other.describe()
        )),
    }
}

fn unknown_detector(name: &str) -> String {
    let known: Vec<&str> = ALL.iter().map(|d| d.name()).chain([ALL_NAME]).collect();
    let wanted = name.trim().to_ascii_lowercase().replace(['-', ' '], "_");
    let closest = known
        .iter()
        .map(|k| (edit_distance(&wanted, k), *k))
        .filter(|(d, k)| *d <= (k.len() / 3).max(2) || k.starts_with(wanted.as_str()))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k);
    match closest {
        Some(k) if wanted.len() >= 2 => format!("unknown detector {name:?} (did you mean {k}?)"),
        _ => format!("unknown detector {name:?} (known: {})", known.join(", ")),
    }
}

fn custom(fields: &[(String, Node)]) -> Result<CustomRule, String> {
    let mut problems = Vec::new();
    for (key, _) in fields {
        if !["pattern", "replace", "name"].contains(&key.as_str()) {
            problems.push(format!(
                "unknown key {key:?} (a rule has \"pattern\", \"replace\" and an optional \"name\")"
            ));
        }
    }
    let get = |key: &str| fields.iter().find(|(k, _)| k == key).map(|(_, v)| v);
    let mut text = |key: &str, required: bool| match get(key) {
        Some(Node::String(s)) => Some(s.clone()),
        None if !required => None,
        None => {
            problems.push(format!("missing {key:?} (a string)"));
            None
        }
        Some(other) => {
            problems.push(format!(
                "{key:?} must be a string, found {}",
                other.describe()
            ));
            None
        }
    };
    let pattern = text("pattern", true);
    let replace = text("replace", true);
    let name = text("name", false);
    if let Some(name) = &name {
        let ok = !name.is_empty()
            && name.len() <= MAX_NAME_LEN
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !ok {
            problems.push(format!(
                "\"name\" {name:?} must be 1-{MAX_NAME_LEN} letters, digits, `_` or `-`"
            ));
        }
    }
    match (pattern, replace, problems.is_empty()) {
        (Some(pattern), Some(replace), true) => Ok(CustomRule {
            pattern,
            replace,
            name: name.unwrap_or_else(|| CUSTOM.to_owned()),
        }),
        _ => Err(problems.join("; ")),
    }
}
