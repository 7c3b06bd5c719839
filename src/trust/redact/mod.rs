//! `REDACT`: masking what a record must not keep, before it is written.
//!
//! A [`Redactor`] is compiled once per config load from a workflow's rules (built-in
//! [`Detector`]s and [`CustomRule`]s) and shared (`Arc`) by every request that the workflow
//! serves until a reload replaces it. Each rule has a prefilter: a custom rule its own
//! pattern, a built-in a cheap necessary condition of its pattern (mostly literals and
//! bytes: `@`, `AKIA`, `-----BEGIN`, a digit; see [`Detector::prefilter`]), which the regex
//! crate runs with its memchr / Teddy literal search. All prefilters in one alternation are
//! the gate: a string in which nothing is to be redacted costs that one scan; otherwise only
//! the rules whose prefilter hits run their full pattern on it to replace their matches.
//!
//! Decision: not one `RegexSet` of all prefilters. Measured on this machine, a set of the six
//! built-ins' prefilters took 2–3 µs per 100-byte string (a multi-pattern search gets no
//! literal prefilter and runs the overlapping lazy DFA over every byte), the six regexes one
//! after the other about 0.1 µs.
//!
//! [`Redactor::redact_json`] applies it to every string value of a JSON text (object keys are
//! kept), decoding a string first when it holds escapes, so `a\u0040b.example` is found as
//! well as `a@b.example`. What was replaced is counted per detector in [`Counts`], which the
//! record line carries as `"redacted"` and the metrics count.

mod builtin;
mod counts;
mod json;
mod secrets;

use std::borrow::Cow;
use std::fmt;

use regex::Regex;

pub use builtin::{Detector, ALL};
pub use counts::Counts;

/// The `name` a custom rule's replacements are counted under when it has none.
pub const CUSTOM: &str = "custom";

/// One entry of `REDACT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// A built-in detector.
    Builtin(Detector),
    /// A pattern of the operator's.
    Custom(CustomRule),
}

/// `{"pattern": "<regex>", "replace": "<text>", "name": "<label>"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomRule {
    /// The regex (the `regex` crate's syntax).
    pub pattern: String,
    /// What a match becomes; `$1` / `${name}` insert capture groups, `$$` is a `$`.
    pub replace: String,
    /// What its replacements are counted under ([`CUSTOM`] by default).
    pub name: String,
}

/// Why a rule could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// The pattern is not a valid regex (or is too big).
    #[error("pattern {pattern:?} is not a valid regex: {reason}")]
    InvalidPattern {
        /// The pattern given.
        pattern: String,
        /// The regex crate's explanation, on one line.
        reason: String,
    },
    /// The pattern matches the empty string, so it would insert its replacement everywhere.
    #[error("pattern {pattern:?} matches the empty string")]
    MatchesEmpty {
        /// The pattern given.
        pattern: String,
    },
}

/// A compiled matcher: one per rule, in the order they are applied.
struct Matcher {
    /// The rule's regex.
    regex: Regex,
    /// Where the rule's prefilter is in [`Redactor::prefilters`].
    set_index: usize,
    /// What is counted.
    name: Cow<'static, str>,
    /// What a match becomes.
    kind: MatcherKind,
}

enum MatcherKind {
    /// A built-in's placeholder; each candidate checked by [`Detector::accepts`].
    Builtin(Detector),
    /// A custom rule's replacement (capture groups expanded).
    Custom(String),
}

/// A workflow's compiled `REDACT` rules. Equal when the rules are.
pub struct Redactor {
    /// The rules as configured (for equality and `Debug`).
    rules: Vec<Rule>,
    /// Every rule's prefilter, indexed as the matchers say.
    prefilters: Vec<Regex>,
    /// All prefilters in one alternation: the one scan of a string with nothing to redact.
    gate: Regex,
    /// Custom rules first (in config order), then built-ins in [`builtin::APPLY_ORDER`].
    matchers: Vec<Matcher>,
}

