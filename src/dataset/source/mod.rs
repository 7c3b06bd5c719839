//! Where the data tools read records from: a local data folder (`<workflow>/<DD-MM-YYYY>/
//! data.jsonl`) or a bucket the sink uploads to (`<prefix>/workflow=<id>/date=<YYYY-MM-DD>/
//! <instance>-<time>-<seq>.jsonl[.gz|.zst]`, named by [`crate::layout`]).
//!
//! A `--data-dir` value is a bucket when it starts with a URL scheme (`s3://bucket/prefix`);
//! any other value is a local folder. After this module, records take one code path: a bucket's
//! segments of one workflow, day and instance are read one after the other as if they were that
//! instance's day file, so merge order, dedupe and split are those of local folders.
//!
//! - [`bucket`]: opening a store from its URL and listing segments, pruned by `--workflow`,
//!   `--since` and `--until` through the partition names before anything below is listed.
//! - `url`: [`BucketUrl`], a `--data-dir` URL parsed (credentials refused, never printed).
//! - `stream`: one object streamed (never downloaded whole) and decompressed as it is read.

pub mod bucket;
mod stream;
mod url;

use std::path::Path;
use std::sync::Arc;

pub use bucket::{Bucket, BucketDay, ListStats, Prune, SegmentObject};
pub use url::{BucketUrl, SCHEMES};

use super::error::DatasetError;

/// What one `--data-dir` value names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataDir<'a> {
    /// A local data folder.
    Local(&'a Path),
    /// A bucket (and prefix) the sink uploads to.
    Bucket(BucketUrl),
}

/// Where a bucket data file's lines come from: one instance's segments of one workflow and
/// day, read one after the other.
#[derive(Debug, Clone)]
pub struct Segments {
    /// The bucket.
    pub bucket: Arc<Bucket>,
    /// The segments, in order.
    pub objects: Vec<SegmentObject>,
}

impl PartialEq for Segments {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.bucket, &other.bucket) && self.objects == other.objects
    }
}
impl Eq for Segments {}

/// Tells a bucket URL from a local folder. A value that starts with `<scheme>://` is a URL: an
/// unsupported scheme or a URL without a bucket is an error, never a folder of that name.
pub fn classify(arg: &Path) -> Result<DataDir<'_>, DatasetError> {
    let Some(text) = arg.to_str() else {
        return Ok(DataDir::Local(arg));
    };
    let Some((scheme, _)) = text.split_once("://") else {
        return Ok(DataDir::Local(arg));
    };
    let is_scheme = scheme
        .bytes()
        .enumerate()
        .all(|(i, c)| c.is_ascii_alphabetic() || (i > 0 && (c.is_ascii_digit() || c == b'+')));
    if scheme.is_empty() || !is_scheme {
        return Ok(DataDir::Local(arg));
    }
    BucketUrl::parse(text).map(DataDir::Bucket)
}

/// Whether `arg` names a bucket (a URL) rather than a local folder.
pub fn is_bucket(arg: &Path) -> bool {
    !matches!(classify(arg), Ok(DataDir::Local(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_folders() {
        assert_eq!(
            classify(Path::new("./data")).unwrap(),
            DataDir::Local(Path::new("./data"))
        );
        let DataDir::Bucket(url) = classify(Path::new("s3://bkt/some/prefix/")).unwrap() else {
            panic!("a bucket");
        };
        assert_eq!(url.bucket(), "bkt");
        assert_eq!(url.prefix(), "some/prefix");
        assert_eq!(url.to_string(), "s3://bkt/some/prefix");
        let DataDir::Bucket(bare) = classify(Path::new("s3://bkt")).unwrap() else {
            panic!("a bucket");
        };
        assert_eq!(bare.prefix(), "");
        let DataDir::Bucket(file) = classify(Path::new("file:///srv/records/")).unwrap() else {
            panic!("a file URL");
        };
        assert_eq!(file.to_string(), "file:///srv/records");
        for bad in [
            "s3://",
            "s3:///prefix",
            "ftp://host/x",
            "s3://user:secret@bkt/p",
        ] {
            let error = classify(Path::new(bad)).expect_err(bad).to_string();
            assert!(!error.contains("secret"), "{error}");
        }
    }
}
