//! [`DatasetError`]: the errors of the data tools.

use std::io;
use std::path::PathBuf;

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
    /// The Responses turns that later turns continue need more than `--chain-memory`.
    #[error("the Responses conversations to rebuild need more than --chain-memory {mib} MiB; raise it or select fewer days")]
    ChainIndexFull {
        /// The limit, in MiB.
        mib: u64,
    },
    /// A `--data-dir` URL that is not a bucket URL this tool reads.
    #[error("bad --data-dir URL {url}: {reason}")]
    BadUrl {
        /// The URL, credentials removed.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// A bucket could not be opened or listed (unreachable store, missing bucket, refused
    /// credentials).
    #[error("cannot read bucket {url}: {reason}")]
    Bucket {
        /// The bucket URL (never holds credentials).
        url: String,
        /// Why, in short (the store's error code and message, or why it did not answer).
        reason: String,
        /// The store client's error.
        #[source]
        source: object_store::Error,
    },
    /// The runtime that runs a bucket's requests could not start.
    #[error("cannot start the runtime for bucket requests: {0}")]
    Runtime(io::Error),
    /// `validate --repair` on a bucket: uploaded segments are immutable.
    #[error(
        "validate --repair works on local folders only; {url} holds immutable uploaded segments"
    )]
    RepairBucket {
        /// The bucket URL.
        url: String,
    },
}
