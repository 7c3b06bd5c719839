//! The response body passed back to the client: upstream chunks forwarded as they arrive,
//! observed on the way for the record, with the idle timeout (`TIMEOUT_SECONDS` of silence
//! between two chunks).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::Stream;
use tokio::time::Sleep;
use tracing::{debug, warn};

use super::error::ProxyError;
use super::forward::upstream_error;
use super::state::Shared;
use crate::record::line::RecordContext;
use crate::record::parse_answer::parse_answer;
use crate::record::stream::StreamCapture;
use crate::recorder::RecordLine;
use crate::telemetry::{RECORDS_DROPPED, STREAMS_ACTIVE};

/// How the answer is captured for the record.
pub enum Capture {
    /// A non-streamed JSON body, kept whole until it ends.
    Json(Vec<u8>),
    /// An SSE stream, assembled incrementally.
    Stream(Box<StreamCapture>),
}

/// An answer being recorded: what was kept of the request plus the capture.
pub struct Recording {
    /// The request side of the record.
    pub ctx: RecordContext,
    /// The answer side, so far.
    pub capture: Capture,
    /// When the request arrived.
    pub started: Instant,
    /// The recorder (and the body size limit).
    pub shared: Arc<Shared>,
}

impl Recording {
    fn feed(&mut self, chunk: &[u8]) {
        match &mut self.capture {
            Capture::Json(buf) => {
                if buf.len() + chunk.len() <= self.shared.max_body_bytes {
                    buf.extend_from_slice(chunk);
                }
            }
            Capture::Stream(capture) => capture.feed(chunk),
        }
    }

    /// Whether the stream's end was seen (`data: [DONE]` or an error event).
    fn stream_done(&self) -> bool {
        matches!(&self.capture, Capture::Stream(capture) if capture.is_done())
    }

    /// The answer ended normally: turn it into lines and hand them to the recorder.
    fn complete(self) {
        let latency_ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let finished = chrono::Utc::now();
        let workflow = self.ctx.workflow_id.as_str();
        let answer = match self.capture {
            Capture::Json(buf) => match parse_answer(self.ctx.endpoint, &buf) {
                Ok(answer) => answer,
                Err(error) => {
                    metrics::counter!(RECORDS_DROPPED, "reason" => "unparsable").increment(1);
                    warn!(workflow, %error, "Upstream answer could not be parsed; not recorded.");
                    return;
                }
            },
            Capture::Stream(capture) => match capture.finish() {
                Ok(answer) => answer,
                Err(incomplete) => {
                    metrics::counter!(RECORDS_DROPPED, "reason" => "incomplete").increment(1);
                    warn!(
                        workflow,
                        upstream_id = incomplete.upstream_id().unwrap_or("-"),
                        %incomplete,
                        "Stream ended without a finish reason; not recorded."
                    );
                    return;
                }
            },
        };
        for json in self.ctx.lines(&answer, finished, latency_ms) {
            self.shared.recorder.submit(RecordLine {
                workflow_id: self.ctx.workflow_id.clone(),
                timestamp: finished,
                json,
            });
        }
    }

    /// The answer did not end normally: count and log, record nothing.
    fn abandon(self, why: &'static str) {
        metrics::counter!(RECORDS_DROPPED, "reason" => "incomplete").increment(1);
        let upstream_id = match &self.capture {
            Capture::Stream(capture) => capture.upstream_id().map(str::to_owned),
            Capture::Json(_) => None,
        };
        warn!(
            workflow = %self.ctx.workflow_id,
            upstream_id = upstream_id.as_deref().unwrap_or("-"),
            reason = why,
            "Answer did not complete; not recorded."
        );
    }
}

/// The body stream handed to hyper.
pub struct TeeBody {
    inner: BoxStream<'static, reqwest::Result<Bytes>>,
    idle: Duration,
    sleep: Pin<Box<Sleep>>,
    recording: Option<Recording>,
    /// The response is SSE: an idle timeout ends it with an error event instead of an abort.
    sse: bool,
    host: String,
    /// The upstream's `Content-Length`: hyper stops polling once it has sent that many
    /// bytes, so the answer is complete when they have all passed, not at end of stream.
    expected_len: Option<u64>,
    /// Bytes passed on so far.
    received: u64,
    /// The workflow of the listener (metrics labels).
    workflow: String,
    done: bool,
}

impl TeeBody {
    /// Wraps the upstream body.
    pub fn new(
        inner: BoxStream<'static, reqwest::Result<Bytes>>,
        idle: Duration,
        recording: Option<Recording>,
        sse: bool,
        host: String,
        expected_len: Option<u64>,
        workflow: &str,
    ) -> Self {
        if sse {
            metrics::gauge!(STREAMS_ACTIVE, "workflow" => workflow.to_owned()).increment(1.0);
        }
        TeeBody {
            inner,
            idle,
            sleep: Box::pin(tokio::time::sleep(idle)),
            recording,
            sse,
            host,
            expected_len,
            received: 0,
            workflow: workflow.to_owned(),
            done: false,
        }
    }

    fn timeout_error(&self) -> ProxyError {
        ProxyError::Timeout {
            host: self.host.clone(),
            seconds: self.idle.as_secs_f64(),
        }
    }
}

impl Stream for TeeBody {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        match this.inner.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                let deadline = tokio::time::Instant::now() + this.idle;
                this.sleep.as_mut().reset(deadline);
                if let Some(recording) = &mut this.recording {
                    recording.feed(&chunk);
                }
                this.received += chunk.len() as u64;
                // `[DONE]` (or an error event) ends the answer even if the upstream has not
                // closed its body yet: clients stop reading there and may leave at once.
                let ended = this.expected_len.is_some_and(|n| this.received >= n)
                    || this.recording.as_ref().is_some_and(Recording::stream_done);
                if ended {
                    if let Some(recording) = this.recording.take() {
                        recording.complete();
                    }
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(error))) => {
                this.done = true;
                if let Some(recording) = this.recording.take() {
                    recording.abandon("upstream body broke");
                }
                debug!(%error, "Upstream body broke.");
                upstream_error(&this.workflow, "invalid");
                Poll::Ready(Some(Err(std::io::Error::other(error.without_url()))))
            }
            Poll::Ready(None) => {
                this.done = true;
                if let Some(recording) = this.recording.take() {
                    recording.complete();
                }
                Poll::Ready(None)
            }
            Poll::Pending => {
                if this.sleep.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                this.done = true;
                if let Some(recording) = this.recording.take() {
                    recording.abandon("upstream idle timeout");
                }
                let error = this.timeout_error();
                upstream_error(&this.workflow, "timeout");
                warn!(host = %this.host, "Upstream went silent past the timeout; answer cut.");
                if this.sse {
                    let json = serde_json::to_string(&error.body()).expect("error body serialises");
                    Poll::Ready(Some(Ok(Bytes::from(format!("data: {json}\n\n")))))
                } else {
                    Poll::Ready(Some(Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        error.to_string(),
                    ))))
                }
            }
        }
    }
}

impl Drop for TeeBody {
    fn drop(&mut self) {
        if self.sse {
            metrics::gauge!(STREAMS_ACTIVE, "workflow" => self.workflow.clone()).decrement(1.0);
        }
        if let Some(recording) = self.recording.take() {
            recording.abandon("client disconnected");
        }
    }
}
