//! The access-log middleware: for each request, an [`AccessRecord`] (peer, method, path
//! without query and without Uppy upload ids (`log_path.rs`), status, body bytes, duration to the last byte, request id, problem code)
//! handed to the log queue when the response body ends; the writer thread formats it
//! (`crate::telemetry::access_log`). Nothing here waits for stderr.
//!
//! The application records its requests from `Observe` ([`Started::of`], [`logged`]), which
//! knows the request id and the start already; [`AccessLog`] is the same record as a
//! middleware of its own.

use super::ProblemCode;
use crate::telemetry::access_log::{AccessRecord, wanted};
use crate::telemetry::{RequestId, request_scope};
use actix_web::Error;
use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::web::Bytes;
use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

/// The middleware (`App::wrap(AccessLog)`), inside `observe`, which assigns the request id
/// (the application's `observe` writes the record itself).
#[derive(Debug, Clone, Copy, Default)]
pub struct AccessLog;

impl<S, B> Transform<S, ServiceRequest> for AccessLog
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<AccessBody>;
    type Error = Error;
    type Transform = AccessLogService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(AccessLogService { service }))
    }
}

/// The service of [`AccessLog`].
#[derive(Debug)]
pub struct AccessLogService<S> {
    service: S,
}

/// What is known of a request before its answer: its start and its record, boxed once here
/// and handed to the log queue as it is when the body ends (so that the request path moves a
/// pointer, not the record, and the queue's entry needs no allocation of its own).
pub(super) struct Started {
    at: Instant,
    record: Box<AccessRecord>,
}

impl Started {
    /// The record of `req`, started `at`, when access lines are wanted.
    pub(super) fn of(
        req: &ServiceRequest,
        at: Instant,
        request_id: Option<RequestId>,
    ) -> Option<Self> {
        wanted().then(|| Self {
            at,
            record: Box::new(AccessRecord {
                // The end, the status, the bytes, the duration and the problem: set as the
                // answer and its body come.
                at: SystemTime::UNIX_EPOCH,
                peer: req.peer_addr().map(|addr| addr.ip()),
                method: req.method().clone(),
                path: super::log_path::loggable_path(req.path()).into_owned(),
                status: 0,
                bytes: 0,
                duration: Duration::ZERO,
                request_id,
                problem: None,
            }),
        })
    }
}

/// `res` with its body wrapped in an [`AccessBody`] that hands the record of `started` to the
/// log queue when the body ends.
pub(super) fn logged<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
    started: Option<Started>,
) -> ServiceResponse<AccessBody> {
    let status = res.status().as_u16();
    let problem = res
        .response()
        .extensions()
        .get::<ProblemCode>()
        .map(|ProblemCode(code)| code.as_str());
    res.map_body(move |_, body| AccessBody {
        body: body.boxed(),
        bytes: 0,
        pending: started.map(|mut started| {
            started.record.status = status;
            started.record.problem = problem;
            started
        }),
    })
}

impl<S, B> Service<ServiceRequest> for AccessLogService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<AccessBody>;
    type Error = Error;
    type Future = AccessFuture<S::Future>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        // The id is `observe`'s, which runs this call inside the request's scope.
        let started = Started::of(&req, Instant::now(), request_scope::current());
        AccessFuture {
            inner: self.service.call(req),
            started,
        }
    }
}

pin_project_lite::pin_project! {
    /// The answer of [`AccessLogService`], its body wrapped in an [`AccessBody`].
    pub struct AccessFuture<F> {
        #[pin]
        inner: F,
        started: Option<Started>,
    }
}

impl<F, B> Future for AccessFuture<F>
where
    F: Future<Output = Result<ServiceResponse<B>, Error>>,
    B: MessageBody + 'static,
{
    type Output = Result<ServiceResponse<AccessBody>, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let res = match this.inner.poll(cx) {
            Poll::Ready(res) => res?,
            Poll::Pending => return Poll::Pending,
        };
        Poll::Ready(Ok(logged(res, this.started.take())))
    }
}

/// A response body that counts its bytes and writes the access record when dropped (after
/// the last byte, or when the client went away).
pub struct AccessBody {
    body: BoxBody,
    bytes: u64,
    /// The record, its status and problem set, waiting for the end of the body.
    pending: Option<Started>,
}

impl std::fmt::Debug for AccessBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessBody")
            .field("bytes", &self.bytes)
            .finish_non_exhaustive()
    }
}

impl MessageBody for AccessBody {
    type Error = Box<dyn std::error::Error>;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.body).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                this.bytes += chunk.len() as u64;
                Poll::Ready(Some(Ok(chunk)))
            }
            other => other,
        }
    }
}

impl Drop for AccessBody {
    fn drop(&mut self) {
        if let Some(Started { at, mut record }) = self.pending.take() {
            record.at = SystemTime::now();
            record.bytes = self.bytes;
            record.duration = at.elapsed();
            record.enqueue_boxed();
        }
    }
}
