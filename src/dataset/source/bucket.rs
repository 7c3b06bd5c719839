//! A bucket as a data source: its URL, the store opened from it (credentials and endpoint from
//! the standard environment: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`,
//! `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`, web identity...), and the listing of its segments.
//!
//! Listing is pruned by the partition names before anything below them is listed: with
//! `--workflow` only `<prefix>/workflow=<id>/` is listed (never the other workflows), and only
//! the `date=` folders within `--since`/`--until` are listed for their objects. Every listing is
//! delimiter-based (one folder level at a time); [`ListStats`] counts them.
//!
//! Label segments (`<prefix>/_labels/workflow=<id>/date=<day>/...`, [`layout::LABELS_DIR`])
//! are never listed as records: [`Bucket::list_labels`] lists one workflow day of them.

use std::collections::BTreeMap;
use std::fmt;
use std::io::BufRead;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ClientConfigKey, ObjectStore, RetryConfig};

use super::super::error::DatasetError;
use super::stream;
use super::url::BucketUrl;
use crate::layout::{self, Compression};

/// How long to wait for a connection to the store.
const CONNECT_TIMEOUT: &str = "5 seconds";
/// The longest one request may take, body included (a segment is streamed while the merge reads
/// it, so this bounds a stalled store, not a slow export of one segment).
const REQUEST_TIMEOUT: &str = "10 minutes";
/// Retries of a failed request (with backoff) before the tool gives up.
const MAX_RETRIES: usize = 3;

/// Which partitions to list (from `--workflow`, `--since`, `--until`).
#[derive(Debug, Clone, Default)]
pub struct Prune<'a> {
    /// Only these workflows (empty: all).
    pub workflows: &'a [String],
    /// First day, inclusive.
    pub since: Option<NaiveDate>,
    /// Last day, inclusive.
    pub until: Option<NaiveDate>,
}

/// One uploaded segment object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentObject {
    /// Its key in the bucket.
    pub key: ObjectPath,
    /// Its size in bytes (compressed).
    pub size: u64,
    /// How it is compressed (by its name's ending).
    pub compression: Compression,
    /// Its first record's time and sequence number: the order of an instance's segments.
    pub order: (DateTime<Utc>, u64),
}

/// The segments of one workflow, day and instance, in order: together, that instance's day file.
#[derive(Debug, Clone)]
pub struct BucketDay {
    /// The workflow (`workflow=` partition).
    pub workflow: String,
    /// The day (`date=` partition).
    pub date: NaiveDate,
    /// The instance that uploaded them.
    pub instance: String,
    /// Its segments, by first-record time then sequence number.
    pub objects: Vec<SegmentObject>,
}

/// What listing a bucket did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListStats {
    /// The bucket URL.
    pub url: String,
    /// Listing requests (one per folder level listed).
    pub listings: u64,
    /// Segment objects selected.
    pub objects: u64,
    /// Keys that are not `workflow=<id>/date=<YYYY-MM-DD>/<segment>` (ignored).
    pub ignored: Vec<String>,
}

/// An opened bucket: the store client and the runtime its requests run on.
pub struct Bucket {
    url: BucketUrl,
    store: Arc<dyn ObjectStore>,
    runtime: tokio::runtime::Runtime,
    opened: AtomicU64,
}

impl fmt::Debug for Bucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bucket").field("url", &self.url).finish()
    }
}

impl Bucket {
    /// Opens the store `url` names, with credentials and endpoint from the environment. Nothing
    /// is requested yet: an unreachable store or a missing bucket shows at the first listing.
    pub fn open(url: BucketUrl) -> Result<Arc<Bucket>, DatasetError> {
        let error = |source| bucket_error(&url, source);
        if url.scheme == "file" {
            let folder = format!("/{}", url.prefix);
            let store = LocalFileSystem::new_with_prefix(&folder).map_err(error)?;
            return Self::with_store(url, Arc::new(store));
        }
        let retry = RetryConfig {
            max_retries: MAX_RETRIES,
            ..RetryConfig::default()
        };
        let store = AmazonS3Builder::from_env()
            .with_bucket_name(&url.bucket)
            .with_retry(retry)
            .with_config(
                AmazonS3ConfigKey::Client(ClientConfigKey::ConnectTimeout),
                CONNECT_TIMEOUT,
            )
            .with_config(
                AmazonS3ConfigKey::Client(ClientConfigKey::Timeout),
                REQUEST_TIMEOUT,
            )
            .build()
            .map_err(error)?;
        Self::with_store(url, Arc::new(store))
    }

