//! The response body passed back to the client: upstream chunks forwarded as they arrive,
//! teed on the way to the [`Recording`] (which owns what becomes of them), with the idle
//! timeout (`TIMEOUT_SECONDS` of silence between two chunks).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Frame, Incoming};
use tokio::time::Sleep;

use super::error::{with_causes, ProxyError};
use super::failure_log::{upstream_failed, FailureKind};
use super::recording::{Recording, CLIENT_DISCONNECTED};
use crate::config::Workflow;
use crate::telemetry::{upstream_error, STREAMS_ACTIVE};

/// The response body handed to hyper: the upstream's frames, passed on as they come.
pub struct TeeBody {
    /// The upstream's response body, whose frames are passed on.
    inner: Incoming,
    /// The listener's workflow settings (idle timeout, host for messages, metric labels).
    workflow: Arc<Workflow>,
    /// The idle clock: reset by every data chunk, fires after `TIMEOUT_SECONDS` of silence.
    sleep: Pin<Box<Sleep>>,
    /// Where the chunks are teed for the record; `None` when the answer is not recorded or
    /// its recording has ended (completed, too large or abandoned).
    recording: Option<Recording>,
    /// The response is SSE: an idle timeout ends it with an error event instead of an abort.
    sse: bool,
    /// The upstream's `Content-Length`: hyper stops polling once it has sent that many
    /// bytes, so the answer is complete when they have all passed, not at end of stream.
    expected_len: Option<u64>,
    /// Bytes passed on so far.
    received: u64,
    /// The body has ended (normally, by an error or by the idle timeout): no more frames.
    done: bool,
    /// The status passed on to the client, for the failure log.
    status: hyper::StatusCode,
}

impl TeeBody {
    /// Wraps the upstream body.
    pub fn new(
        inner: Incoming,
        workflow: Arc<Workflow>,
        recording: Option<Recording>,
        sse: bool,
        expected_len: Option<u64>,
    ) -> Self {
        if sse {
            metrics::gauge!(STREAMS_ACTIVE, "workflow" => workflow.id.clone()).increment(1.0);
        }
        TeeBody {
            inner,
            sleep: Box::pin(tokio::time::sleep(workflow.timeout)),
            workflow,
            recording,
            sse,
            expected_len,
            received: 0,
            done: false,
            status: hyper::StatusCode::OK,
        }
    }

    /// Sets the status passed on to the client (named by the failure log; default 200).
    pub fn with_status(mut self, status: hyper::StatusCode) -> Self {
        self.status = status;
        self
    }

    fn timeout_error(&self) -> ProxyError {
        ProxyError::Timeout {
            host: crate::config::redact_userinfo(&self.workflow.api_host).into_owned(),
            seconds: self.workflow.timeout.as_secs_f64(),
        }
    }

    /// A data chunk passed on: restart the idle clock, feed the record, and complete it
    /// when the answer is known to be whole.
    fn on_data(&mut self, chunk: &Bytes) {
        let deadline = tokio::time::Instant::now() + self.workflow.timeout;
        self.sleep.as_mut().reset(deadline);
        let over_limit = self.recording.as_mut().is_some_and(|r| !r.feed(chunk));
        if over_limit {
            if let Some(recording) = self.recording.take() {
                recording.too_large();
            }
        }
        self.received += chunk.len() as u64;
        // `[DONE]` (or an error event) ends the answer even if the upstream has not closed
        // its body yet: clients stop reading there and may leave at once.
        let ended = self.expected_len.is_some_and(|n| self.received >= n)
            || self.recording.as_ref().is_some_and(Recording::stream_done);
        if ended {
            if let Some(recording) = self.recording.take() {
                recording.complete();
            }
        }
    }

    /// The upstream went silent for longer than the timeout: the answer ends here.
    fn idle_timeout(&mut self) {
        self.done = true;
        if let Some(recording) = self.recording.take() {
            recording.abandon("upstream idle timeout");
        }
        upstream_error(&self.workflow.id, "timeout");
        let cause = format!(
            "no data for {} seconds",
            self.workflow.timeout.as_secs_f64()
        );
        upstream_failed(
            &self.workflow,
            FailureKind::IdleTimeout,
            self.status,
            &cause,
        );
    }
}

impl http_body::Body for TeeBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(chunk) = frame.data_ref() {
                    this.on_data(chunk);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(error))) => {
                this.done = true;
                if let Some(recording) = this.recording.take() {
                    recording.abandon("upstream body broke");
                }
                upstream_error(&this.workflow.id, "invalid");
                let cause = with_causes(error.to_string(), &error);
                upstream_failed(&this.workflow, FailureKind::BrokenBody, this.status, &cause);
                Poll::Ready(Some(Err(std::io::Error::other(error))))
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
                this.idle_timeout();
                let error = this.timeout_error();
                if this.sse {
                    let json = serde_json::to_string(&error.body()).expect("error body serialises");
                    Poll::Ready(Some(Ok(Frame::data(Bytes::from(format!(
                        "data: {json}\n\n"
                    ))))))
                } else {
                    Poll::Ready(Some(Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        error.to_string(),
                    ))))
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }
}

impl Drop for TeeBody {
    fn drop(&mut self) {
        if self.sse {
            metrics::gauge!(STREAMS_ACTIVE, "workflow" => self.workflow.id.clone()).decrement(1.0);
        }
        if let Some(recording) = self.recording.take() {
            recording.abandon(CLIENT_DISCONNECTED);
        }
    }
}
