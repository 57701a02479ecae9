//! The 405 fallback of every resource, shared by the `/v1` route table and the `/s3` scope.
//!
//! See <https://www.rfc-editor.org/rfc/rfc9110#name-405-method-not-allowed>.

use super::ApiError;
use actix_web::HttpResponse;

/// The 405 of a resource that supports `allow` only (named in the `Allow` header).
pub(super) async fn only(allow: &'static str) -> Result<HttpResponse, ApiError> {
    Err(ApiError::method_not_allowed(allow))
}
