//! Request and response bodies as the listener hands them on: the request body with the body
//! read timeout, the response body holding the request's [`InFlight`] guard until it is sent.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use tokio::time::Sleep;

use super::activity::InFlight;

/// Why a client's request body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RequestBodyError {
    /// The client sent nothing for the body read timeout while the proxy waited for more.
    #[error("the client sent no more of its request body for {} s", .0.as_secs_f64())]
    TimedOut(Duration),
    /// The body broke: invalid chunked encoding, or the client closed the connection.
    #[error("the request body broke off: {0}")]
    Broken(#[source] hyper::Error),
}

impl RequestBodyError {
    /// The `RequestBodyError` behind `error`, if that is what it is (searched along the
    /// source chain, since axum and `http-body-util` wrap body errors).
    pub fn find<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a RequestBodyError> {
        let mut current = Some(error);
        while let Some(error) = current {
            if let Some(found) = error.downcast_ref::<RequestBodyError>() {
                return Some(found);
            }
            current = error.source();
        }
        None
    }
}

/// The client's request body, cut when it stalls for longer than the body read timeout.
/// Only time spent waiting on the client counts: the clock runs while the reader waits
/// for a frame, not while the reader does something else.
pub struct TimedBody {
    /// The body as hyper reads it.
    inner: Incoming,
    /// The body read timeout.
    timeout: Duration,
    /// Armed while the reader waits for the client.
    sleep: Option<Pin<Box<Sleep>>>,
    /// Waiting for the client since the last frame (the sleep is armed for this wait).
    waiting: bool,
    /// The body ended (or failed): nothing more comes.
    done: bool,
}

impl TimedBody {
    /// Wraps `inner`.
    pub fn new(inner: Incoming, timeout: Duration) -> Self {
        TimedBody {
            inner,
            timeout,
            sleep: None,
            waiting: false,
            done: false,
        }
    }
}

impl Body for TimedBody {
    type Data = Bytes;
    type Error = RequestBodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, RequestBodyError>>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.waiting = false;
                if !matches!(frame, Some(Ok(_))) {
                    this.done = true;
                }
                Poll::Ready(frame.map(|r| r.map_err(RequestBodyError::Broken)))
            }
            Poll::Pending => {
                let deadline = tokio::time::Instant::now() + this.timeout;
                let sleep = this
                    .sleep
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                if !this.waiting {
                    this.waiting = true;
                    sleep.as_mut().reset(deadline);
                }
                if sleep.as_mut().poll(cx).is_ready() {
                    this.done = true;
                    return Poll::Ready(Some(Err(RequestBodyError::TimedOut(this.timeout))));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A response body that keeps its request counted as in flight until it is sent or dropped.
pub struct GuardedBody<B> {
    /// The response body.
    inner: B,
    /// Ends the request when dropped.
    _in_flight: InFlight,
}

impl<B> GuardedBody<B> {
    /// Wraps `inner`.
    pub fn new(inner: B, in_flight: InFlight) -> Self {
        GuardedBody {
            inner,
            _in_flight: in_flight,
        }
    }
}

impl<B: Body + Unpin> Body for GuardedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
