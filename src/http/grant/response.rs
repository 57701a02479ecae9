//! Rendering a grant: an uncacheable JSON response, marked with what it grants for
//! `s3_broker_grants_total`.

use crate::grants::GrantKind;
use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
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

/// As [`grant_response`], for a body already written as JSON (see `json_out.rs`). The two
/// header values are static: neither is parsed nor copied per response, and the response is
/// made directly, without a builder.
pub(crate) fn json_grant_response(body: Vec<u8>) -> HttpResponse {
    let mut response = HttpResponse::with_body(StatusCode::OK, body).map_into_boxed_body();
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
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

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;

    #[actix_web::test]
    async fn a_written_answer_has_the_headers_of_a_serialized_one() {
        let value = serde_json::json!({"url": "https://b.example/k?x=1", "key": "k"});
        let serialized = grant_response(&value);
        let written = json_grant_response(serde_json::to_vec(&value).unwrap());
        assert_eq!(written.status(), serialized.status());
        for name in [CACHE_CONTROL, CONTENT_TYPE] {
            assert_eq!(
                written.headers().get(&name),
                serialized.headers().get(&name)
            );
        }
        assert_eq!(written.headers().len(), serialized.headers().len());
        let (a, b) = (
            to_bytes(written.into_body()).await.unwrap(),
            to_bytes(serialized.into_body()).await.unwrap(),
        );
        assert_eq!(a, b);
    }
}
