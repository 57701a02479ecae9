//! Rendering a grant: an uncacheable JSON response, marked with what it grants for
//! `s3_broker_grants_total`.

use crate::grants::GrantKind;
use actix_web::HttpResponse;
use actix_web::body::BoxBody;
use actix_web::error::JsonPayloadError;
use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use serde::Serialize;

/// What a response grants: `count` signed requests of one kind, for `s3_broker_grants_total`:
/// noted for the request being polled, or kept in the response's extensions outside one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Granted {
    /// The S3 operation, e.g. `UploadPart` (`PostObject` for a POST policy).
    pub operation: GrantKind,
    /// How many signed requests (URLs or forms) the response holds.
    pub count: usize,
}

/// Marks `response` as granting `count` signed `operation` requests, unless it is an error
/// (a grant that failed to serialize is answered 500 and grants nothing). The mark is noted for
/// the request whose future is being polled (`request_scope::note_grants`), which costs no
/// allocation, and goes to the response's extensions only outside such a poll.
pub(crate) fn granted(
    mut response: HttpResponse,
    operation: GrantKind,
    count: usize,
) -> HttpResponse {
    if response.status().is_success()
        && !crate::telemetry::request_scope::note_grants(operation.name(), count)
    {
        response
            .extensions_mut()
            .insert(Granted { operation, count });
    }
    response
}

/// 200 with a JSON grant and `Cache-Control: no-store` (grants are bearer secrets); a body
/// that fails to serialize is answered 500, as actix's `json` answers it.
pub(crate) fn grant_response(body: &impl Serialize) -> HttpResponse {
    match serde_json::to_vec(body) {
        Ok(body) => json_grant_response(body),
        Err(err) => HttpResponse::from_error(JsonPayloadError::Serialize(err)),
    }
}

/// As [`grant_response`], for a body already written as JSON (see `json_out.rs`). The two
/// header values are static: neither is parsed nor copied per response, and the response is
/// made directly, without a builder.
pub(crate) fn json_grant_response(body: Vec<u8>) -> HttpResponse {
    // Boxed at once (what `map_into_boxed_body` makes of a `Vec`), not by a second pass that
    // moves the response.
    // A new response has no headers: `append` adds each without `insert`'s moves of a
    // replaced value (536 bytes copied per header in the bench: 176, 208 and 152).
    let mut response = HttpResponse::with_body(StatusCode::OK, BoxBody::new(body));
    let headers = response.headers_mut();
    headers.append(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.append(CONTENT_TYPE, HeaderValue::from_static("application/json"));
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
    async fn a_grant_is_uncacheable_json() {
        let value = serde_json::json!({"url": "https://b.example/k?x=1", "key": "k"});
        let response = grant_response(&value);
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers().get(CACHE_CONTROL).unwrap(), "no-store");
        assert_eq!(
            response.headers().get(CONTENT_TYPE).unwrap(),
            "application/json"
        );
        assert_eq!(response.headers().len(), 2);
        let body = to_bytes(response.into_body()).await.unwrap();
        assert_eq!(&body[..], br#"{"url":"https://b.example/k?x=1","key":"k"}"#);
    }

    #[test]
    fn a_grant_that_fails_to_serialize_is_a_500() {
        struct Unserializable;
        impl Serialize for Unserializable {
            fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
                Err(serde::ser::Error::custom("no"))
            }
        }
        let response = grant_response(&Unserializable);
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(response.headers().get(CACHE_CONTROL).is_none());
    }
}
