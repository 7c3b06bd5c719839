//! `micromodel export`: selected days and workflows of one or several data folders, merged by
//! timestamp, filtered, converted and written in bounded memory (one record per open file, plus
//! 16 bytes per record under `--dedupe`, plus the Responses turns that later turns continue,
//! bounded by `--chain-memory`: see [`super::chain`]). Ends with a summary on stderr: files and lines read,
//! lines written (per output file), lines skipped by reason, and each bad line's `file:line`.
//! Data files are only ever opened for reading.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::args::ExportArgs;
use super::chain::ChainIndex;
use super::error::DatasetError;
use super::filter::Filter;
use super::formats::write_line;
use super::labels::DayLabels;
use super::merge::{DayMerge, Event};
use super::output::Output;
use super::progress::Progress;
use super::scan::{scan, Selection};
use super::skip::Skip;

/// Bad lines listed by `file:line` in the summary (all are counted).
const LISTED: usize = 50;

/// What an export did.
#[derive(Debug, Default)]
pub struct Summary {
    /// Data files read.
    pub files: usize,
    /// Lines read (valid or not).
    pub lines: u64,
    /// Each output (`-` for stdout) and the lines written to it.
    pub written: Vec<(PathBuf, u64)>,
    /// Lines not written, by reason.
    pub skipped: BTreeMap<Skip, u64>,
    /// The first bad lines: file, line number, problem.
    pub bad: Vec<(PathBuf, u64, String)>,
    /// Requested workflows that had no data file in the selected days.
    pub missing_workflows: Vec<String>,
    /// One line per bucket read: listings, objects selected and read.
    pub buckets: Vec<String>,
}

impl Summary {
    /// Lines written in all.
    pub fn total_written(&self) -> u64 {
        self.written.iter().map(|(_, n)| n).sum()
    }

    /// The summary as printed on stderr.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let outputs: Vec<String> = self
            .written
            .iter()
            .map(|(path, n)| format!("{n} to {}", path.display()))
            .collect();
        out.push_str(&format!(
            "micromodel export: read {} lines from {} files; wrote {} lines ({})\n",
            self.lines,
            self.files,
            self.total_written(),
            outputs.join(", ")
        ));
        let skipped: u64 = self.skipped.values().sum();
        if skipped > 0 {
            out.push_str(&format!("skipped {skipped}:\n"));
            for (reason, n) in &self.skipped {
                out.push_str(&format!("  {reason}: {n}\n"));
            }
        }
        let bad = self.skipped.get(&Skip::Invalid).unwrap_or(&0)
            + self.skipped.get(&Skip::Torn).unwrap_or(&0);
        if bad > 0 {
            out.push_str("bad lines:\n");
            for (path, line, problem) in &self.bad {
                out.push_str(&format!("  {}:{line}: {problem}\n", path.display()));
            }
            if bad > self.bad.len() as u64 {
                out.push_str(&format!("  ... and {} more\n", bad - self.bad.len() as u64));
            }
        }
        for workflow in &self.missing_workflows {
            out.push_str(&format!(
                "note: no data for workflow {workflow:?} in the selected days\n"
            ));
        }
        for bucket in &self.buckets {
            out.push_str(&format!("note: {bucket}\n"));
        }
        out
    }
}

/// Runs `export` and prints its summary; the exit code (0) or an error (exit 1).
pub fn run(args: &ExportArgs) -> anyhow::Result<i32> {
    match export(args) {
        Ok(summary) => {
            eprint!("{}", summary.render());
            Ok(0)
        }
        // `export ... | head`: the reader has what it wanted.
        Err(DatasetError::Write { path, source })
            if path == Path::new("-") && source.kind() == io::ErrorKind::BrokenPipe =>
        {
            Ok(0)
        }
        Err(error) => Err(error.into()),
    }
}

