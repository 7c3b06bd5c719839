//! The recorder's settings: [`RecorderOptions`] and the [`FsyncPolicy`] it holds.

use std::path::PathBuf;

use super::mode::DataMode;

/// When the writer calls `fsync` on the data files it wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum FsyncPolicy {
    /// Sync dirty files at most every second (at most ~1 s of records at risk on power loss).
    #[default]
    Interval,
    /// Sync after every batch.
    Always,
    /// Never sync while running (only once at shutdown); the OS decides.
    Never,
}

/// Settings of [`start`](super::start).
#[derive(Debug, Clone)]
pub struct RecorderOptions {
    /// Root folder of the records (created if missing).
    pub data_dir: PathBuf,
    /// Durability policy.
    pub fsync: FsyncPolicy,
    /// Capacity of the bounded queue between submitters and the writer (at least 1).
    pub queue_records: usize,
    /// `--data-mode`: permission bits of the files and folders it creates.
    pub mode: DataMode,
}
