//! Rendering a grant: an uncacheable JSON response, marked with what it grants for
//! `s3_broker_grants_total`.

use crate::grants::GrantKind;
use crate::http::ApiError;
use actix_web::HttpResponse;
use actix_web::http::header::CACHE_CONTROL;
use serde::Serialize;

/// What a response grants: `count` signed requests of one kind, kept in the response's
/// extensions for `s3_broker_grants_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Granted {
    /// The S3 operation, e.g. `UploadPart` (`PostObject` for a POST policy).
    pub operation: GrantKind,
    /// How many signed requests (URLs or forms) the response holds.
    pub count: usize,
}

/// Marks `response` as granting `count` signed `operation` requests, unless it is an error
/// (a grant that failed to serialize is answered 500 and grants nothing).
pub(crate) fn granted(
    mut response: HttpResponse,
    operation: GrantKind,
    count: usize,
) -> HttpResponse {
    if response.status().is_success() {
        response
            .extensions_mut()
            .insert(Granted { operation, count });
    }
    response
}

/// 200 with a JSON grant and `Cache-Control: no-store` (grants are bearer secrets).
pub(crate) fn grant_response(body: &impl Serialize) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "no-store"))
        .json(body)
}

/// As [`grant_response`], serialized into a buffer of about `size_hint` bytes allocated once
/// (a batch of 10,000 part URLs is ~4 MB: growing the buffer by doubling would copy it and
/// fault in its pages several times).
pub(crate) fn large_grant_response(body: &impl Serialize, size_hint: usize) -> HttpResponse {
    let mut bytes = Vec::with_capacity(size_hint);
    if let Err(err) = serde_json::to_writer(&mut bytes, body) {
        tracing::error!(error = %err, "a grant did not serialize");
        return actix_web::ResponseError::error_response(&ApiError::internal());
    }
    HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "no-store"))
        .content_type(actix_web::http::header::ContentType::json())
        .body(bytes)
}

/// A POST form's fields as the JSON object of a grant, in order.
pub(crate) fn form_fields_json(
    fields: Vec<crate::sigv4::FormField>,
) -> serde_json::Map<String, serde_json::Value> {
    fields
        .into_iter()
        .map(|f| (f.name, serde_json::Value::String(f.value)))
        .collect()
}
