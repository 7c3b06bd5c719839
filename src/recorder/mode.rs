//! `--data-mode` (issue 14, item 5): the permission bits of the files and folders created under
//! `--data-dir`, and the create helpers that apply them. Every writer under the data folder
//! (records, and later labels or a spool) creates through [`DataMode`], so one flag governs
//! them all.
//!
//! Syntax: `FILE` or `FILE:DIR`, octal, `0` prefix optional (`0640`, `640`, `0640:0750`).
//! Without `:DIR` a folder gets the file mode plus `x` wherever `r` is set (`0640` → `0750`,
//! `0600` → `0700`, `0644` → `0755`). The owner must keep `rw` on files and `rwx` on folders
//! (the recorder appends, repairs and lists them); set-id and sticky bits are refused.
//!
//! The process umask still applies (the kernel masks the mode at creation), and a file or
//! folder that already exists keeps its mode: nothing is `chmod`ed.

use std::fmt;
use std::fs::{DirBuilder, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;
use std::str::FromStr;

/// The modes given to new files and folders under `--data-dir`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataMode {
    /// Permission bits of new files (default `0640`).
    file: u32,
    /// Permission bits of new folders (default `0750`).
    dir: u32,
}

/// The default `--data-mode`: files `0640`, folders `0750` (owner and group, nobody else).
pub const DEFAULT_DATA_MODE: DataMode = DataMode {
    file: 0o640,
    dir: 0o750,
};

impl Default for DataMode {
    fn default() -> Self {
        DEFAULT_DATA_MODE
    }
}

/// Why a `--data-mode` value is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DataModeError {
    /// Not an octal number of at most four digits.
    #[error("{0:?} is not an octal mode such as 0640 (expected FILE or FILE:DIR, e.g. 0640 or 0640:0750)")]
    NotOctal(String),
    /// Set-user-id, set-group-id or sticky bits.
    #[error("{0:?} has set-id or sticky bits; only permission bits (at most 0777) are accepted")]
    SpecialBits(String),
    /// A file mode without owner read and write.
    #[error("file mode {0:04o} must give the owner read and write (0600), or the recorder cannot append to and repair its files")]
    FileOwner(u32),
    /// A folder mode without owner read, write and search.
    #[error("folder mode {0:04o} must give the owner read, write and search (0700), or the recorder cannot create files in it")]
    DirOwner(u32),
}

impl DataMode {
    /// A mode from its file and folder bits, checked as the flag's value is.
    pub fn new(file: u32, dir: u32) -> Result<Self, DataModeError> {
        if file & 0o600 != 0o600 {
            return Err(DataModeError::FileOwner(file));
        }
        if dir & 0o700 != 0o700 {
            return Err(DataModeError::DirOwner(dir));
        }
        Ok(DataMode { file, dir })
    }

    /// Permission bits of new files.
    pub fn file(self) -> u32 {
        self.file
    }

    /// Permission bits of new folders.
    pub fn dir(self) -> u32 {
        self.dir
    }

    /// `OpenOptions` that create files with this mode (set the access flags on it).
    pub fn file_options(self) -> OpenOptions {
        let mut options = OpenOptions::new();
        options.mode(self.file);
        options
    }

    /// Opens `path` for appending, creating it with this mode when it does not exist (an
    /// existing file keeps its mode).
    pub fn open_append(self, path: &Path) -> io::Result<File> {
        self.file_options().create(true).append(true).open(path)
    }

    /// Creates `path` and its missing parents with this folder mode (existing ones are left
    /// as they are).
    pub fn create_dir_all(self, path: &Path) -> io::Result<()> {
        DirBuilder::new()
            .recursive(true)
            .mode(self.dir)
            .create(path)
    }
}

/// Folder bits derived from file bits: `x` added wherever `r` is set.
fn dir_for(file: u32) -> u32 {
    file | ((file & 0o444) >> 2)
}

