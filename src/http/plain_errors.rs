//! A safety net: any error response that is not already problem+json (from middleware such
//! as CORS, or from actix-web itself) is replaced by a problem document with a code derived
//! from its status, so every error a client sees has the same shape. (The Uppy routes under
//! `/s3` answer Companion's `{"error": ...}` shape instead; see `companion::errors`.)
//!
//! A hand-written middleware rather than actix-web's `ErrorHandlers`, which clones three
//! handles and looks its handler table up on every answer: here a success passes with one
//! comparison of its status.

use super::ApiError;
use super::companion::CompanionShaped;
use actix_web::body::EitherBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{Error, ResponseError};
use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::task::{Context, Poll};

/// The middleware (`App::wrap(ProblemErrors)`).
#[derive(Debug, Clone, Copy, Default)]
pub struct ProblemErrors;

impl<S, B> Transform<S, ServiceRequest> for ProblemErrors
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = ProblemErrorsService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(ProblemErrorsService { service }))
    }
}

/// The service of [`ProblemErrors`].
#[derive(Debug)]
pub struct ProblemErrorsService<S> {
    service: S,
}

impl<S, B> Service<ServiceRequest> for ProblemErrorsService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = ProblemFuture<S::Future>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        ProblemFuture {
            inner: self.service.call(req),
        }
    }
}

pin_project_lite::pin_project! {
    /// The answer of [`ProblemErrorsService`].
    pub struct ProblemFuture<F> {
        #[pin]
        inner: F,
    }
}

impl<F, B> Future for ProblemFuture<F>
where
    F: Future<Output = Result<ServiceResponse<B>, Error>>,
{
    type Output = Result<ServiceResponse<EitherBody<B>>, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().inner.poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(res)) => Poll::Ready(Ok(to_problem(res))),
            Poll::Ready(Err(err)) => Poll::Ready(Err(err)),
        }
    }
}

/// `res` as it is unless it is an error (4xx, 5xx) in another shape than problem+json (or
/// Companion's); such an error becomes the problem of its status.
fn to_problem<B>(res: ServiceResponse<B>) -> ServiceResponse<EitherBody<B>> {
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res.map_into_left_body();
    }
    let is_problem = res
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    let companion = res.response().extensions().contains::<CompanionShaped>();
    if is_problem || companion {
        return res.map_into_left_body();
    }
    let (request, _) = res.into_parts();
    let problem = ApiError::for_status(status).error_response();
    ServiceResponse::new(request, problem).map_into_right_body()
}