/// Exports as `args` ask; returns what was done.
pub fn export(args: &ExportArgs) -> Result<Summary, DatasetError> {
    if let Some(ratio) = args.split {
        if !(ratio > 0.0 && ratio < 1.0) {
            return Err(DatasetError::BadSplit(ratio));
        }
    }
    if let Some(out) = &args.out {
        refuse_inside_data_dirs(out, &args.data_dirs)?;
    }
    let selection = Selection {
        workflows: args.workflows.clone(),
        since: args.since,
        until: args.until,
    };
    let scan = scan(&args.data_dirs, &selection)?;
    let mut output = Output::create(args.out.as_deref(), args.split, args.seed)?;
    let mut filter = Filter::new(args);
    let label_filter = args.label_filter();
    let reasoning = args.reasoning();
    let mut summary = Summary {
        files: scan.files.len(),
        ..Summary::default()
    };
    let found: BTreeSet<&str> = scan.files.iter().map(|f| f.workflow.as_str()).collect();
    summary.missing_workflows = args
        .workflows
        .iter()
        .filter(|w| !found.contains(w.as_str()))
        .cloned()
        .collect();
    let chains = ChainIndex::build(
        &scan.files,
        args.chain_memory_mib.saturating_mul(1024 * 1024),
    )?;
    let mut progress = Progress::new(scan.total_bytes());
    let mut bytes_before = 0;
    let mut written = 0u64;
    let mut buf = Vec::with_capacity(8192);
    for day in scan.by_date() {
        // Read once per day folder, only when a label filter asks for them.
        let mut labels = match label_filter.active() {
            true => DayLabels::read(&args.data_dirs, day)?,
            false => DayLabels::default(),
        };
        let mut merge = DayMerge::open(day)?;
        while let Some(event) = merge.next_event()? {
            summary.lines += 1;
            match event {
                Event::Bad {
                    path,
                    line,
                    skip,
                    problem,
                    ..
                } => {
                    if args.strict {
                        return Err(DatasetError::Strict {
                            path,
                            line,
                            problem,
                        });
                    }
                    if summary.bad.len() < LISTED {
                        summary.bad.push((path, line, problem));
                    }
                    *summary.skipped.entry(skip).or_default() += 1;
                }
                Event::Record { raw, record, .. } => {
                    buf.clear();
                    if label_filter.active() {
                        if let Err(skip) = label_filter.check(labels.of(&record)) {
                            *summary.skipped.entry(skip).or_default() += 1;
                            progress.tick(bytes_before + merge.bytes(), written);
                            continue;
                        }
                    }
                    let (raw, record) = match ChainIndex::wants(&record) {
                        false => (raw, record),
                        true => match chains
                            .rebuild(&record)
                            .and_then(|messages| ChainIndex::rebuilt(&record, messages))
                        {
                            Ok((raw, rebuilt)) => (raw, Box::new(rebuilt)),
                            // With --keep-partial the turn is written as captured.
                            Err(Skip::NoHistory | Skip::Partial) if args.keep_partial => {
                                (raw, record)
                            }
                            Err(skip) => {
                                *summary.skipped.entry(skip).or_default() += 1;
                                progress.tick(bytes_before + merge.bytes(), written);
                                continue;
                            }
                        },
                    };
                    let hashes = record.hashes();
                    let kept = filter
                        .check(&record)
                        .and_then(|()| {
                            write_line(args.format, reasoning, &raw, &record, &mut buf)
                                .map_err(Skip::Unconvertible)
                        })
                        .and_then(|()| match filter.is_duplicate(hashes.conversation) {
                            true => Err(Skip::Duplicate),
                            false => Ok(()),
                        });
                    match kept {
                        Ok(()) => {
                            output.write(&buf, hashes.prompt)?;
                            written += 1;
                        }
                        Err(skip) => *summary.skipped.entry(skip).or_default() += 1,
                    }
                }
            }
            progress.tick(bytes_before + merge.bytes(), written);
        }
        bytes_before += merge.bytes();
    }
    progress.finish();
    summary.written = output.finish()?;
    summary.buckets = scan.bucket_notes();
    let _ = io::stderr().flush();
    Ok(summary)
}

/// Export never writes into a data folder: refuse an `--out` whose folder is inside one.
fn refuse_inside_data_dirs(out: &Path, data_dirs: &[PathBuf]) -> Result<(), DatasetError> {
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let Ok(parent) = parent.canonicalize() else {
        return Ok(()); // creating the output will fail with a clear error
    };
    for dir in data_dirs {
        if let Ok(dir) = dir.canonicalize() {
            if parent.starts_with(&dir) {
                return Err(DatasetError::OutInsideDataDir {
                    out: out.to_path_buf(),
                    data_dir: dir,
                });
            }
        }
    }
    Ok(())
}