/// One octal mode: 1–4 octal digits, an optional leading `0o`, at most `0777`.
fn octal(text: &str, whole: &str) -> Result<u32, DataModeError> {
    let digits = text.strip_prefix("0o").unwrap_or(text);
    if digits.is_empty() || digits.len() > 4 || !digits.bytes().all(|b| (b'0'..=b'7').contains(&b))
    {
        return Err(DataModeError::NotOctal(whole.to_owned()));
    }
    let value =
        u32::from_str_radix(digits, 8).map_err(|_| DataModeError::NotOctal(whole.to_owned()))?;
    if value > 0o777 {
        return Err(DataModeError::SpecialBits(whole.to_owned()));
    }
    Ok(value)
}

impl FromStr for DataMode {
    type Err = DataModeError;

    /// `FILE` or `FILE:DIR` (see the module docs).
    fn from_str(text: &str) -> Result<Self, DataModeError> {
        let whole = text.trim();
        let (file, dir) = match whole.split_once(':') {
            Some((file, dir)) => (octal(file, whole)?, octal(dir, whole)?),
            None => {
                let file = octal(whole, whole)?;
                (file, dir_for(file))
            }
        };
        DataMode::new(file, dir)
    }
}

impl fmt::Display for DataMode {
    /// `0640:0750`: the form the flag accepts.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04o}:{:04o}", self.file, self.dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn parse(text: &str) -> Result<(u32, u32), DataModeError> {
        text.parse::<DataMode>().map(|m| (m.file(), m.dir()))
    }

    #[test]
    fn file_modes_derive_folders_and_pairs_are_taken_as_given() {
        assert_eq!(parse("0640"), Ok((0o640, 0o750)));
        assert_eq!(parse("640"), Ok((0o640, 0o750)));
        assert_eq!(parse("0o600"), Ok((0o600, 0o700)));
        assert_eq!(parse("0644"), Ok((0o644, 0o755)));
        assert_eq!(parse("0660:0770"), Ok((0o660, 0o770)));
        assert_eq!(parse(" 0600:0710 "), Ok((0o600, 0o710)));
        assert_eq!(DataMode::default().to_string(), "0640:0750");
    }

    #[test]
    fn bad_values_are_refused_with_a_reason() {
        for bad in [
            "",
            "rw-r-----",
            "0648",
            "12345",
            "0640:",
            ":0750",
            "0640:0750:0",
            "-640",
        ] {
            assert!(
                matches!(parse(bad), Err(DataModeError::NotOctal(_))),
                "{bad}: {:?}",
                parse(bad)
            );
        }
        assert!(matches!(parse("4640"), Err(DataModeError::SpecialBits(_))));
        assert!(matches!(
            parse("0640:1750"),
            Err(DataModeError::SpecialBits(_))
        ));
        assert_eq!(parse("0440"), Err(DataModeError::FileOwner(0o440)));
        assert_eq!(parse("0600:0600"), Err(DataModeError::DirOwner(0o600)));
        let message = parse("0440").expect_err("refused").to_string();
        assert!(
            message.contains("0440") && message.contains("0600"),
            "{message}"
        );
    }

    #[test]
    fn helpers_create_with_the_mode_and_leave_existing_ones_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mode = DataMode::new(0o600, 0o700).expect("valid");
        let nested = dir.path().join("a").join("b");
        mode.create_dir_all(&nested).expect("create");
        let bits = |p: &Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o7777;
        // The umask may only take bits away; 0600/0700 has none a usual umask removes.
        assert_eq!(bits(&dir.path().join("a")), 0o700);
        assert_eq!(bits(&nested), 0o700);
        let file = nested.join("f");
        mode.open_append(&file).expect("open");
        assert_eq!(bits(&file), 0o600);
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        DataMode::default().open_append(&file).expect("reopen");
        assert_eq!(bits(&file), 0o644, "an existing file keeps its mode");
    }
}
