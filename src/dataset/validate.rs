//! `micromodel validate`: every line of every data file checked against the record format
//! (see [`record`](super::record) for what is required), plus its place: `workflow_id` must
//! name the workflow folder and the timestamp's UTC day the day folder. Prints
//! `file:line: problem` on stdout, a count on stderr; exit 1 when anything is wrong.
//!
//! `--repair` first cuts a torn last line (no newline) with the recorder's own
//! [`repair_torn_tail`]; the cut is reported and no longer counts as a problem. Run it with
//! the proxy stopped: a line being appended can look torn for an instant.
//!
//! `--redact-check` also reports, as `file:line: redact-check: email (2)`, every line in
//! which a built-in `REDACT` detector still finds something (see `super::redact_check`);
//! such a line makes the exit status 1 too.

use std::io::Write;

use crate::recorder::repair_torn_tail;

use super::args::ValidateArgs;
use super::error::DatasetError;
use super::reader::{Line, LineReader};
use super::record::Record;
use super::redact_check;
use super::scan::{scan, DataFile, Selection};
use super::source;
use crate::layout;
use crate::trust::redact::Redactor;

/// What a validation found.
#[derive(Debug, Default)]
pub struct Report {
    /// Files checked.
    pub files: usize,
    /// Lines checked.
    pub lines: u64,
    /// Problems, each `file:line: problem`.
    pub problems: Vec<String>,
    /// Repairs done, each `file:line: torn last line cut (N bytes)`.
    pub repaired: Vec<String>,
    /// Entries ignored because they are not `<workflow>/<DD-MM-YYYY>/` folders.
    pub ignored: Vec<String>,
    /// `--redact-check`: lines in which a built-in detector fires, each
    /// `file:line: redact-check: email (2), ...`.
    pub unredacted: Vec<String>,
}

/// Runs `validate`; exit 1 when a problem was found.
pub fn run(args: &ValidateArgs) -> anyhow::Result<i32> {
    let report = validate(args)?;
    let mut stdout = std::io::stdout().lock();
    for line in report
        .repaired
        .iter()
        .chain(&report.problems)
        .chain(&report.unredacted)
    {
        writeln!(stdout, "{line}")?;
    }
    stdout.flush()?;
    for path in &report.ignored {
        eprintln!("note: ignored {path} (not a <workflow>/<DD-MM-YYYY>/ folder)");
    }
    eprintln!(
        "micromodel validate: {} files, {} lines: {} problems{}",
        report.files,
        report.lines,
        report.problems.len(),
        match report.repaired.len() {
            0 => String::new(),
            n => format!(", {n} torn last lines cut"),
        }
    );
    if args.redact_check {
        eprintln!(
            "micromodel validate --redact-check: {} lines with finds of a built-in detector",
            report.unredacted.len()
        );
    }
    let clean = report.problems.is_empty() && report.unredacted.is_empty();
    Ok(if clean { 0 } else { 1 })
}

/// Checks (and with `--repair`, repairs) every data file of the data folders.
pub fn validate(args: &ValidateArgs) -> Result<Report, DatasetError> {
    if args.repair {
        if let Some(url) = args.data_dirs.iter().find(|d| source::is_bucket(d)) {
            return Err(DatasetError::RepairBucket {
                url: url.display().to_string(),
            });
        }
    }
    let scan = scan(&args.data_dirs, &Selection::default())?;
    let mut report = Report {
        files: scan.files.len(),
        ignored: scan
            .ignored
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        ..Report::default()
    };
    let redactor = args.redact_check.then(Redactor::builtins);
    for file in &scan.files {
        let cut = if args.repair {
            repair_torn_tail(&file.path).map_err(|source| DatasetError::Read {
                path: file.path.clone(),
                source,
            })?
        } else {
            None
        };
        let lines = check_file(file, &mut report.problems)?;
        if let Some(redactor) = &redactor {
            check_redaction(file, redactor, &mut report.unredacted)?;
        }
        report.lines += lines;
        if let Some(bytes) = cut {
            report.repaired.push(format!(
                "{}:{}: torn last line cut ({bytes} bytes)",
                file.path.display(),
                lines + 1
            ));
        }
    }
    Ok(report)
}

/// `--redact-check` of one file's complete lines.
fn check_redaction(
    file: &DataFile,
    redactor: &Redactor,
    found: &mut Vec<String>,
) -> Result<(), DatasetError> {
    let mut reader = LineReader::open(&file.path)?;
    let path = file.path.display();
    while let Some((n, line)) = reader.next_line()? {
        let Line::Complete(bytes) = line else {
            continue;
        };
        let counts = redact_check::finds(redactor, bytes);
        if !counts.is_empty() {
            let what = redact_check::describe(&counts);
            found.push(format!("{path}:{n}: redact-check: {what}"));
        }
    }
    Ok(())
}

/// Checks one file's lines; returns how many there are.
fn check_file(file: &DataFile, problems: &mut Vec<String>) -> Result<u64, DatasetError> {
    let mut reader = LineReader::open_file(file)?;
    let mut lines = 0;
    while let Some((n, line, path)) = reader.next_line_at()? {
        lines += 1;
        let path = path.display();
        let bytes = match line {
            Line::Complete(bytes) => bytes,
            Line::Torn(bytes) => {
                problems.push(format!(
                    "{path}:{n}: torn last line ({} bytes, no newline; --repair cuts it)",
                    bytes.len()
                ));
                continue;
            }
        };
        let (record, found) = match std::str::from_utf8(bytes) {
            Ok(_) => Record::check(bytes),
            Err(e) => (None, vec![format!("not UTF-8 ({e})")]),
        };
        for problem in found {
            problems.push(format!("{path}:{n}: {problem}"));
        }
        let Some(record) = record else { continue };
        let workflow = record.workflow_id();
        if !workflow.is_empty() && workflow != file.workflow {
            problems.push(format!(
                "{path}:{n}: workflow_id {workflow:?} is not the folder's {:?}",
                file.workflow
            ));
        }
        let day = record.timestamp().date_naive();
        if day != file.date {
            problems.push(format!(
                "{path}:{n}: timestamp's UTC day {} is not the folder's {}",
                layout::day_folder_name(day),
                layout::day_folder_name(file.date)
            ));
        }
    }
    Ok(lines)
}
