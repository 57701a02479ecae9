//! The fallbacks: 404 for unknown paths, and the 405 of every resource, shared by the `/v1`
//! route table and the `/s3` scope.
//!
//! See <https://www.rfc-editor.org/rfc/rfc9110#name-405-method-not-allowed>.

use super::{ApiError, Code};
use actix_web::HttpResponse;

/// The fallback for unknown paths.
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(Code::NotFound, "no such resource"))
}

/// The 405 of a resource that supports `allow` only (named in the `Allow` header).
pub(super) async fn only(allow: &'static str) -> Result<HttpResponse, ApiError> {
    Err(ApiError::method_not_allowed(allow))
}
