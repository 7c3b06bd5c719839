//! The Markdown table the report prints: its rows and notes, the formatting of its cells, and
//! printing it.

use std::path::Path;

/// The report being built: its rows and the problems seen on the way.
pub struct Table {
    /// phase, metric, direct, via MicroModel, added/ratio, target, met?
    pub rows: Vec<[String; 7]>,
    /// Problems seen in the raw results, printed under the table.
    pub notes: Vec<String>,
}

impl Table {
    /// Adds a row.
    pub fn row(&mut self, cells: [&str; 7]) {
        self.rows.push(cells.map(str::to_owned));
    }
}

/// `value` with `decimals` decimals and `unit`, or `n/a`.
pub fn fmt(value: Option<f64>, decimals: usize, unit: &str) -> String {
    match value {
        Some(v) => format!("{v:.decimals$}{unit}"),
        None => "n/a".to_string(),
    }
}

/// As [`fmt`], with a sign.
pub fn signed(value: Option<f64>, decimals: usize, unit: &str) -> String {
    match value {
        Some(v) => format!("{v:+.decimals$}{unit}"),
        None => "n/a".to_string(),
    }
}

/// The "met?" cell.
pub fn met(ok: Option<bool>) -> &'static str {
    match ok {
        Some(true) => "yes",
        Some(false) => "**no**",
        None => "n/a",
    }
}

/// A whole number with thousands separators (`251,188`).
pub fn thousands(v: f64) -> String {
    let n = v.round() as i64;
    let digits = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// Prints the Markdown table, then the notes (naming the results folder `dir`).
pub fn print(table: &Table, dir: &Path) {
    println!("| phase | metric | direct | via MicroModel | added/ratio | target | met? |");
    println!("|---|---|---:|---:|---:|---|---|");
    for row in &table.rows {
        println!("| {} |", row.join(" | "));
    }
    if !table.notes.is_empty() {
        println!();
        println!("Problems seen (raw results in {}):", dir.display());
        for note in &table.notes {
            println!("- {note}");
        }
    }
}