    fn with_store(
        url: BucketUrl,
        store: Arc<dyn ObjectStore>,
    ) -> Result<Arc<Bucket>, DatasetError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("micromodel-bucket")
            .enable_all()
            .build()
            .map_err(DatasetError::Runtime)?;
        Ok(Arc::new(Bucket {
            url,
            store,
            runtime,
            opened: AtomicU64::new(0),
        }))
    }

    /// The bucket URL (printable: it never holds credentials).
    pub fn url(&self) -> &BucketUrl {
        &self.url
    }

    /// `s3://<bucket>/<key>`: how an object is named in messages.
    pub fn object_url(&self, key: &ObjectPath) -> String {
        match self.url.scheme.as_str() {
            "file" => format!("{}/{key}", self.url),
            _ => format!("{}://{}/{key}", self.url.scheme, self.url.bucket),
        }
    }

    /// Objects opened for reading so far (an object read twice counts twice).
    pub fn objects_opened(&self) -> u64 {
        self.opened.load(Ordering::Relaxed)
    }

    /// Lists the segments `prune` selects, grouped by workflow, day and instance, in
    /// (date, workflow, instance) order.
    pub fn list(&self, prune: &Prune<'_>) -> Result<(Vec<BucketDay>, ListStats), DatasetError> {
        let mut stats = ListStats {
            url: self.url.to_string(),
            ..ListStats::default()
        };
        // A file:// store is rooted at its folder already.
        let root = (!self.url.prefix.is_empty() && self.url.scheme != "file")
            .then(|| ObjectPath::from(self.url.prefix.as_str()));
        let child = |name: &str| match &root {
            Some(root) => root.child(name),
            None => ObjectPath::from(name),
        };
        let mut workflows: Vec<(String, ObjectPath)> = Vec::new();
        if prune.workflows.is_empty() {
            let (folders, objects) = self.list_level(root.as_ref(), &mut stats)?;
            stats
                .ignored
                .extend(objects.into_iter().map(|o| o.location.to_string()));
            for folder in folders {
                match folder.filename().and_then(layout::parse_workflow_partition) {
                    Some(id) => workflows.push((id.to_owned(), folder.clone())),
                    // The labels (read by `list_labels`), not records.
                    None if folder.filename() == Some(layout::LABELS_DIR) => {}
                    None => stats.ignored.push(format!("{folder}/")),
                }
            }
        } else {
            let mut wanted = prune.workflows.to_vec();
            wanted.sort();
            wanted.dedup();
            for id in wanted {
                let folder = child(&layout::workflow_partition(&id));
                workflows.push((id, folder));
            }
        }
        let mut days: BTreeMap<(NaiveDate, String, String), Vec<SegmentObject>> = BTreeMap::new();
        for (workflow, folder) in workflows {
            let (dates, objects) = self.list_level(Some(&folder), &mut stats)?;
            stats
                .ignored
                .extend(objects.into_iter().map(|o| o.location.to_string()));
            for date_folder in dates {
                let Some(date) = date_folder
                    .filename()
                    .and_then(layout::parse_date_partition)
                else {
                    stats.ignored.push(format!("{date_folder}/"));
                    continue;
                };
                let wanted = prune.since.map_or(true, |s| date >= s)
                    && prune.until.map_or(true, |u| date <= u);
                if !wanted {
                    continue;
                }
                let (folders, objects) = self.list_level(Some(&date_folder), &mut stats)?;
                stats
                    .ignored
                    .extend(folders.into_iter().map(|f| format!("{f}/")));
                for object in objects {
                    let Some((instance, compression, order)) = segment_name(&object.location)
                    else {
                        stats.ignored.push(object.location.to_string());
                        continue;
                    };
                    stats.objects += 1;
                    days.entry((date, workflow.clone(), instance))
                        .or_default()
                        .push(SegmentObject {
                            key: object.location,
                            size: object.size,
                            compression,
                            order,
                        });
                }
            }
        }
        let days = days
            .into_iter()
            .map(|((date, workflow, instance), mut objects)| {
                objects.sort_by_key(|o| o.order);
                BucketDay {
                    workflow,
                    date,
                    instance,
                    objects,
                }
            })
            .collect();
        Ok((days, stats))
    }

    /// The label segments of `workflow`'s `date` (`<prefix>/_labels/workflow=<id>/date=<day>/`),
    /// every instance's, by first-line time then sequence number. None there: an empty list.
    pub fn list_labels(
        &self,
        workflow: &str,
        date: NaiveDate,
    ) -> Result<Vec<SegmentObject>, DatasetError> {
        // A file:// store is rooted at its folder already.
        let root = if !self.url.prefix.is_empty() && self.url.scheme != "file" {
            ObjectPath::from(self.url.prefix.as_str()).child(layout::LABELS_DIR)
        } else {
            ObjectPath::from(layout::LABELS_DIR)
        };
        let folder = root
            .child(layout::workflow_partition(workflow))
            .child(layout::date_partition(date));
        let mut stats = ListStats::default();
        let objects = match self.list_level(Some(&folder), &mut stats) {
            Ok((_, objects)) => objects,
            Err(DatasetError::Bucket {
                source: object_store::Error::NotFound { .. },
                ..
            }) => Vec::new(),
            Err(error) => return Err(error),
        };
        let mut out: Vec<SegmentObject> = objects
            .into_iter()
            .filter_map(|object| {
                let (_, compression, order) = segment_name(&object.location)?;
                Some(SegmentObject {
                    key: object.location,
                    size: object.size,
                    compression,
                    order,
                })
            })
            .collect();
        out.sort_by(|a, b| (a.order, &a.key).cmp(&(b.order, &b.key)));
        Ok(out)
    }

    /// One delimiter-based listing: the folders and the objects directly under `prefix`.
    fn list_level(
        &self,
        prefix: Option<&ObjectPath>,
        stats: &mut ListStats,
    ) -> Result<(Vec<ObjectPath>, Vec<object_store::ObjectMeta>), DatasetError> {
        stats.listings += 1;
        tracing::debug!(url = %self.url, prefix = ?prefix.map(ToString::to_string), "listing");
        let listed = self
            .runtime
            .block_on(self.store.list_with_delimiter(prefix))
            .map_err(|source| bucket_error(&self.url, source))?;
        let mut folders = listed.common_prefixes;
        folders.sort();
        let mut objects = listed.objects;
        objects.sort_by(|a, b| a.location.cmp(&b.location));
        Ok((folders, objects))
    }

    /// Opens `object` for reading, streamed and decompressed as it is read.
    pub fn open_object(
        &self,
        object: &SegmentObject,
    ) -> Result<Box<dyn BufRead + Send>, DatasetError> {
        self.opened.fetch_add(1, Ordering::Relaxed);
        let url = self.object_url(&object.key);
        stream::open(
            self.runtime.handle(),
            Arc::clone(&self.store),
            object.key.clone(),
            object.compression,
        )
        .map_err(|source| DatasetError::Read {
            path: url.into(),
            source,
        })
    }
}

