//! The writer's cache of open data files (paths come from [`crate::layout`]). Everything here is blocking
//! file IO and runs on a blocking thread (`spawn_blocking`), never on a runtime worker.

use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tracing::{error, warn};

use super::mode::DataMode;
use super::repair::repair_torn_tail;
use super::settings::FsyncPolicy;

/// At most this many files stay open; the least recently used are closed first.
pub(crate) const MAX_OPEN: usize = 32;
/// A file not written for this long is closed.
pub(crate) const IDLE_CLOSE: Duration = Duration::from_secs(60);

#[derive(Debug)]
struct OpenFile {
    /// The append-mode handle.
    file: File,
    /// (device, inode) of the file when it was opened: still the file at its path only while
    /// a fresh `stat` of the path gives the same pair.
    id: (u64, u64),
    /// When it was last written (for eviction).
    last_used: Instant,
    /// Written since its last sync.
    dirty: bool,
}

/// (device, inode) of some metadata: what tells whether two names are the same file.
fn file_id(meta: &fs::Metadata) -> (u64, u64) {
    (meta.dev(), meta.ino())
}

/// Open append-mode handles keyed by path, plus what still needs an fsync.
#[derive(Debug)]
pub(crate) struct FileCache {
    policy: FsyncPolicy,
    /// `--data-mode`: the mode of the files and folders it creates.
    mode: DataMode,
    open: HashMap<PathBuf, OpenFile>,
    /// Folders whose entries changed (a file or folder was created in them).
    dirty_dirs: HashSet<PathBuf>,
    /// Files where a failed write could not be truncated back: repaired before the next append.
    torn: HashSet<PathBuf>,
}

impl FileCache {
    pub(crate) fn new(policy: FsyncPolicy, mode: DataMode) -> Self {
        Self {
            policy,
            mode,
            open: HashMap::new(),
            dirty_dirs: HashSet::new(),
            torn: HashSet::new(),
        }
    }

    /// Appends `buf` (whole lines) to `path` with a single `write_all` on an append-mode handle.
    ///
    /// On failure the file is truncated back to its length before the write, so no partial
    /// line stays behind, and the handle is dropped so the next attempt reopens the file.
    pub(crate) fn append(&mut self, path: &Path, buf: &[u8]) -> io::Result<()> {
        if self.torn.contains(path) {
            match repair_torn_tail(path) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
            self.torn.remove(path);
        }
        self.forget_if_moved(path);
        if !self.open.contains_key(path) {
            let file = self.open_new(path)?;
            let id = file_id(&file.metadata()?);
            self.open.insert(
                path.to_path_buf(),
                OpenFile {
                    file,
                    id,
                    last_used: Instant::now(),
                    dirty: false,
                },
            );
        }
        let Some(entry) = self.open.get_mut(path) else {
            return Err(io::Error::other("file handle vanished from cache"));
        };
        let result = append_whole(&mut entry.file, buf);
        match result {
            Ok(()) => {
                entry.dirty = true;
                entry.last_used = Instant::now();
                // Moved between the check above and the write: the lines may sit in an
                // unlinked file, so they are not counted and go again to the file at the path.
                if self.forget_if_moved(path) {
                    return Err(io::Error::other(
                        "the data file was removed or replaced during the write",
                    ));
                }
                Ok(())
            }
            Err(AppendError::Write { before, error: e }) => {
                if let Err(error) = entry.file.set_len(before) {
                    error!(path = %path.display(), %error, "cannot truncate a failed write; will repair before the next append");
                    self.torn.insert(path.to_path_buf());
                }
                self.open.remove(path);
                Err(e)
            }
            Err(AppendError::Stat(e)) => {
                self.open.remove(path);
                Err(e)
            }
        }
    }

    /// Drops the cached handle of `path` when it no longer is the file at `path`: the file was
    /// deleted, replaced (a new file renamed over it), renamed away, or its day folder removed
    /// or made into a file. Lines written through such a handle would not be reachable at the
    /// path, so the next write reopens the path instead. One `stat` per file per batch.
    ///
    /// Warns once per such event (the handle is gone afterwards, so it cannot repeat).
    /// True when a handle was dropped.
    fn forget_if_moved(&mut self, path: &Path) -> bool {
        let Some(entry) = self.open.get(path) else {
            return false;
        };
        let now_at_path = fs::metadata(path).map(|meta| file_id(&meta));
        if now_at_path.as_ref().ok() == Some(&entry.id) {
            return false;
        }
        let what = match &now_at_path {
            Ok(_) => "replaced by another file".to_owned(),
            Err(error) => format!("gone ({error})"),
        };
        warn!(
            path = %path.display(),
            was = %what,
            "data file is no longer the file at its path; reopening it there"
        );
        if let Some(old) = self.open.remove(path) {
            // Whatever was written through the old handle is the operator's to keep or not;
            // a sync of an unlinked file is pointless, so just close it.
            drop(old);
        }
        true
    }

