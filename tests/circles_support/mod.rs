//! The two generic parts of tests/import_circles.rs: blanking comments and literals out of
//! Rust source, and the strongly connected components of a file graph.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// Blanks comments, string and char literals (keeping newlines and byte offsets).
pub fn strip(text: &str) -> String {
    let b: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let blank = |out: &mut String, s: &[char]| {
        for &c in s {
            match c {
                '\n' => out.push('\n'),
                // Same byte length, so offsets in the stripped text hold in the original.
                _ => out.extend(std::iter::repeat(' ').take(c.len_utf8())),
            }
        }
    };
    while i < b.len() {
        let rest = &b[i..];
        let j = if rest.starts_with(&['/', '/']) {
            i + rest.iter().position(|&c| c == '\n').unwrap_or(rest.len())
        } else if rest.starts_with(&['/', '*']) {
            let (mut depth, mut j) = (1, i + 2);
            while j < b.len() && depth > 0 {
                if b[j..].starts_with(&['/', '*']) {
                    depth += 1;
                    j += 2;
                } else if b[j..].starts_with(&['*', '/']) {
                    depth -= 1;
                    j += 2;
                } else {
                    j += 1;
                }
            }
            j
        } else if b[i] == 'r'
            && (i == 0 || !(b[i - 1].is_alphanumeric() || b[i - 1] == '_'))
            && matches!(rest.get(1), Some('"' | '#'))
        {
            let hashes = rest[1..].iter().take_while(|&&c| c == '#').count();
            if rest.get(1 + hashes) != Some(&'"') {
                out.push(b[i]);
                i += 1;
                continue;
            }
            let mut close = vec!['"'];
            close.extend(std::iter::repeat('#').take(hashes));
            let from = i + 2 + hashes;
            (from..b.len())
                .find(|&k| b[k..].starts_with(&close))
                .map_or(b.len(), |k| k + close.len())
        } else if b[i] == '"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != '"' {
                j += if b[j] == '\\' { 2 } else { 1 };
            }
            j + 1
        } else if b[i] == '\'' && rest.get(2) == Some(&'\'') {
            i + 3
        } else if b[i] == '\'' && rest.get(1) == Some(&'\\') {
            i + 2
                + rest[2..]
                    .iter()
                    .position(|&c| c == '\'')
                    .map_or(0, |p| p + 1)
        } else {
            out.push(b[i]);
            i += 1;
            continue;
        };
        let j = j.min(b.len());
        blank(&mut out, &b[i..j]);
        i = j;
    }
    out
}

/// The groups of two or more files that reach each other (Kosaraju).
pub fn scc(adj: &BTreeMap<PathBuf, BTreeSet<PathBuf>>) -> Vec<BTreeSet<PathBuf>> {
    // Kosaraju: order by finish time, then collect on the reversed graph.
    let nodes: Vec<&PathBuf> = adj.keys().collect();
    let mut seen = BTreeSet::new();
    let mut order = Vec::new();
    for &start in &nodes {
        if !seen.insert(start.clone()) {
            continue;
        }
        let mut stack = vec![(
            start.clone(),
            adj[start].iter().cloned().collect::<Vec<_>>(),
        )];
        while let Some((node, next)) = stack.last_mut() {
            match next.pop() {
                Some(n) if seen.insert(n.clone()) => {
                    let more = adj
                        .get(&n)
                        .map(|s| s.iter().cloned().collect())
                        .unwrap_or_default();
                    stack.push((n, more));
                }
                Some(_) => {}
                None => {
                    order.push(node.clone());
                    stack.pop();
                }
            }
        }
    }
    let mut rev: BTreeMap<PathBuf, BTreeSet<PathBuf>> = BTreeMap::new();
    for (a, bs) in adj {
        for b in bs {
            rev.entry(b.clone()).or_default().insert(a.clone());
        }
    }
    let mut done = BTreeSet::new();
    let mut out = Vec::new();
    for node in order.into_iter().rev() {
        if done.contains(&node) {
            continue;
        }
        let mut comp = BTreeSet::new();
        let mut todo = vec![node];
        while let Some(n) = todo.pop() {
            if done.insert(n.clone()) {
                todo.extend(rev.get(&n).into_iter().flatten().cloned());
                comp.insert(n);
            }
        }
        if comp.len() > 1 {
            out.push(comp);
        }
    }
    out
}
