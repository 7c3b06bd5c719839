//! What the pages read ([`UiState`]): its own file so that [`crate::admin::state`] can hold it
//! without depending on the page handlers.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::{watch, Semaphore};

use super::bucket::BucketView;
use super::summary::SummaryCache;
use crate::config::Config;

/// What the pages read.
pub struct UiState {
    /// The data folders shown (`--data-dir`).
    pub data_dirs: Vec<PathBuf>,
    /// The config in force, when known.
    pub config: Option<watch::Receiver<Arc<Config>>>,
    /// File summaries and day labels.
    pub cache: Arc<SummaryCache>,
    /// One data read at a time.
    pub reads: Arc<Semaphore>,
    /// The sink's bucket (`serve --sink`), readable with `?source=bucket`.
    pub bucket: Option<Arc<BucketView>>,
}

impl UiState {
    /// The pages over `data_dirs`, showing `config`.
    pub fn new(data_dirs: Vec<PathBuf>, config: Option<watch::Receiver<Arc<Config>>>) -> UiState {
        UiState {
            data_dirs,
            config,
            cache: Arc::new(SummaryCache::default()),
            reads: Arc::new(Semaphore::new(1)),
            bucket: None,
        }
    }

    /// Also shows the sink's bucket `sink` (a `--sink` URL), when given.
    pub fn with_bucket(mut self, sink: Option<String>) -> UiState {
        self.bucket = sink.map(|url| Arc::new(BucketView::new(url)));
        self
    }
}
