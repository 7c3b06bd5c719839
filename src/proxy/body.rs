//! The response body passed back to the client: upstream chunks forwarded as they arrive,
//! observed on the way for the record, with the idle timeout (`TIMEOUT_SECONDS` of silence
//! between two chunks).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use hyper::body::{Frame, Incoming};
use tokio::time::Sleep;
use tracing::warn;

use super::budget::Reservation;
use super::error::ProxyError;
use super::failure_log::{upstream_failed, FailureKind};
use super::forward::upstream_error;
use super::not_recorded;
use super::state::Shared;
use crate::config::Workflow;
use crate::record::line::RecordContext;
use crate::record::parse_answer::parse_answer_limited;
use crate::record::stream::{Incomplete, StreamCapture};
use crate::recorder::RecordLine;
use crate::telemetry::{RECORDS_DROPPED, STREAMS_ACTIVE};

/// How the answer is captured for the record.
pub enum Capture {
    /// A non-streamed JSON body, kept until it ends: its chunks (shared with what is passed
    /// on, not copied), up to `--max-record-bytes`.
    Json(JsonBody),
    /// An SSE stream, assembled incrementally.
    Stream(Box<StreamCapture>),
}

/// The chunks of a non-streamed answer.
#[derive(Default)]
pub struct JsonBody {
    chunks: Vec<Bytes>,
    /// Bytes seen, kept or not.
    len: usize,
}

impl JsonBody {
    /// The whole body: the one chunk as it is, or the chunks joined.
    fn whole(&self) -> Bytes {
        match self.chunks.as_slice() {
            [one] => one.clone(),
            chunks => Bytes::from(chunks.concat()),
        }
    }
}

/// An answer being recorded: what was kept of the request plus the capture.
pub struct Recording {
    /// The request side of the record.
    pub ctx: RecordContext,
    /// The answer side, so far.
    pub capture: Capture,
    /// When the request arrived.
    pub started: Instant,
    /// The recorder (and the record size limit).
    pub shared: Arc<Shared>,
    /// The request body's share of `--max-buffered-bytes`: the record keeps slices of the
    /// body until the answer ends.
    pub held: Reservation,
}

impl Recording {
    /// Feeds the next chunk; false when the capture went past `--max-record-bytes` (then it
    /// holds nothing and must be given up with [`too_large`](Self::too_large)).
    fn feed(&mut self, chunk: &Bytes) -> bool {
        match &mut self.capture {
            Capture::Json(body) => {
                body.len = body.len.saturating_add(chunk.len());
                if body.len > self.shared.max_record_bytes {
                    body.chunks = Vec::new();
                    return false;
                }
                body.chunks.push(chunk.clone());
                true
            }
            Capture::Stream(capture) => {
                capture.feed(chunk);
                !capture.too_large()
            }
        }
    }

    /// The capture went past `--max-record-bytes`: count and log; the rest of the answer
    /// passes through without being looked at.
    fn too_large(self) {
        let (upstream_id, what) = match &self.capture {
            Capture::Stream(capture) => (capture.upstream_id(), "stream line, event or answer"),
            Capture::Json(_) => (None, "answer body"),
        };
        not_recorded::too_large(
            &self.ctx.workflow_id,
            upstream_id,
            what,
            self.shared.max_record_bytes,
        );
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
        let max_choices = self.ctx.max_choices();
        let (answer, left_out) = match self.capture {
            Capture::Json(body) => {
                match parse_answer_limited(self.ctx.endpoint, &body.whole(), max_choices) {
                    Ok(parsed) => parsed,
                    Err(error) => {
                        metrics::counter!(RECORDS_DROPPED, "reason" => "unparsable").increment(1);
                        warn!(workflow, %error, "Upstream answer could not be parsed; not recorded.");
                        return;
                    }
                }
            }
            Capture::Stream(capture) => {
                let left_out = capture.unexpected_choices();
                match capture.finish() {
                    Ok(answer) => (answer, left_out),
                    Err(Incomplete::TooLarge { id, limit }) => {
                        let what = "stream answer";
                        return not_recorded::too_large(workflow, id.as_deref(), what, limit);
                    }
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
                }
            }
        };
        let upstream_id = answer.id.as_deref();
        if left_out > 0 {
            not_recorded::unexpected_choices(workflow, upstream_id, left_out, max_choices);
        }
        for line in self.ctx.record_lines(&answer, finished, latency_ms) {
            match line {
                Ok(json) => self.shared.recorder.submit(RecordLine {
                    workflow_id: self.ctx.workflow_id.clone(),
                    timestamp: finished,
                    json,
                }),
                Err(why) => not_recorded::unrecordable(workflow, upstream_id, &why),
            }
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

/// The response body handed to hyper: the upstream's frames, passed on as they come.
pub struct TeeBody {
    inner: Incoming,
    /// The listener's workflow settings (idle timeout, host for messages, metric labels).
    workflow: Arc<Workflow>,
    sleep: Pin<Box<Sleep>>,
    recording: Option<Recording>,
    /// The response is SSE: an idle timeout ends it with an error event instead of an abort.
    sse: bool,
    /// The upstream's `Content-Length`: hyper stops polling once it has sent that many
    /// bytes, so the answer is complete when they have all passed, not at end of stream.
    expected_len: Option<u64>,
    /// Bytes passed on so far.
    received: u64,
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

/// A body error and its causes.
fn describe_body_error(error: &hyper::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
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
                let cause = describe_body_error(&error);
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
            recording.abandon("client disconnected");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_body_is_its_chunk_or_the_chunks_joined() {
        let one = JsonBody {
            chunks: vec![Bytes::from_static(b"{\"a\":1}")],
            len: 7,
        };
        assert_eq!(one.whole(), Bytes::from_static(b"{\"a\":1}"));
        let split = JsonBody {
            chunks: vec![Bytes::from_static(b"{\"a\""), Bytes::from_static(b":1}")],
            len: 7,
        };
        assert_eq!(split.whole(), Bytes::from_static(b"{\"a\":1}"));
    }
}
