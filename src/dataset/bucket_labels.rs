//! The labels a bucket `--data-dir` holds for one day: the label segments the sink uploaded
//! below `<prefix>/_labels/workflow=<id>/date=<YYYY-MM-DD>/` (by every instance), streamed and
//! decompressed like record segments. `labels` feeds their lines into the same "last label
//! wins" as the local `labels.jsonl` files, so a label written by one replica is found for a
//! record that another replica shipped (or that lies in a local folder).

use std::collections::BTreeSet;
use std::io::{self, BufRead};
use std::path::Path;
use std::sync::Arc;

use chrono::NaiveDate;

use super::error::DatasetError;
use super::scan::DataFile;
use super::source::{self, Bucket, DataDir};

/// When `dir` (the `index`-th `--data-dir`) is a bucket: hands every label segment of
/// `workflows` on `date` to `add`, one at a time, and answers true. A local folder: false
/// (nothing read). The bucket is the one the scan opened for `day`'s files when there is one.
pub(super) fn read_day(
    index: usize,
    dir: &Path,
    day: &[DataFile],
    workflows: &BTreeSet<&str>,
    date: NaiveDate,
    mut add: impl FnMut(Box<dyn BufRead + Send>) -> io::Result<()>,
) -> Result<bool, DatasetError> {
    let url = match source::classify(dir)? {
        DataDir::Local(_) => return Ok(false),
        DataDir::Bucket(url) => url,
    };
    let opened = day
        .iter()
        .filter(|f| f.source == index)
        .find_map(|f| f.segments.as_ref())
        .map(|s| Arc::clone(&s.bucket));
    let bucket = match opened {
        Some(bucket) => bucket,
        None => Bucket::open(url)?,
    };
    for workflow in workflows {
        for object in bucket.list_labels(workflow, date)? {
            let name = bucket.object_url(&object.key);
            let read = bucket.open_object(&object).and_then(|reader| {
                add(reader).map_err(|source| DatasetError::Read {
                    path: name.clone().into(),
                    source,
                })
            });
            read?;
        }
    }
    Ok(true)
}