impl Redactor {
    /// Compiles `rules`; the errors name the index of each rule that failed.
    pub fn new(rules: Vec<Rule>) -> Result<Redactor, Vec<(usize, RuleError)>> {
        let mut errors = Vec::new();
        let mut patterns = Vec::new();
        let mut matchers = Vec::new();
        for (index, rule) in rules.iter().enumerate() {
            let Rule::Custom(custom) = rule else { continue };
            match compile_custom(&custom.pattern) {
                Ok(regex) => {
                    matchers.push(Matcher {
                        regex,
                        set_index: patterns.len(),
                        name: Cow::Owned(custom.name.clone()),
                        kind: MatcherKind::Custom(custom.replace.clone()),
                    });
                    patterns.push(custom.pattern.clone());
                }
                Err(error) => errors.push((index, error)),
            }
        }
        for detector in builtin::APPLY_ORDER {
            if !rules.contains(&Rule::Builtin(detector)) {
                continue;
            }
            let regex = Regex::new(&detector.pattern()).expect("built-in patterns compile");
            matchers.push(Matcher {
                regex,
                set_index: patterns.len(),
                name: Cow::Borrowed(detector.name()),
                kind: MatcherKind::Builtin(detector),
            });
            patterns.push(detector.prefilter().to_owned());
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let union: Vec<String> = patterns.iter().map(|p| format!("(?:{p})")).collect();
        let gate = Regex::new(&union.join("|")).map_err(|e| {
            let pattern = union.join("|");
            vec![(
                0,
                RuleError::InvalidPattern {
                    pattern,
                    reason: one_line(&e),
                },
            )]
        })?;
        let prefilters = patterns
            .iter()
            .map(|p| Regex::new(p).expect("compiled once above or built in"))
            .collect();
        Ok(Redactor {
            rules,
            prefilters,
            gate,
            matchers,
        })
    }

    /// Every built-in detector and no custom rule (what `validate --redact-check` looks for).
    pub fn builtins() -> Redactor {
        Redactor::new(ALL.into_iter().map(Rule::Builtin).collect())
            .expect("built-in patterns compile")
    }

    /// The rules as configured.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// `text` with every find replaced, counted into `counts`; `None` when nothing was found.
    pub fn redact(&self, text: &str, counts: &mut Counts) -> Option<String> {
        if !self.gate.is_match(text) {
            return None;
        }
        let hits: Vec<bool> = self.prefilters.iter().map(|p| p.is_match(text)).collect();
        if !hits.contains(&true) {
            return None;
        }
        let mut current = Cow::Borrowed(text);
        let mut changed = false;
        for matcher in &self.matchers {
            if !hits[matcher.set_index] {
                continue;
            }
            let (replaced, n) = matcher.apply(&current);
            if n > 0 {
                counts.add(matcher.name.clone(), n);
                current = Cow::Owned(replaced);
                changed = true;
            }
        }
        changed.then(|| current.into_owned())
    }

    /// Counts what [`redact`](Self::redact) would replace in `text`, without replacing it.
    pub fn scan(&self, text: &str, counts: &mut Counts) {
        let _ = self.redact(text, counts);
    }

    /// A JSON text with every string value redacted (see [`json`]); `None` when nothing
    /// was found. `text` must be valid JSON.
    pub fn redact_json(&self, text: &str, counts: &mut Counts) -> Option<String> {
        json::redact_strings(text, |s| self.redact(s, counts))
    }
}

impl Matcher {
    /// The text with this matcher's finds replaced, and how many there were.
    fn apply(&self, text: &str) -> (String, u32) {
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        let mut n = 0u32;
        match &self.kind {
            MatcherKind::Builtin(detector) => {
                for found in self.regex.find_iter(text) {
                    if found.is_empty() || !detector.accepts(text, found.start(), found.end()) {
                        continue;
                    }
                    out.push_str(&text[last..found.start()]);
                    out.push_str(detector.placeholder());
                    last = found.end();
                    n = n.saturating_add(1);
                }
            }
            MatcherKind::Custom(replace) => {
                for caps in self.regex.captures_iter(text) {
                    let found = caps.get(0).expect("group 0 is the match");
                    if found.is_empty() {
                        continue;
                    }
                    out.push_str(&text[last..found.start()]);
                    caps.expand(replace, &mut out);
                    last = found.end();
                    n = n.saturating_add(1);
                }
            }
        }
        out.push_str(&text[last..]);
        (out, n)
    }
}

fn compile_custom(pattern: &str) -> Result<Regex, RuleError> {
    let regex = Regex::new(pattern).map_err(|e| RuleError::InvalidPattern {
        pattern: pattern.to_owned(),
        reason: one_line(&e),
    })?;
    if regex.is_match("") {
        return Err(RuleError::MatchesEmpty {
            pattern: pattern.to_owned(),
        });
    }
    Ok(regex)
}

/// The regex crate's error, which may draw the pattern with a caret over several lines, as
/// its last line (`error: unclosed group`).
fn one_line(error: &regex::Error) -> String {
    let text = error.to_string();
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    last.trim().trim_start_matches("error: ").to_owned()
}

impl PartialEq for Redactor {
    fn eq(&self, other: &Self) -> bool {
        self.rules == other.rules
    }
}

impl Eq for Redactor {}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redactor")
            .field("rules", &self.rules)
            .finish_non_exhaustive()
    }
}

/// `text` through each of `redactors` in turn (a record filed under another workflow than
/// the port's is redacted by both), counted into `counts`. `text` must be valid JSON.
pub fn redact_json_all<'a>(
    redactors: &[std::sync::Arc<Redactor>],
    text: Cow<'a, str>,
    counts: &mut Counts,
) -> Cow<'a, str> {
    redactors.iter().fold(text, |text, redactor| {
        match redactor.redact_json(&text, counts) {
            Some(redacted) => Cow::Owned(redacted),
            None => text,
        }
    })
}

#[cfg(test)]
mod tests;
