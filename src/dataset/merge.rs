//! One day's data files (every selected workflow, every replica) merged into one stream of
//! records ordered by `timestamp`; ties keep the order of the files (workflow name, then data
//! folder order) and of their lines. Each file is mostly in time order already (lines are
//! appended as answers complete), so this is a k-way merge holding one record per file.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, VecDeque};

use chrono::{DateTime, Utc};

use super::error::DatasetError;
use super::reader::{Line, LineReader};
use super::record::Record;
use super::scan::DataFile;
use super::skip::Skip;

/// What the merge yields.
#[derive(Debug)]
pub enum Event<'a> {
    /// A record that passed the shape checks.
    Record {
        /// Its file.
        file: &'a DataFile,
        /// Its 1-based line number.
        line: u64,
        /// The line as captured, without its newline.
        raw: Vec<u8>,
        /// The parsed record.
        record: Box<Record>,
    },
    /// A line that is torn or does not pass the shape checks.
    Bad {
        /// Its file.
        file: &'a DataFile,
        /// Where the line is: the file's path, or for a bucket the object's URL.
        path: std::path::PathBuf,
        /// Its 1-based line number (in its object, for a bucket).
        line: u64,
        /// [`Skip::Invalid`] or [`Skip::Torn`].
        skip: Skip,
        /// What is wrong.
        problem: String,
    },
}

struct Head {
    timestamp: DateTime<Utc>,
    source: usize,
    line: u64,
    raw: Vec<u8>,
    record: Box<Record>,
}

impl Head {
    fn key(&self) -> (DateTime<Utc>, usize, u64) {
        (self.timestamp, self.source, self.line)
    }
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl Eq for Head {}
impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Head {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

/// The merge of one day's files.
pub struct DayMerge<'a> {
    files: &'a [DataFile],
    readers: Vec<LineReader>,
    heap: BinaryHeap<Reverse<Head>>,
    bad: VecDeque<Event<'a>>,
}

impl<'a> DayMerge<'a> {
    /// Opens every file of `files` (one day's) and reads the first record of each.
    pub fn open(files: &'a [DataFile]) -> Result<Self, DatasetError> {
        let readers = files
            .iter()
            .map(LineReader::open_file)
            .collect::<Result<Vec<_>, _>>()?;
        let mut merge = DayMerge {
            files,
            readers,
            heap: BinaryHeap::with_capacity(files.len()),
            bad: VecDeque::new(),
        };
        for source in 0..files.len() {
            merge.advance(source)?;
        }
        Ok(merge)
    }

    /// The next event: bad lines as they are met, records in timestamp order.
    pub fn next_event(&mut self) -> Result<Option<Event<'a>>, DatasetError> {
        if let Some(bad) = self.bad.pop_front() {
            return Ok(Some(bad));
        }
        let Some(Reverse(head)) = self.heap.pop() else {
            return Ok(None);
        };
        self.advance(head.source)?;
        Ok(Some(Event::Record {
            file: &self.files[head.source],
            line: head.line,
            raw: head.raw,
            record: head.record,
        }))
    }

    /// Bytes read so far from this day's files.
    pub fn bytes(&self) -> u64 {
        self.readers.iter().map(LineReader::bytes).sum()
    }

    /// Reads `source` up to its next valid record (queued in the heap), queueing bad lines.
    fn advance(&mut self, source: usize) -> Result<(), DatasetError> {
        let file = &self.files[source];
        let reader = &mut self.readers[source];
        while let Some((line, text, path)) = reader.next_line_at()? {
            let bytes = match text {
                Line::Complete(bytes) => bytes,
                Line::Torn(bytes) => {
                    let problem = format!("torn last line ({} bytes, no newline)", bytes.len());
                    self.bad.push_back(Event::Bad {
                        file,
                        path: path.to_path_buf(),
                        line,
                        skip: Skip::Torn,
                        problem,
                    });
                    continue;
                }
            };
            match Record::parse(bytes) {
                Ok(record) => {
                    self.heap.push(Reverse(Head {
                        timestamp: record.timestamp(),
                        source,
                        line,
                        raw: bytes.to_vec(),
                        record: Box::new(record),
                    }));
                    return Ok(());
                }
                Err(problem) => self.bad.push_back(Event::Bad {
                    file,
                    path: path.to_path_buf(),
                    line,
                    skip: Skip::Invalid,
                    problem,
                }),
            }
        }
        Ok(())
    }
}
