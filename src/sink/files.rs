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

/// Creates `path`'s folder (with its parents) and then the file, by `create`. The sealer and
/// the uploader remove partition folders they emptied, and may do so between the two steps:
/// a file that cannot be created because its folder just went is retried with the folder made
/// again (a few times; the removal only takes an empty folder, so it cannot keep winning).
pub(crate) fn create_in_folder(
    mode: DataMode,
    path: &Path,
    create: impl Fn(DataMode, &Path) -> io::Result<File>,
) -> io::Result<File> {
    let mut tries = 0;
    loop {
        if let Some(dir) = path.parent() {
            create_dirs(mode, dir)?;
        }
        match create(mode, path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound && tries < 4 => tries += 1,
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn a_folder_removed_before_the_file_is_made_is_made_again() {
        let root = tempfile::tempdir().expect("temp dir");
        let path = root
            .path()
            .join("open/workflow=w/date=2026-12-02/seg.jsonl");
        let removed = Cell::new(false);
        let file = create_in_folder(DataMode::default(), &path, |mode, p| {
            if !removed.replace(true) {
                // What the sealer does to a partition folder it emptied.
                std::fs::remove_dir(p.parent().expect("a folder")).expect("remove the folder");
            }
            create_file(mode, p)
        });
        assert!(file.is_ok(), "{file:?}");
        assert!(path.exists());
    }
}
