//! The two states of a segment between the writer and the store, shared by the spool, the
//! sealer and the uploader (a leaf: it uses none of them).

use std::path::PathBuf;
use std::time::SystemTime;

use crate::layout::SegmentKey;

/// A segment that is no longer written: waiting to be compressed into its sealed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ready {
    /// The uncompressed file in `<spool>/open/`.
    pub path: PathBuf,
    /// Its key (with `Compression::None`; the sealer sets the compression).
    pub key: SegmentKey,
}

/// A sealed segment waiting in `<spool>/sealed/` for its upload.
#[derive(Debug, Clone)]
pub struct Sealed {
    /// The local file.
    pub path: PathBuf,
    /// Its object key (below the prefix).
    pub key: SegmentKey,
    /// Its size (compressed).
    pub bytes: u64,
    /// When it was sealed (the age gauge counts from here).
    pub sealed_at: SystemTime,
}
