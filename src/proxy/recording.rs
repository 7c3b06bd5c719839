//! An answer being recorded: what was kept of the request plus the capture of the answer
//! as it passes, turned into record lines (or counted and logged as not recorded) when it
//! ends.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use tracing::warn;

use super::budget::Reservation;
use super::not_recorded;
use super::state::Shared;
use crate::record::capture::{parse_for, AnswerStream, Parsed};
use crate::record::line::RecordContext;
use crate::record::stream::Incomplete;
use crate::recorder::RecordLine;
use crate::telemetry::RECORDS_DROPPED;

/// How the answer is captured for the record.
pub enum Capture {
    /// A non-streamed JSON body, kept until it ends: its chunks (shared with what is passed
    /// on, not copied), up to `--max-record-bytes`.
    Json(JsonBody),
    /// An SSE stream, assembled incrementally.
    Stream(Box<AnswerStream>),
}

/// The chunks of a non-streamed answer.
#[derive(Default)]
pub struct JsonBody {
    /// The chunks kept so far (emptied once past `--max-record-bytes`).
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
    /// body until the answer ends. Never read: it is held for its `Drop`, which gives the
    /// bytes back.
    #[allow(dead_code)]
    pub held: Reservation,
}

impl Recording {
    /// Feeds the next chunk; false when the capture went past `--max-record-bytes` (then it
    /// holds nothing and must be given up with [`too_large`](Self::too_large)).
    pub(super) fn feed(&mut self, chunk: &Bytes) -> bool {
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
    pub(super) fn too_large(self) {
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

    /// Whether the stream's end was seen (`data: [DONE]`, a terminal event or an error).
    pub(super) fn stream_done(&self) -> bool {
        matches!(&self.capture, Capture::Stream(capture) if capture.is_done())
    }

    /// The answer ended normally: turn it into lines and hand them to the recorder.
    pub(super) fn complete(mut self) {
        let latency_ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let finished = chrono::Utc::now();
        let workflow = self.ctx.workflow_id.as_str();
        let max_choices = self.ctx.max_choices();
        let parsed = match self.capture {
            Capture::Json(body) => match parse_for(self.ctx.endpoint, &body.whole(), max_choices) {
                Ok(parsed) => parsed,
                Err(error) => {
                    metrics::counter!(RECORDS_DROPPED, "reason" => "unparsable").increment(1);
                    warn!(workflow, %error, "Upstream answer could not be parsed; not recorded.");
                    return;
                }
            },
            Capture::Stream(capture) => match capture.finish() {
                Ok(parsed) => parsed,
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
            },
        };
        let Parsed {
            answer,
            left_out,
            partial,
        } = parsed;
        if partial {
            self.ctx.mark_partial();
        }
        let workflow = self.ctx.workflow_id.as_str();
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
    pub(super) fn abandon(self, why: &'static str) {
        let upstream_id = match &self.capture {
            Capture::Stream(capture) => capture.upstream_id(),
            Capture::Json(_) => None,
        };
        not_recorded::incomplete(&self.ctx.workflow_id, upstream_id, why);
    }
}

/// Why an answer is abandoned when its client leaves before it ended.
pub(super) const CLIENT_DISCONNECTED: &str = "client disconnected";

/// Armed while a recorded request waits for the upstream's headers: dropped armed (the
/// client left, so the request future was dropped), it counts and logs the answer as not
/// recorded, as dropping a [`TeeBody`](super::body::TeeBody) does once the answer has
/// started. [`disarm`](Self::disarm)ed once the upstream answered or failed.
pub(super) struct ClientGone<'a> {
    /// The workflow the record was for; `None` once disarmed.
    workflow_id: Option<&'a str>,
}

impl<'a> ClientGone<'a> {
    /// Armed for a record of `workflow_id` (`None`: no record is made, nothing to count).
    pub(super) fn arm(workflow_id: Option<&'a str>) -> Self {
        ClientGone { workflow_id }
    }

    /// The wait is over: dropping the guard now counts nothing.
    pub(super) fn disarm(mut self) {
        self.workflow_id = None;
    }
}

impl Drop for ClientGone<'_> {
    fn drop(&mut self) {
        if let Some(workflow_id) = self.workflow_id {
            not_recorded::incomplete(workflow_id, None, CLIENT_DISCONNECTED);
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
