//! The `x-micromodel-request-id` response header of recorded answers (docs/labels.md): the
//! upstream's `id` of the answer, the record's `request_id`. Headers go out before the body,
//! so the head is held while the first bytes are read, until the id is found (the top-level
//! `id` of a JSON answer; the first event of a stream), at most [`MAX_HELD`] bytes, and for a
//! stream at most [`STREAM_HOLD`]; then the head goes out, with the header when the id was
//! found, followed by the held frames and the rest of the body, unchanged. A stream's first
//! event is passed on as soon as it is whole, queued with the head, so the time to the first
//! token does not change.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::http::HeaderValue;
use axum::response::Response;
use bytes::Bytes;
use http_body::Frame;
use http_body_util::BodyExt;

use super::first_id::{in_first_event, in_json_prefix, Found};
use crate::telemetry::{self, HEADS_WITHOUT_REQUEST_ID};

/// The header's name.
pub const HEADER: &str = "x-micromodel-request-id";

/// Longest a stream's head is held for its first event, counted from the upstream's head.
/// Past it the head goes out without the header (logged at debug, counted as
/// `stream_hold_expired`) and the stream goes on as if nothing was held. Responses'
/// `response.created` and Messages' `message_start` come right after the upstream's head; a
/// chat or completions stream's first chunk comes with the first token, which for most models
/// is well under a second. A second is far below any client's wait for a head, and no token
/// waits for it (docs/decisions.md).
pub const STREAM_HOLD: Duration = Duration::from_millis(1000);

/// Most bytes read before the head goes out without the header.
pub const MAX_HELD: usize = 64 * 1024;

/// Holds `response`'s head until the answer's id is known (or not to be found, or for a
/// stream [`STREAM_HOLD`] has passed), then sends it with the header; a head sent without it
/// is counted in [`HEADS_WITHOUT_REQUEST_ID`]. `sse`: the body is an event stream.
/// `workflow`: the record's workflow, for the log and the metric.
pub(super) async fn with_request_id(response: Response, sse: bool, workflow: &str) -> Response {
    let (response, missing) = hold(response, sse, sse.then_some(STREAM_HOLD), workflow).await;
    if let Some(missing) = missing {
        if telemetry::enabled() {
            metrics::counter!(
                HEADS_WITHOUT_REQUEST_ID,
                "workflow" => workflow.to_owned(),
                "reason" => missing.label()
            )
            .increment(1);
        }
    }
    response
}

/// Why a recorded answer's head went out without the header: the `reason` label of
/// [`HEADS_WITHOUT_REQUEST_ID`], one per way [`hold`] can end without an id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Missing {
    /// A stream's first event was not whole within [`STREAM_HOLD`].
    StreamHoldExpired,
    /// A stream's first event came whole without an id (or is not a JSON object).
    NoIdInFirstEvent,
    /// A JSON answer has no top-level string `id` before its end (or is not an object).
    NoIdInAnswer,
    /// [`MAX_HELD`] bytes were read and the id was neither found nor known to be absent.
    HeldBytesLimit,
    /// The body ended (or its trailers came) before the id could be found.
    BodyEnded,
    /// Reading the upstream's body failed while the head was held.
    BodyFailed,
    /// The id holds characters a header value cannot carry (control characters).
    IdNotHeaderSafe,
}

impl Missing {
    /// The metric label.
    pub(super) fn label(self) -> &'static str {
        match self {
            Self::StreamHoldExpired => "stream_hold_expired",
            Self::NoIdInFirstEvent => "no_id_in_first_event",
            Self::NoIdInAnswer => "no_id_in_answer",
            Self::HeldBytesLimit => "held_bytes_limit",
            Self::BodyEnded => "body_ended",
            Self::BodyFailed => "body_failed",
            Self::IdNotHeaderSafe => "id_not_header_safe",
        }
    }
}

