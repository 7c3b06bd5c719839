//! Reading a data file line by line in bounded memory (one line at a time), telling a torn last
//! line (no `'\n'`, left by a crash or a write in progress) from complete ones.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use super::error::DatasetError;

/// One line of a data file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line<'a> {
    /// A complete line, without its `'\n'`.
    Complete(&'a [u8]),
    /// The last line of the file, without a `'\n'`: torn.
    Torn(&'a [u8]),
}

/// Line-by-line reader of one file, opened read-only.
#[derive(Debug)]
pub struct LineReader {
    path: PathBuf,
    reader: BufReader<File>,
    buf: Vec<u8>,
    line_no: u64,
    bytes: u64,
}

impl LineReader {
    /// Opens `path` for reading.
    pub fn open(path: &Path) -> Result<Self, DatasetError> {
        let file = File::open(path).map_err(|source| DatasetError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(LineReader {
            path: path.to_path_buf(),
            reader: BufReader::with_capacity(256 * 1024, file),
            buf: Vec::with_capacity(4096),
            line_no: 0,
            bytes: 0,
        })
    }

    /// The next line and its 1-based number, or `None` at the end of the file.
    pub fn next_line(&mut self) -> Result<Option<(u64, Line<'_>)>, DatasetError> {
        self.buf.clear();
        let read = self
            .reader
            .read_until(b'\n', &mut self.buf)
            .map_err(|source| self.read_error(source))?;
        if read == 0 {
            return Ok(None);
        }
        self.line_no += 1;
        self.bytes += read as u64;
        let line = match self.buf.strip_suffix(b"\n") {
            Some(line) => Line::Complete(line),
            None => Line::Torn(&self.buf),
        };
        Ok(Some((self.line_no, line)))
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes read so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    fn read_error(&self, source: io::Error) -> DatasetError {
        DatasetError::Read {
            path: self.path.clone(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn complete_and_torn_lines() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(b"{\"a\":1}\n\n{\"b\"").unwrap();
        let mut reader = LineReader::open(file.path()).unwrap();
        let mut lines = Vec::new();
        while let Some((n, line)) = reader.next_line().unwrap() {
            lines.push(match line {
                Line::Complete(l) => (n, true, l.to_vec()),
                Line::Torn(l) => (n, false, l.to_vec()),
            });
        }
        assert_eq!(
            lines,
            vec![
                (1, true, b"{\"a\":1}".to_vec()),
                (2, true, b"".to_vec()),
                (3, false, b"{\"b\"".to_vec()),
            ]
        );
        assert_eq!(reader.bytes(), 13);
    }
}