    /// Opens (creating folders and file as needed) in append mode, noting changed folders.
    fn open_new(&mut self, path: &Path) -> io::Result<File> {
        if let Some(date_dir) = path.parent() {
            if !date_dir.is_dir() {
                self.mode.create_dir_all(date_dir)?;
                // The date folder, the workflow folder and the data dir may all be new.
                for dir in date_dir.ancestors().skip(1).take(2) {
                    self.dirty_dirs.insert(dir.to_path_buf());
                }
            }
            if !path.exists() {
                self.dirty_dirs.insert(date_dir.to_path_buf());
            }
        }
        self.mode.open_append(path)
    }

    /// True when some file or folder has not been synced since it was last changed.
    pub(crate) fn has_dirty(&self) -> bool {
        !self.dirty_dirs.is_empty() || self.open.values().any(|f| f.dirty)
    }

    /// `sync_all` on every dirty file and changed folder. Returns the failures (a file that
    /// failed stays dirty and is tried again next time).
    pub(crate) fn sync_dirty(&mut self) -> Vec<(PathBuf, io::Error)> {
        let mut failures = Vec::new();
        for (path, entry) in self.open.iter_mut().filter(|(_, f)| f.dirty) {
            match entry.file.sync_all() {
                Ok(()) => entry.dirty = false,
                Err(e) => failures.push((path.clone(), e)),
            }
        }
        for dir in std::mem::take(&mut self.dirty_dirs) {
            // Folder syncs are best effort: some filesystems refuse them.
            if let Err(e) = File::open(&dir).and_then(|d| d.sync_all()) {
                warn!(path = %dir.display(), error = %e, "cannot sync folder");
            }
        }
        failures
    }

    /// Closes handles idle for [`IDLE_CLOSE`] and the least recently used beyond [`MAX_OPEN`],
    /// syncing dirty ones first unless the policy is `never`.
    pub(crate) fn evict(&mut self, now: Instant) {
        let mut by_age: Vec<(PathBuf, Instant)> = self
            .open
            .iter()
            .map(|(p, f)| (p.clone(), f.last_used))
            .collect();
        by_age.sort_by_key(|(_, used)| *used);
        let excess = self.open.len().saturating_sub(MAX_OPEN);
        for (i, (path, used)) in by_age.into_iter().enumerate() {
            if i >= excess && now.saturating_duration_since(used) < IDLE_CLOSE {
                break;
            }
            self.close(&path);
        }
    }

    /// Closes one handle, syncing it first when dirty (unless the policy is `never`).
    fn close(&mut self, path: &Path) {
        if let Some(entry) = self.open.remove(path) {
            if entry.dirty && self.policy != FsyncPolicy::Never {
                if let Err(error) = entry.file.sync_all() {
                    warn!(path = %path.display(), %error, "cannot sync data file before closing it");
                }
            }
        }
    }

    /// Syncs everything dirty (whatever the policy) and closes every handle.
    pub(crate) fn close_all(&mut self) -> Vec<(PathBuf, io::Error)> {
        let failures = self.sync_dirty();
        self.open.clear();
        failures
    }

    /// Number of open handles (for tests).
    #[cfg(test)]
    pub(crate) fn open_count(&self) -> usize {
        self.open.len()
    }
}

enum AppendError {
    Stat(io::Error),
    Write { before: u64, error: io::Error },
}

fn append_whole(file: &mut File, buf: &[u8]) -> Result<(), AppendError> {
    let before = file.metadata().map_err(AppendError::Stat)?.len();
    file.write_all(buf)
        .map_err(|error| AppendError::Write { before, error })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::DATA_FILE;

    #[test]
    fn evicts_beyond_max_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cache = FileCache::new(FsyncPolicy::Never, DataMode::default());
        for i in 0..(MAX_OPEN + 5) {
            let p = dir
                .path()
                .join(format!("wf{i}"))
                .join("01-01-2025")
                .join(DATA_FILE);
            cache.append(&p, b"{}\n").expect("append");
            cache.evict(Instant::now());
        }
        assert_eq!(cache.open_count(), MAX_OPEN);
        cache.evict(Instant::now() + IDLE_CLOSE);
        assert_eq!(cache.open_count(), 0);
    }

    #[test]
    fn a_removed_or_replaced_file_is_reopened_at_its_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let day = dir.path().join("wf").join("01-01-2025");
        let p = day.join(DATA_FILE);
        let mut cache = FileCache::new(FsyncPolicy::Never, DataMode::default());
        cache.append(&p, b"1\n").expect("first");
        fs::remove_file(&p).expect("rm file");
        cache.append(&p, b"2\n").expect("after rm");
        assert_eq!(fs::read_to_string(&p).expect("read"), "2\n");
        let other = dir.path().join("new");
        fs::write(&other, "x\n").expect("write");
        fs::rename(&other, &p).expect("replace");
        cache.append(&p, b"3\n").expect("after replace");
        assert_eq!(fs::read_to_string(&p).expect("read"), "x\n3\n");
        fs::remove_dir_all(&day).expect("rm day");
        cache.append(&p, b"4\n").expect("after rm day");
        assert_eq!(fs::read_to_string(&p).expect("read"), "4\n");
        fs::remove_dir_all(&day).expect("rm day");
        fs::write(&day, "blocked").expect("day is a file");
        assert!(
            cache.append(&p, b"5\n").is_err(),
            "a blocked day path is a failure"
        );
    }
}
