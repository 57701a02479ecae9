//! The fallbacks: 404 for unknown paths, and the 405 of every resource, shared by the `/v1`
//! route table and the `/s3` scope; the method guards of their routes.
//!
//! See <https://www.rfc-editor.org/rfc/rfc9110#name-405-method-not-allowed>.

use super::observe::resource;
use super::{ApiError, Code};
use actix_web::guard::{Guard, GuardContext};
use actix_web::http::Method;
use actix_web::{FromRequest, Handler, HttpResponse, Resource, Responder, Route, web};

/// The fallback for unknown paths.
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(Code::NotFound, "no such resource"))
}

/// The 405 of a resource that supports `allow` only (named in the `Allow` header).
pub(super) async fn only(allow: &'static str) -> Result<HttpResponse, ApiError> {
    Err(ApiError::method_not_allowed(allow))
}

/// A route for requests of one method: as actix-web's `web::post()` and its siblings, whose
/// method guard also records every method it checks in the request's extensions (allocating
/// their table on each request) for a 405 that every resource here answers itself ([`only`]).
pub(super) fn method(method: Method) -> Route {
    web::route().guard(OfMethod(method))
}

/// A resource at `path` answering `GET` and `HEAD` with `handler` (actix-web answers `HEAD`
/// without the body), and 405 with `Allow: GET, HEAD` otherwise: the probes and documents.
pub(super) fn get_or_head<F, Args>(path: &'static str, handler: F) -> Resource
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    resource(path)
        .route(web::route().guard(GetOrHead).to(handler))
        .default_service(web::to(|| only("GET, HEAD")))
}

/// The guard of [`method`].
struct OfMethod(Method);

impl Guard for OfMethod {
    fn check(&self, ctx: &GuardContext<'_>) -> bool {
        ctx.head().method == self.0
    }
}

/// The guard of [`get_or_head`].
struct GetOrHead;

impl Guard for GetOrHead {
    fn check(&self, ctx: &GuardContext<'_>) -> bool {
        matches!(ctx.head().method, Method::GET | Method::HEAD)
    }
}
