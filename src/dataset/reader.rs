//! Reading a data file line by line in bounded memory (one line at a time), telling a torn last
//! line (no `'\n'`, left by a crash or a write in progress) from complete ones. A bucket's data
//! file is its segments read one after the other, each streamed; lines are numbered per object
//! and a segment that does not end in `'\n'` has a torn last line.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::error::DatasetError;
use super::scan::DataFile;
use super::source::{Bucket, SegmentObject};

/// One line of a data file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line<'a> {
    /// A complete line, without its `'\n'`.
    Complete(&'a [u8]),
    /// The last line of the file, without a `'\n'`: torn.
    Torn(&'a [u8]),
}

/// Line-by-line reader of one file (or one bucket data file's objects), opened read-only.
pub struct LineReader {
    path: PathBuf,
    reader: Box<dyn BufRead + Send>,
    /// A bucket data file's objects not opened yet.
    next: Option<(Arc<Bucket>, std::vec::IntoIter<SegmentObject>)>,
    buf: Vec<u8>,
    line_no: u64,
    bytes: u64,
}

impl std::fmt::Debug for LineReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LineReader")
            .field("path", &self.path)
            .field("line_no", &self.line_no)
            .finish_non_exhaustive()
    }
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
            reader: Box::new(BufReader::with_capacity(256 * 1024, file)),
            next: None,
            buf: Vec::with_capacity(4096),
            line_no: 0,
            bytes: 0,
        })
    }

    /// Opens a scanned data file: its path, or for a bucket its objects, one after the other
    /// (each opened when the one before has been read to its end).
    pub fn open_file(file: &DataFile) -> Result<Self, DatasetError> {
        let Some(segments) = &file.segments else {
            return Self::open(&file.path);
        };
        let mut reader = LineReader {
            path: file.path.clone(),
            reader: Box::new(io::empty()),
            next: Some((
                Arc::clone(&segments.bucket),
                segments.objects.clone().into_iter(),
            )),
            buf: Vec::with_capacity(4096),
            line_no: 0,
            bytes: 0,
        };
        reader.open_next()?;
        Ok(reader)
    }

    /// Moves to the next object of a bucket data file; `false` when there is none.
    fn open_next(&mut self) -> Result<bool, DatasetError> {
        let Some((bucket, objects)) = &mut self.next else {
            return Ok(false);
        };
        let Some(object) = objects.next() else {
            return Ok(false);
        };
        self.reader = bucket.open_object(&object)?;
        self.path = PathBuf::from(bucket.object_url(&object.key));
        self.line_no = 0;
        Ok(true)
    }

    /// The next line and its 1-based number (in its object, for a bucket), or `None` at the end
    /// of the file (of the last object).
    pub fn next_line(&mut self) -> Result<Option<(u64, Line<'_>)>, DatasetError> {
        self.buf.clear();
        let read = loop {
            let read = self
                .reader
                .read_until(b'\n', &mut self.buf)
                .map_err(|source| self.read_error(source))?;
            if read > 0 || !self.open_next()? {
                break read;
            }
        };
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

    /// [`LineReader::next_line`], with where the line is: the file's path, or for a bucket the
    /// URL of its object.
    pub fn next_line_at(&mut self) -> Result<Option<(u64, Line<'_>, &Path)>, DatasetError> {
        if self.next_line()?.is_none() {
            return Ok(None);
        }
        let line = match self.buf.strip_suffix(b"\n") {
            Some(line) => Line::Complete(line),
            None => Line::Torn(&self.buf),
        };
        Ok(Some((self.line_no, line, &self.path)))
    }

    /// The file's path; for a bucket, the URL of the object being read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes read so far (decompressed, for a bucket's objects).
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
