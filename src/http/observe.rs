//! The outermost middleware: gives each request an id (`X-Request-Id`, kept when a proxy sent
//! a well-formed one), runs it with that id as the current request id of its log lines
//! ([`request_scope`]), records the answer in the metrics (route pattern, status,
//! duration, problem code), writes the `RateLimit` headers of an admitted request
//! ([`super::rate_limit::add_rate_headers`]), marks the answer `Connection: close` while the
//! process drains ([`super::drain`]) and hands its access record to the log queue when its
//! body ends ([`super::access_log`]).
//!
//! A hand-written service rather than `middleware::from_fn`: that one boxes its own future and
//! the inner service's on every request, and moves the response through both. The drain mark
//! and the access record were middleware of their own: each moved the response through one
//! more future, looked up what `Observe` already holds (the state, the request id, the start)
//! and read the clock again.

use super::access_log::{AccessBody, Started, logged};
use super::grant::Granted;
use super::{AppState, ProblemCode};
use crate::telemetry::metrics::method_label;
use crate::telemetry::request_id::REQUEST_ID_HEADER;
use crate::telemetry::request_scope::{self, RequestScoped};
use crate::telemetry::{Metrics, RequestId};
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{Error, HttpResponse, Resource, web};
use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

/// `X-Request-Id`, made once (a name given as text is parsed and checked at each use).
static REQUEST_ID: HeaderName = HeaderName::from_static(REQUEST_ID_HEADER);

/// The middleware (`App::wrap(Observe)`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Observe;

impl<S, B> Transform<S, ServiceRequest> for Observe
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<AccessBody>;
    type Error = Error;
    type Transform = ObserveService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(ObserveService { service }))
    }
}

/// The service of [`Observe`].
#[derive(Debug)]
pub struct ObserveService<S> {
    service: S,
}

impl<S, B> Service<ServiceRequest> for ObserveService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<AccessBody>;
    type Error = Error;
    type Future = ObserveFuture<S::Future>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let started = Instant::now();
        let id = RequestId::from_request_header(
            req.headers().get(&REQUEST_ID).map(HeaderValue::as_bytes),
        );
        let method = method_label(req.method());
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let access = Started::of(&req, started, Some(id));
        // The inner layers' `call` runs inside the scope too: they do work before any poll.
        let inner = request_scope::within_call(id, || self.service.call(req));
        ObserveFuture {
            inner: request_scope::within(id, inner),
            id,
            started,
            method,
            state,
            access,
            grants: None,
        }
    }
}

pin_project_lite::pin_project! {
    /// The answer of [`ObserveService`], polled inside the request's scope.
    pub struct ObserveFuture<F> {
        #[pin]
        inner: RequestScoped<F>,
        id: RequestId,
        started: Instant,
        method: &'static str,
        state: Option<web::Data<AppState>>,
        access: Option<Started>,
        grants: Option<request_scope::Grants>,
    }
}

impl<F, B> Future for ObserveFuture<F>
where
    F: Future<Output = Result<ServiceResponse<B>, Error>>,
    B: MessageBody + 'static,
{
    type Output = Result<ServiceResponse<AccessBody>, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let outer = request_scope::begin_poll();
        let polled = this.inner.poll(cx);
        request_scope::end_poll(outer, this.grants);
        let mut res = match polled {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Ok(res)) => res,
            Poll::Ready(Err(err)) => {
                // No inner layer answers with an error today (CORS, the problem+json safety
                // net and the handlers all turn errors into responses); should one, its answer
                // is still counted, though actix renders it without the id (the request is
                // gone).
                if let Some(state) = this.state {
                    let response = err.error_response();
                    record(
                        &state.metrics,
                        this.method,
                        None,
                        &response,
                        *this.grants,
                        *this.started,
                    );
                }
                return Poll::Ready(Err(err));
            }
        };
        if let Some(state) = this.state {
            let request = res.request();
            let resolved;
            let route = match request.app_data::<RoutePattern>() {
                Some(RoutePattern(pattern)) => Some(*pattern),
                None => {
                    resolved = request.match_pattern();
                    resolved.as_deref()
                }
            };
            record(
                &state.metrics,
                this.method,
                route,
                res.response(),
                *this.grants,
                *this.started,
            );
            super::drain::close_if_draining(&mut res, &state.drain);
        }
        super::rate_limit::add_rate_headers(&mut res);
        if let Ok(value) = HeaderValue::from_bytes(this.id.as_bytes()) {
            res.headers_mut().insert(REQUEST_ID.clone(), value);
        }
        Poll::Ready(Ok(logged(res, this.access.take())))
    }
}

/// The route pattern of a resource, kept in the resource's data ([`resource`]), so that
/// counting its answers does not resolve the request's pattern again
/// (`HttpRequest::match_pattern` walks the route table and builds a `String`).
#[derive(Debug, Clone, Copy)]
struct RoutePattern(&'static str);

/// A resource at `path` (a whole pattern: not inside a scope), its answers counted under
/// `path`. Resources made with `web::resource` are counted under the same pattern, found
/// from the request.
pub(crate) fn resource(path: &'static str) -> Resource {
    web::resource(path).app_data(RoutePattern(path))
}

/// Counts one answer: its route and status, its problem code (kept in the response's
/// extensions by [`super::ApiError`]) and what it granted: `grants`, noted while its future was
/// polled by [`super::grant::granted`] (or kept in the response's extensions when it ran
/// outside such a poll), counted when the answer is a success, as `granted` marks only those.
fn record<B>(
    metrics: &Metrics,
    method: &'static str,
    route: Option<&str>,
    response: &HttpResponse<B>,
    grants: Option<request_scope::Grants>,
    started: Instant,
) {
    let status = response.status();
    metrics.record_request(method, route, status.as_u16(), started.elapsed());
    let extensions = response.extensions();
    if let Some(ProblemCode(code)) = extensions.get::<ProblemCode>() {
        metrics.record_problem(code.as_str());
    }
    if let Some((operation, count)) = grants.filter(|_| status.is_success()) {
        metrics.record_grants(operation, count);
    } else if let Some(Granted { operation, count }) = extensions.get::<Granted>() {
        metrics.record_grants(operation.name(), *count);
    }
}
