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
//! The scope also carries what the request granted, for `s3_broker_grants_total`
//! ([`note_grants`], [`granted`]): kept in the response's extensions instead, it allocated
//! their table on every grant.

use super::RequestId;
use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use tokio::task::futures::TaskLocalFuture;

/// What a request's scope holds: its id, and what it granted.
#[derive(Debug)]
pub struct Scope {
    id: RequestId,
    grants: Cell<Option<Grants>>,
}

/// `count` signed requests of the S3 operation `operation`.
pub type Grants = (&'static str, usize);

impl Scope {
    fn new(id: RequestId) -> Self {
        Self {
            id,
            grants: Cell::new(None),
        }
    }
}

tokio::task_local! {
    static CURRENT: Scope;
}

/// A future run inside a request's scope ([`within`]).
pub type RequestScoped<F> = TaskLocalFuture<Scope, F>;

/// `future`, with `id` as the current request id whenever it is polled.
pub fn within<F: Future>(id: RequestId, future: F) -> RequestScoped<F> {
    CURRENT.scope(Scope::new(id), future)
}

/// `f()`, with `id` as the current request id while it runs (a service's `call`, which does
/// work before its future is first polled).
pub fn within_call<R>(id: RequestId, f: impl FnOnce() -> R) -> R {
    CURRENT.sync_scope(Scope::new(id), f)
}

/// The id of the request whose future is being polled on this thread, if any.
pub fn current() -> Option<RequestId> {
    CURRENT.try_with(|scope| scope.id).ok()
}

/// Notes that the request whose future is being polled grants `count` signed `operation`
/// requests (replacing what it noted before). `false` outside a request's future ([`within`]):
/// nothing was noted.
pub fn note_grants(operation: &'static str, count: usize) -> bool {
    CURRENT
        .try_with(|scope| scope.grants.set(Some((operation, count))))
        .is_ok()
}

/// What the request of `future`, which has finished, noted with [`note_grants`]. Takes it:
/// a second call answers `None`.
pub fn granted<F: Future>(future: Pin<&mut RequestScoped<F>>) -> Option<Grants> {
    future.take_value().and_then(|scope| scope.grants.get())
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

    #[tokio::test]
    async fn grants_are_noted_in_the_scope_of_their_request() {
        assert!(!note_grants("PutObject", 1), "no scope, nothing noted");
        let id = RequestId::parse(b"req-3").unwrap();
        let mut future = std::pin::pin!(within(id, async {
            tokio::task::yield_now().await;
            assert!(note_grants("GetObject", 1));
            assert!(note_grants("UploadPart", 3));
        }));
        future.as_mut().await;
        assert_eq!(granted(future.as_mut()), Some(("UploadPart", 3)));
        assert_eq!(granted(future), None);
        let mut quiet = std::pin::pin!(within(id, async {}));
        quiet.as_mut().await;
        assert_eq!(granted(quiet), None);
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