/// [`with_request_id`] with the time limit given: `None` holds until the id is found or
/// not to be found (a JSON answer is no use to a client before it is whole anyway). Gives
/// the response and, when it has no header, why.
async fn hold(
    response: Response,
    sse: bool,
    limit: Option<Duration>,
    workflow: &str,
) -> (Response, Option<Missing>) {
    let deadline = limit.map(|limit| tokio::time::Instant::now() + limit);
    let (mut parts, mut body) = response.into_parts();
    let mut held: VecDeque<Frame<Bytes>> = VecDeque::new();
    // The data seen so far, joined, only when it came in more than one frame.
    let mut joined: Vec<u8> = Vec::new();
    let mut seen = 0usize;
    let mut failed = None;
    let mut ended = false;
    let look = |buf: &[u8]| {
        if sse {
            in_first_event(buf)
        } else {
            in_json_prefix(buf)
        }
    };
    let absent = if sse {
        Missing::NoIdInFirstEvent
    } else {
        Missing::NoIdInAnswer
    };
    let id = loop {
        // `frame()` takes nothing from the body until it is ready, so dropping it at the
        // deadline loses no bytes.
        let next = match deadline {
            None => body.frame().await,
            Some(deadline) => match tokio::time::timeout_at(deadline, body.frame()).await {
                Ok(next) => next,
                Err(_elapsed) => break Err(Missing::StreamHoldExpired),
            },
        };
        match next {
            None => {
                ended = true;
                break Err(Missing::BodyEnded);
            }
            Some(Err(error)) => {
                failed = Some(error);
                break Err(Missing::BodyFailed);
            }
            Some(Ok(frame)) => {
                let found = match frame.data_ref() {
                    Some(chunk) if seen == 0 && held.is_empty() => {
                        seen = chunk.len();
                        look(chunk)
                    }
                    Some(chunk) => {
                        if joined.is_empty() {
                            for earlier in held.iter().filter_map(Frame::data_ref) {
                                joined.extend_from_slice(earlier);
                            }
                        }
                        joined.extend_from_slice(chunk);
                        seen = joined.len();
                        look(&joined)
                    }
                    // Trailers: the data is over.
                    None => {
                        held.push_back(frame);
                        break Err(Missing::BodyEnded);
                    }
                };
                held.push_back(frame);
                match found {
                    Found::Id(id) => break Ok(id),
                    Found::Absent => break Err(absent),
                    Found::More if seen >= MAX_HELD => break Err(Missing::HeldBytesLimit),
                    Found::More => {}
                }
            }
        }
    };
    let missing = match id.map(HeaderValue::try_from) {
        Ok(Ok(value)) => {
            parts.headers.insert(HEADER, value);
            None
        }
        Ok(Err(_invalid)) => Some(Missing::IdNotHeaderSafe),
        Err(missing) => Some(missing),
    };
    if let Some(missing) = missing {
        tracing::debug!(
            workflow,
            reason = missing.label(),
            held_bytes = seen,
            limit_ms = limit.map_or(0, |l| l.as_millis()),
            "response head sent without x-micromodel-request-id"
        );
    }
    let rest = (!ended).then_some(body);
    let response = Response::from_parts(parts, Body::new(HeldBody { held, failed, rest }));
    (response, missing)
}

/// The held frames, then the held error (if reading failed), then the rest of the body.
struct HeldBody {
    /// Frames read while the head was held, in order.
    held: VecDeque<Frame<Bytes>>,
    /// The error that ended the reading, passed on after the held frames.
    failed: Option<axum::Error>,
    /// The rest of the body; `None` once it ended (or after an error).
    rest: Option<Body>,
}

impl http_body::Body for HeldBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        if let Some(frame) = this.held.pop_front() {
            return Poll::Ready(Some(Ok(frame)));
        }
        if let Some(error) = this.failed.take() {
            this.rest = None;
            return Poll::Ready(Some(Err(error)));
        }
        match this.rest.as_mut() {
            Some(rest) => Pin::new(rest).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.held.is_empty()
            && self.failed.is_none()
            && self
                .rest
                .as_ref()
                .map_or(true, http_body::Body::is_end_stream)
    }
}

#[cfg(test)]
#[path = "request_id_tests.rs"]
mod tests;
