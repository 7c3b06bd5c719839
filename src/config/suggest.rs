//! "Did you mean ...?" for unknown fields: the closest known field name.
//!
//! Tried in order: a case-insensitive match (`port` → `PORT`); a few common names from other
//! tools (`BASE_URL` → `OPENAI_API_HOST`, `OPENAI_API_KEY` → `API_KEY`); the unknown name being
//! part of a known one (`TIMEOUT` → `TIMEOUT_SECONDS`, shortest wins); a known name being part of the unknown
//! one (`PORT_NUMBER` → `PORT`, longest wins); finally a small edit distance (`APIKEY` →
//! `API_KEY`). Comparison ignores case and treats `-`, ` ` and `_` alike.

use super::limits::FIELDS;

/// Names other OpenAI tools use for the same settings.
const ALIASES: &[(&str, &str)] = &[
    ("OPENAI_API_KEY", "API_KEY"),
    ("OPENAI_KEY", "API_KEY"),
    ("KEY", "API_KEY"),
    ("TOKEN", "API_KEY"),
    ("OPENAI_BASE_URL", "OPENAI_API_HOST"),
    ("OPENAI_API_BASE", "OPENAI_API_HOST"),
    ("BASE_URL", "OPENAI_API_HOST"),
    ("API_BASE", "OPENAI_API_HOST"),
    ("URL", "OPENAI_API_HOST"),
    ("UPSTREAM", "OPENAI_API_HOST"),
    ("TIMEOUT", "TIMEOUT_SECONDS"),
    ("BIND", "HOST"),
    ("ADDRESS", "HOST"),
    ("LISTEN", "HOST"),
];

/// The known field closest to `unknown`, or `None` when nothing is reasonably close.
pub(crate) fn closest_field(unknown: &str) -> Option<&'static str> {
    let wanted = canonical(unknown);
    if wanted.is_empty() {
        return None;
    }
    if let Some(known) = FIELDS.iter().find(|k| canonical(k) == wanted) {
        return Some(known);
    }
    if let Some((_, known)) = ALIASES.iter().find(|(alias, _)| *alias == wanted) {
        return Some(known);
    }
    if wanted.len() >= 3 {
        if let Some(known) = FIELDS
            .iter()
            .filter(|k| k.contains(wanted.as_str()))
            .min_by_key(|k| k.len())
        {
            return Some(known);
        }
    }
    if let Some(known) = FIELDS
        .iter()
        .filter(|k| wanted.contains(*k))
        .max_by_key(|k| k.len())
    {
        return Some(known);
    }
    FIELDS
        .iter()
        .map(|k| (edit_distance(&wanted, k), *k))
        .filter(|(d, k)| *d <= (k.len() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Upper case, with `-` and spaces read as `_`.
fn canonical(name: &str) -> String {
    name.trim()
        .chars()
        .map(|c| match c {
            '-' | ' ' => '_',
            c => c.to_ascii_uppercase(),
        })
        .collect()
}

/// Optimal-string-alignment distance: insertions, deletions, substitutions and swaps of two
/// neighbouring characters each cost 1.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // rows[i][j]: distance between a[..i] and b[..j].
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}
