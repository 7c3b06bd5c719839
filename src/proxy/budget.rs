//! The process-wide budget for request bodies held in memory (`--max-buffered-bytes`).
//! Recorded endpoints read the whole body (to parse it and keep the messages for the record);
//! every byte they hold is reserved here first, and given back when the request is done with
//! it. A body that does not fit gets `503 server_overloaded` instead of growing the heap.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use tracing::warn;

use super::error::ProxyError;
use crate::server::RequestBodyError;
use crate::telemetry::{BUFFERED_BYTES, REQUESTS_REJECTED};

/// How often the "budget exhausted" warning may be logged.
const LOG_EVERY: Duration = Duration::from_secs(10);

/// Bytes of request bodies the process may hold at once.
#[derive(Debug)]
pub struct BufferBudget {
    /// The budget in bytes.
    limit: usize,
    /// Bytes reserved now.
    used: AtomicUsize,
    /// When the exhaustion warning was last logged (at most once per [`LOG_EVERY`]).
    last_logged: Mutex<Option<Instant>>,
}

impl BufferBudget {
    /// A budget of `limit` bytes.
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(BufferBudget {
            limit,
            used: AtomicUsize::new(0),
            last_logged: Mutex::new(None),
        })
    }

    /// Bytes reserved now.
    #[cfg(test)]
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// Reserves `n` more bytes for `held`, or says the budget is exhausted.
    fn reserve(self: &Arc<Self>, held: &mut Reservation, n: usize) -> Result<(), ProxyError> {
        let reserved = self
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(n).filter(|total| *total <= self.limit)
            });
        match reserved {
            Ok(before) => {
                held.bytes += n;
                metrics::gauge!(BUFFERED_BYTES).set((before + n) as f64);
                Ok(())
            }
            Err(used) => {
                metrics::counter!(REQUESTS_REJECTED, "reason" => "buffered_bytes").increment(1);
                self.log_exhausted(used, n);
                Err(ProxyError::Overloaded { limit: self.limit })
            }
        }
    }

    fn log_exhausted(&self, used: usize, wanted: usize) {
        let mut last = self.last_logged.lock().unwrap_or_else(|e| e.into_inner());
        if last.map_or(true, |at| at.elapsed() >= LOG_EVERY) {
            *last = Some(Instant::now());
            warn!(
                limit = self.limit,
                used,
                wanted,
                "Request bodies in memory reached --max-buffered-bytes; answering 503."
            );
        }
    }
}

/// Bytes reserved for one request's body; given back when dropped.
#[derive(Debug)]
pub struct Reservation {
    /// The budget they were taken from.
    budget: Arc<BufferBudget>,
    /// How many.
    bytes: usize,
}

impl Reservation {
    /// Nothing reserved yet.
    pub fn empty(budget: &Arc<BufferBudget>) -> Self {
        Reservation {
            budget: Arc::clone(budget),
            bytes: 0,
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.bytes > 0 {
            let before = self.budget.used.fetch_sub(self.bytes, Ordering::AcqRel);
            metrics::gauge!(BUFFERED_BYTES).set(before.saturating_sub(self.bytes) as f64);
        }
    }
}

/// Reads a whole request body of at most `limit` bytes into memory, reserving it in `budget`
/// as it arrives (all of a declared `Content-Length` up front).
pub async fn read_body(
    body: Body,
    limit: usize,
    declared: Option<u64>,
    budget: &Arc<BufferBudget>,
) -> Result<(Bytes, Reservation), ProxyError> {
    let mut held = Reservation::empty(budget);
    let declared = declared.and_then(|n| usize::try_from(n).ok());
    if let Some(n) = declared {
        budget.reserve(&mut held, n)?;
    }
    let mut buffer = BytesMut::with_capacity(declared.unwrap_or(0));
    let mut body = body;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(client_body_error)?;
        let Ok(chunk) = frame.into_data() else {
            continue;
        };
        if buffer.len() + chunk.len() > limit {
            return Err(ProxyError::BodyTooLarge { limit });
        }
        let beyond = (buffer.len() + chunk.len()).saturating_sub(held.bytes);
        if beyond > 0 {
            budget.reserve(&mut held, beyond)?;
        }
        buffer.extend_from_slice(&chunk);
    }
    Ok((buffer.freeze(), held))
}

/// What a body read error means for the client: its body stalled (408) or broke (400).
pub fn client_body_error(error: axum::Error) -> ProxyError {
    match RequestBodyError::find(&error) {
        Some(RequestBodyError::TimedOut(after)) => {
            metrics::counter!(REQUESTS_REJECTED, "reason" => "body_read_timeout").increment(1);
            ProxyError::BodyReadTimeout {
                seconds: after.as_secs_f64(),
            }
        }
        _ => {
            metrics::counter!(REQUESTS_REJECTED, "reason" => "body_read_failed").increment(1);
            ProxyError::ClientBody(error.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bodies_share_the_budget_and_give_it_back() {
        let budget = BufferBudget::new(10);
        let (bytes, first) = read_body(Body::from("123456"), 100, None, &budget)
            .await
            .expect("fits");
        assert_eq!(&bytes[..], b"123456");
        assert_eq!(budget.used(), 6);
        let over = read_body(Body::from("123456"), 100, Some(6), &budget).await;
        assert!(matches!(over, Err(ProxyError::Overloaded { limit: 10 })));
        assert_eq!(budget.used(), 6);
        drop(first);
        assert_eq!(budget.used(), 0);
        let too_large = read_body(Body::from("123456"), 5, None, &budget).await;
        assert!(matches!(
            too_large,
            Err(ProxyError::BodyTooLarge { limit: 5 })
        ));
        assert_eq!(budget.used(), 0);
    }
}
