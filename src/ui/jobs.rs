//! Reads of the bucket as background jobs, so that a slow listing or a cold cache never holds
//! a request (or a runtime worker of the proxy): a page's read runs on a blocking thread and
//! the request waits at most [`ANSWER_WITHIN`] for it. When it is not done by then, the page
//! answers with its [`Progress`] (objects and bytes read, refreshing itself every two
//! seconds) and the job goes on; the next request for the same page picks up the same job
//! (its result once done). A job that has heard nothing from the store for [`STALLED`] is
//! shown as an error (504), while it keeps trying within the store client's own timeouts.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{watch, Semaphore};

/// How long a request waits for its read before it answers with the progress.
pub const ANSWER_WITHIN: Duration = Duration::from_secs(2);
/// No progress for this long: the page shows an error instead of the progress.
pub const STALLED: Duration = Duration::from_secs(20);
/// Jobs kept (running or finished and not yet picked up); older finished ones are dropped.
const MAX_JOBS: usize = 16;

/// What a running read has done so far (updated by the read, shown by the page).
#[derive(Debug)]
pub struct Progress {
    started: Instant,
    /// Milliseconds after `started` of the last sign of life from the store.
    last: AtomicU64,
    /// Listing requests done.
    pub listings: AtomicU64,
    /// Objects to read (known once listed).
    pub objects_total: AtomicU64,
    /// Objects read.
    pub objects_done: AtomicU64,
    /// Compressed bytes of the objects to read.
    pub bytes_total: AtomicU64,
    /// Compressed bytes of the objects read.
    pub bytes_done: AtomicU64,
}

impl Default for Progress {
    fn default() -> Self {
        Progress {
            started: Instant::now(),
            last: AtomicU64::new(0),
            listings: AtomicU64::new(0),
            objects_total: AtomicU64::new(0),
            objects_done: AtomicU64::new(0),
            bytes_total: AtomicU64::new(0),
            bytes_done: AtomicU64::new(0),
        }
    }
}

impl Progress {
    /// Notes a sign of life (a listing or an object read).
    pub fn alive(&self) {
        let ms = self.started.elapsed().as_millis() as u64;
        self.last.store(ms, Ordering::Relaxed);
    }

    /// Adds one to `counter` and notes a sign of life.
    pub fn bump(&self, counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
        self.alive();
    }

    /// Time since the job started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Time since the last sign of life.
    pub fn idle(&self) -> Duration {
        let last = Duration::from_millis(self.last.load(Ordering::Relaxed));
        self.started.elapsed().saturating_sub(last)
    }

    /// A counter's value.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// A job's result: the value, or the error's message.
pub type Outcome<T> = Arc<Result<T, String>>;

struct Job<T> {
    progress: Arc<Progress>,
    done: watch::Receiver<Option<Outcome<T>>>,
    started: Instant,
}

/// What a request gets.
pub enum Answer<T> {
    /// The read finished.
    Done(Outcome<T>),
    /// Still running: its progress so far.
    Running(Arc<Progress>),
    /// Running, but the store has said nothing for [`STALLED`].
    Stalled(Arc<Progress>),
}

/// The jobs of one kind of page, by the page's query.
pub struct Jobs<T> {
    jobs: Mutex<HashMap<String, Job<T>>>,
}

impl<T> Default for Jobs<T> {
    fn default() -> Self {
        Jobs {
            jobs: Mutex::new(HashMap::new()),
        }
    }
}

impl<T: Send + Sync + 'static> Jobs<T> {
    /// The answer for `key`: the running job's, or a new job running `read` (after the reads
    /// before it, one at a time by `reads`), waited for at most `wait`.
    pub async fn answer<F>(
        &self,
        key: String,
        reads: &Arc<Semaphore>,
        wait: Duration,
        read: F,
    ) -> Answer<T>
    where
        F: FnOnce(&Progress) -> Result<T, String> + Send + 'static,
    {
        let (progress, mut done) = {
            let mut jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
            let job = jobs
                .entry(key.clone())
                .or_insert_with(|| spawn(Arc::clone(reads), read));
            let found = (Arc::clone(&job.progress), job.done.clone());
            if jobs.len() > MAX_JOBS {
                let finished: Vec<(String, Instant)> = jobs
                    .iter()
                    .filter(|(k, j)| **k != key && j.done.borrow().is_some())
                    .map(|(k, j)| (k.clone(), j.started))
                    .collect();
                if let Some((oldest, _)) = finished.into_iter().min_by_key(|(_, t)| *t) {
                    jobs.remove(&oldest);
                }
            }
            found
        };
        let finished = tokio::time::timeout(wait, done.wait_for(Option::is_some)).await;
        let outcome = match finished {
            Ok(Ok(outcome)) => outcome.clone(),
            Ok(Err(_)) => Some(Arc::new(Err("the read stopped".to_owned()))),
            Err(_) => None,
        };
        match outcome {
            Some(outcome) => {
                // Picked up: the next request reads afresh (through the caches).
                let mut jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
                if jobs.get(&key).is_some_and(|j| j.done.borrow().is_some()) {
                    jobs.remove(&key);
                }
                Answer::Done(outcome)
            }
            None if progress.idle() >= STALLED => Answer::Stalled(progress),
            None => Answer::Running(progress),
        }
    }
}

fn spawn<T, F>(reads: Arc<Semaphore>, read: F) -> Job<T>
where
    T: Send + Sync + 'static,
    F: FnOnce(&Progress) -> Result<T, String> + Send + 'static,
{
    let progress = Arc::new(Progress::default());
    let (tx, rx) = watch::channel(None);
    let shared = Arc::clone(&progress);
    tokio::spawn(async move {
        let Ok(permit) = reads.acquire_owned().await else {
            let _ = tx.send(Some(Arc::new(Err("shutting down".to_owned()))));
            return;
        };
        shared.alive();
        let joined = super::background::run(move || {
            let _permit = permit;
            read(&shared)
        })
        .await;
        let outcome = joined.unwrap_or_else(|_| Err("the read failed".to_owned()));
        let _ = tx.send(Some(Arc::new(outcome)));
    });
    Job {
        progress,
        done: rx,
        started: Instant::now(),
    }
}
