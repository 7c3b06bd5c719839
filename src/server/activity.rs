//! What one connection is doing, as far as its time limits go: requests in flight, when the
//! headers of the next request must be complete, since when it has sat idle. Fed by the
//! connection's IO (bytes read) and by its service (request started, response body done).

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::eviction::Idle;
use super::limits::Timeouts;

/// Which limit a connection ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expired {
    /// A request's headers did not arrive in time (slowloris, or a connection that never
    /// sends anything): closed without an answer.
    HeaderRead,
    /// No request in flight for the idle timeout: closed gracefully.
    Idle,
}

impl Expired {
    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            Expired::HeaderRead => "header_timeout",
            Expired::Idle => "idle_timeout",
        }
    }
}

/// The mutable part, behind a mutex that is never held across an await.
#[derive(Debug)]
struct State {
    /// Requests whose response body has not been fully sent (or dropped) yet.
    in_flight: usize,
    /// Requests started on this connection so far.
    started: u64,
    /// When the headers being received must be complete; `None` while none are expected.
    header_deadline: Option<Instant>,
    /// Bytes of a next request have arrived (headers begun, not complete yet).
    begun: bool,
    /// When the last request in flight ended (or the connection was accepted).
    idle_since: Instant,
}

/// The activity of one connection.
#[derive(Debug)]
pub struct Activity {
    /// The limits it is held to.
    timeouts: Timeouts,
    /// What it is doing.
    state: Mutex<State>,
    /// Woken whenever a deadline may have moved.
    changed: Notify,
}

impl Activity {
    /// A connection just accepted: its first request's headers are due within the header
    /// read timeout.
    pub fn new(timeouts: Timeouts) -> Self {
        let now = Instant::now();
        Activity {
            timeouts,
            state: Mutex::new(State {
                in_flight: 0,
                started: 0,
                header_deadline: Some(now + timeouts.header_read),
                begun: false,
                idle_since: now,
            }),
            changed: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Bytes arrived. With nothing in flight they begin the next request's headers (the
    /// first request's deadline runs from the accept already).
    fn bytes_read(&self) {
        let mut state = self.lock();
        if state.in_flight == 0 && !state.begun {
            state.begun = true;
            if state.header_deadline.is_none() {
                state.header_deadline = Some(Instant::now() + self.timeouts.header_read);
            }
            drop(state);
            self.changed.notify_one();
        }
    }

    /// A request reached the service: its headers are complete. The guard ends it.
    pub fn request_started(self: &Arc<Self>) -> InFlight {
        let mut state = self.lock();
        state.in_flight += 1;
        state.started += 1;
        state.header_deadline = None;
        state.begun = false;
        drop(state);
        self.changed.notify_one();
        InFlight(Arc::clone(self))
    }

    fn request_ended(&self) {
        let mut state = self.lock();
        state.in_flight = state.in_flight.saturating_sub(1);
        if state.in_flight == 0 {
            state.idle_since = Instant::now();
        }
        drop(state);
        self.changed.notify_one();
    }

    /// The next deadline, if any applies now.
    pub fn next_deadline(&self) -> Option<Instant> {
        let state = self.lock();
        match state.header_deadline {
            Some(deadline) => Some(deadline),
            None if state.in_flight == 0 => Some(state.idle_since + self.timeouts.idle),
            None => None,
        }
    }

    /// Which limit has passed at `now`, if any.
    pub fn expired(&self, now: Instant) -> Option<Expired> {
        let state = self.lock();
        match state.header_deadline {
            Some(deadline) if now >= deadline => Some(Expired::HeaderRead),
            Some(_) => None,
            None if state.in_flight == 0 && now >= state.idle_since + self.timeouts.idle => {
                Some(Expired::Idle)
            }
            None => None,
        }
    }

    /// No request in flight and none begun: a keep-alive connection between requests, or
    /// one that has not sent a byte since the accept. Such a connection may be closed to
    /// make room for a waiting one. A connection sending its headers (however slowly) is
    /// not idle: the header read timeout deals with it.
    pub fn is_idle(&self) -> bool {
        let state = self.lock();
        state.in_flight == 0 && !state.begun
    }

    /// Resolves after the next change of a deadline (a stored wake-up counts).
    pub async fn changed(&self) {
        self.changed.notified().await;
    }
}

impl Idle for Activity {
    fn is_idle(&self) -> bool {
        Activity::is_idle(self)
    }
}

/// One request in flight; ends it when dropped (with the response body, or with the
/// service future when the client left before the answer).
#[derive(Debug)]
pub struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.request_ended();
    }
}

/// The first bytes of an HTTP/2 connection. HTTP/2 sends frames of its own (pings, window
/// updates) between requests, so its reads say nothing about headers: only the idle timeout
/// applies to it after the first request.
const H2_PREFACE_START: &[u8] = b"PRI * HTTP/2.0";

/// A connection's socket, reporting reads to its [`Activity`].
#[derive(Debug)]
pub struct TrackedIo<T> {
    /// The socket.
    inner: T,
    /// Where reads are reported.
    activity: Arc<Activity>,
    /// Reads are reported (false once the connection turned out to be HTTP/2).
    report: bool,
    /// The first read is still to come (it tells HTTP/2 from HTTP/1).
    first: bool,
}

impl<T> TrackedIo<T> {
    /// Wraps `inner`.
    pub fn new(inner: T, activity: Arc<Activity>) -> Self {
        TrackedIo {
            inner,
            activity,
            report: true,
            first: true,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for TrackedIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let result = Pin::new(&mut this.inner).poll_read(cx, buf);
        let read = &buf.filled()[before..];
        if !read.is_empty() {
            // The first read is reported whatever the protocol: a client that sent an
            // HTTP/2 preface is no longer silent.
            if this.report || this.first {
                this.activity.bytes_read();
            }
            if this.first {
                this.first = false;
                let n = read.len().min(H2_PREFACE_START.len());
                this.report = read[..n] != H2_PREFACE_START[..n];
            }
        }
        result
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for TrackedIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn timeouts() -> Timeouts {
        Timeouts {
            header_read: Duration::from_secs(1),
            idle: Duration::from_secs(5),
            body_read: Duration::from_secs(1),
        }
    }

    #[tokio::test]
    async fn a_fresh_connection_owes_its_headers_then_idles_between_requests() {
        let activity = Arc::new(Activity::new(timeouts()));
        let due = Instant::now() + Duration::from_secs(1);
        assert!(activity.next_deadline().is_some_and(|d| d <= due));
        assert_eq!(activity.expired(due), Some(Expired::HeaderRead));
        assert!(activity.is_idle(), "silent since the accept");
        activity.bytes_read();
        assert!(!activity.is_idle(), "its first request has begun");
        let request = activity.request_started();
        assert_eq!(activity.next_deadline(), None);
        assert!(!activity.is_idle());
        drop(request);
        assert!(activity.is_idle());
        let idle_since = Instant::now();
        assert_eq!(activity.expired(idle_since), None);
        assert_eq!(
            activity.expired(idle_since + Duration::from_secs(5)),
            Some(Expired::Idle)
        );
        activity.bytes_read();
        assert!(!activity.is_idle());
        let read_by = Instant::now() + Duration::from_secs(1);
        assert!(activity.next_deadline().is_some_and(|d| d <= read_by));
        assert_eq!(activity.expired(read_by), Some(Expired::HeaderRead));
    }
}
