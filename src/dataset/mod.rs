//! Data tools over recorded folders (`<data-dir>/<workflow>/<DD-MM-YYYY>/data.jsonl`, §4):
//! `export`, `stats` and `validate`.
//!
//! Nothing here ever writes into a data folder, except `validate --repair`, which cuts a torn
//! last line exactly as the recorder does on start.
//!
//! - [`args`]: the flags of the three subcommands.
//! - [`scan`]: finding the data files of one or several data folders (replicas), date parsing.
//! - [`reader`]: reading a data file line by line in bounded memory, spotting a torn last line.
//! - [`record`]: one parsed record line: shape checks (what `validate` reports and `export`
//!   skips) and the content hashes used by `--dedupe` and `--split`.
//! - [`filter`]: `export`'s record filters and skip reasons.
//! - [`formats`]: the output formats `chatml`, `openai` and `sharegpt`.
//! - [`merge`]: one day's files of every workflow and replica merged by timestamp.
//! - [`output`]: the output file(s): written beside the target and renamed when complete.
//! - [`export`], [`stats`], [`validate`]: the subcommands.

pub mod args;
pub mod export;
pub mod filter;
pub mod formats;
pub mod merge;
pub mod output;
mod progress;
pub mod reader;
pub mod record;
pub mod scan;
pub mod stats;
pub mod validate;

use std::io;
use std::path::PathBuf;

pub use args::{EndpointArg, ExportArgs, Format, StatsArgs, ValidateArgs};

/// Errors of the data tools.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// A data folder (or a folder inside it) could not be listed.
    #[error("cannot read data folder {}: {source}", path.display())]
    DataDir {
        /// The folder.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A data file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// An output file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file (`-` for stdout).
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// `--strict`: a line that does not parse or lacks required fields.
    #[error("{}:{line}: {problem} (--strict: nothing written)", path.display())]
    Strict {
        /// The data file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        problem: String,
    },
    /// `--out` points into a data folder, which export never writes to.
    #[error("--out {} is inside the data folder {}; export never writes there", out.display(), data_dir.display())]
    OutInsideDataDir {
        /// The output path.
        out: PathBuf,
        /// The data folder.
        data_dir: PathBuf,
    },
    /// `--split` without `--out`.
    #[error("--split needs --out FILE (it writes FILE's .train and .valid parts)")]
    SplitNeedsOut,
    /// `--split` outside (0, 1).
    #[error("--split must be between 0 and 1 (exclusive), got {0}")]
    BadSplit(f64),
}
