//! The one place the spool creates files and folders, with `--data-mode` (a leaf).

use std::fs::File;
use std::io;
use std::path::Path;

// Re-exported for `mod.rs`, which must not name `crate::recorder` (whose `mod.rs` names
// `crate::sink`: an import circle).
pub(crate) use crate::recorder::DataMode;

/// Creates a spool folder and its missing parents with the folder mode.
pub(crate) fn create_dirs(mode: DataMode, path: &Path) -> io::Result<()> {
    mode.create_dir_all(path)
}

/// Creates a new spool file for appending (refuses an existing one), with the file mode.
pub(crate) fn create_file(mode: DataMode, path: &Path) -> io::Result<File> {
    mode.file_options().append(true).create_new(true).open(path)
}

/// Creates (or truncates) a spool file for writing, with the file mode when it is new.
pub(crate) fn create_truncated(mode: DataMode, path: &Path) -> io::Result<File> {
    mode.file_options()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
}
