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

use super::RequestId;
use std::future::Future;
use tokio::task::futures::TaskLocalFuture;

tokio::task_local! {
    static CURRENT: RequestId;
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
