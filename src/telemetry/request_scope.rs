//! The request id of the request being served, for the log formatters: every line logged
//! while a request's future is polled names its id (`spans[0]` of a JSON line, as
//! `{"name":"request","request_id":"..."}`; `request_id=...` at the end of a text line).
//!
//! It replaces a `tracing` span per request: creating the span in the registry, formatting
//! its field, entering and leaving it on every poll and closing it was the largest single
//! cost of the request middleware on `GET /healthz` (doc/benchmarks.md), paid by every
//! request although few of them log anything but their access line. Here the id is copied
//! into a task-local slot while the request's future is polled, and read only when a line is
//! written.
//!
//! What a request grants, for `s3_broker_grants_total`, is noted while its future is polled
//! ([`note_grants`], [`begin_poll`]): kept in the response's extensions instead, it allocated
//! their table on every grant. It is kept in a thread-local slot of its own rather than in the
//! task-local one, so that a request that grants nothing (`GET /healthz`) moves no more bytes
//! in and out of the scope at each poll than its id.

use super::RequestId;
use std::cell::Cell;
use std::future::Future;
use tokio::task::futures::TaskLocalFuture;

tokio::task_local! {
    static CURRENT: RequestId;
}

/// `count` signed requests of the S3 operation `operation`.
pub type Grants = (&'static str, usize);

thread_local! {
    /// While a request's future is polled ([`begin_poll`]): `Some`, with what it noted during this
    /// poll. `None` outside.
    static NOTED: Cell<Option<Option<Grants>>> = const { Cell::new(None) };
}

/// A future run inside a request's scope ([`within`]).
pub type RequestScoped<F> = TaskLocalFuture<RequestId, F>;

/// `future`, with `id` as the current request id whenever it is polled.
pub fn within<F: Future>(id: RequestId, future: F) -> RequestScoped<F> {
    CURRENT.scope(id, future)
}

/// `f()`, with `id` as the current request id while it runs (a service's `call`, which does
/// work before its future is first polled).
pub fn within_call<R>(id: RequestId, f: impl FnOnce() -> R) -> R {
    CURRENT.sync_scope(id, f)
}

/// The id of the request whose future is being polled on this thread, if any.
pub fn current() -> Option<RequestId> {
    CURRENT.try_with(|id| *id).ok()
}

/// Starts one poll of a request's future: what the request notes until [`end_poll`]
/// ([`note_grants`]) is kept for it. Polls of other requests' futures inside that one note for
/// those. Hand the answer to [`end_poll`].
#[inline]
pub fn begin_poll() -> OuterPoll {
    OuterPoll {
        outer: Some(NOTED.replace(Some(None))),
    }
}

/// Ends the poll [`begin_poll`] started: what the request noted meanwhile goes to `noted`
/// (replacing what it held).
#[inline]
pub fn end_poll(mut poll: OuterPoll, noted: &mut Option<Grants>) {
    let Some(outer) = poll.outer.take() else {
        return;
    };
    if let Some(Some(grants)) = NOTED.replace(outer) {
        *noted = Some(grants);
    }
}

/// What [`begin_poll`] found: the slot of the poll it is nested in, if any. Dropped without
/// [`end_poll`] (the poll unwound from a panic), it puts that slot back, so the thread is not
/// left inside a poll that ended: a later grant outside any poll would be noted into nothing
/// instead of kept in the response's extensions, and go uncounted.
#[derive(Debug)]
#[must_use = "hand it to end_poll"]
pub struct OuterPoll {
    /// The slot to put back; `None` once [`end_poll`] has.
    outer: Option<Option<Option<Grants>>>,
}

impl Drop for OuterPoll {
    fn drop(&mut self) {
        if let Some(outer) = self.outer.take() {
            // What the unwound poll noted is dropped with it; during the thread's teardown
            // there is no slot left to restore.
            let _ = NOTED.try_with(|noted| noted.set(outer));
        }
    }
}

/// Notes that the request whose future is being polled ([`begin_poll`]) grants `count` signed
/// `operation` requests (replacing what it noted before). `false` outside such a poll: nothing
/// was noted.
pub fn note_grants(operation: &'static str, count: usize) -> bool {
    NOTED.with(|noted| {
        let inside = noted.get().is_some();
        if inside {
            noted.set(Some(Some((operation, count))));
        }
        inside
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_id_is_current_only_inside_its_future() {
        let id = RequestId::parse(b"req-1").unwrap();
        assert_eq!(current(), None);
        let seen = within(id, async {
            tokio::task::yield_now().await;
            current()
        })
        .await;
        assert_eq!(seen, Some(id));
        assert_eq!(current(), None);
    }

    #[test]
    fn a_call_sees_the_id_while_it_runs() {
        let id = RequestId::parse(b"req-2").unwrap();
        assert_eq!(within_call(id, current), Some(id));
        assert_eq!(current(), None);
    }

    #[test]
    fn grants_are_noted_for_the_request_being_polled() {
        assert!(
            !note_grants("PutObject", 1),
            "outside a poll, nothing noted"
        );
        let polling = |noted: &mut Option<Grants>, poll: &mut dyn FnMut()| {
            let outer = begin_poll();
            poll();
            end_poll(outer, noted);
        };
        let mut noted = None;
        polling(&mut noted, &mut || {
            assert!(note_grants("GetObject", 1));
            assert!(note_grants("UploadPart", 3));
        });
        assert_eq!(noted, Some(("UploadPart", 3)));
        polling(&mut noted, &mut || ());
        assert_eq!(noted, Some(("UploadPart", 3)), "kept across polls");
        let (mut outer, mut inner) = (None, None);
        polling(&mut outer, &mut || {
            polling(&mut inner, &mut || assert!(note_grants("PostObject", 1)));
            assert!(note_grants("DeleteObject", 2));
        });
        assert_eq!(
            (outer, inner),
            (Some(("DeleteObject", 2)), Some(("PostObject", 1)))
        );
        assert!(!note_grants("PutObject", 1), "outside again");
    }

    #[test]
    fn a_poll_that_panics_leaves_no_slot_open() {
        let unwound = std::panic::catch_unwind(|| {
            let _poll = begin_poll();
            assert!(note_grants("PostObject", 1));
            panic!("a handler panics");
        });
        assert!(unwound.is_err());
        assert!(
            !note_grants("PutObject", 1),
            "no poll is open after the unwound one"
        );
        // Nested: the outer request is not credited with what the unwound one noted.
        let mut outer = None;
        let outer_poll = begin_poll();
        let unwound = std::panic::catch_unwind(|| {
            let _inner = begin_poll();
            assert!(note_grants("PostObject", 1));
            panic!("a nested handler panics");
        });
        assert!(unwound.is_err());
        end_poll(outer_poll, &mut outer);
        assert_eq!(outer, None, "not the unwound poll's grant");
        assert!(!note_grants("PutObject", 1), "outside every poll again");
    }

    #[tokio::test]
    async fn nested_requests_see_their_own_id() {
        let outer = RequestId::parse(b"outer").unwrap();
        let inner = RequestId::parse(b"inner").unwrap();
        let (a, b, c) = within(outer, async {
            let a = current();
            let b = within(inner, async { current() }).await;
            (a, b, current())
        })
        .await;
        assert_eq!((a, b, c), (Some(outer), Some(inner), Some(outer)));
    }
}