/// A segment's instance, compression and order, from its object name (`None`: not a segment).
fn segment_name(key: &ObjectPath) -> Option<(String, Compression, (DateTime<Utc>, u64))> {
    let name = key.filename()?;
    let (stem, compression) = Compression::ALL
        .iter()
        .find_map(|c| name.strip_suffix(c.extension()).map(|stem| (stem, *c)))?;
    let (instance, first_record, seq) = layout::parse_segment_stem(stem)?;
    Some((instance.to_owned(), compression, (first_record, seq)))
}

/// A store error as [`DatasetError::Bucket`], with a short reason: the S3 error code and
/// message when the store answered one, else what the client says (its first line).
fn bucket_error(url: &BucketUrl, source: object_store::Error) -> DatasetError {
    let text = source.to_string();
    let tag = |name: &str| {
        let open = format!("<{name}>");
        let start = text.find(&open)? + open.len();
        let end = start + text[start..].find(&format!("</{name}>"))?;
        Some(text[start..end].to_owned())
    };
    let reason = match (tag("Code"), tag("Message")) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code,
        _ if text.contains("error sending request") => format!(
            "the store does not answer ({})",
            text.lines().next().unwrap_or_default()
        ),
        _ => text.lines().next().unwrap_or_default().to_owned(),
    };
    DatasetError::Bucket {
        url: url.to_string(),
        reason,
        source,
    }
}
