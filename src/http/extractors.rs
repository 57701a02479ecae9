//! Body and query extractor settings: every way a request body or query can be wrong becomes
//! an [`ApiError`] with a stable code, instead of actix-web's plain-text errors.

use super::{ApiError, Code};
use actix_web::dev::Payload;
use actix_web::error::{JsonPayloadError, QueryPayloadError};
use actix_web::http::header::{CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap};
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

/// JSON bodies are small: a grant request is a few hundred bytes.
pub const MAX_JSON_BODY: usize = 16 * 1024;

/// Bodies that list up to 10,000 parts (part signing, complete): at most 2 MiB.
pub(super) const MAX_PARTS_JSON_BODY: usize = 2 * 1024 * 1024;

/// JSON bodies: at most 16 KiB, `application/json` required, errors as problem+json.
pub fn json_config() -> web::JsonConfig {
    json_config_limited(MAX_JSON_BODY)
}

/// As [`json_config`], with another size limit.
pub(super) fn json_config_limited(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .content_type_required(true)
        .error_handler(move |err, _req| json_error(err, limit).into())
}

/// A JSON body under [`json_config`]: what `web::Json` accepts and refuses there, with the
/// same problems, read without its per-request costs (a MIME parse of the `Content-Type`, an
/// 8 KiB buffer) when the request says exactly `Content-Type: application/json` with a
/// `Content-Length` and no `Content-Encoding`. Any other request is read by `web::Json`
/// itself.
pub(super) struct JsonBody<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let Some(length) = plain_json_length(req.headers()) else {
            let json = web::Json::<T>::from_request(req, payload);
            return Box::pin(async move { Ok(JsonBody(json.await?.into_inner())) });
        };
        let limit = MAX_JSON_BODY;
        let mut payload = payload.take();
        Box::pin(async move {
            let refuse = |err| actix_web::Error::from(json_error(err, limit));
            if length > limit {
                return Err(refuse(JsonPayloadError::OverflowKnownLength {
                    length,
                    limit,
                }));
            }
            let mut body = Vec::with_capacity(length);
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| refuse(JsonPayloadError::Payload(e)))?;
                if body.len() + chunk.len() > limit {
                    return Err(refuse(JsonPayloadError::Overflow { limit }));
                }
                body.extend_from_slice(&chunk);
            }
            serde_json::from_slice(&body)
                .map(JsonBody)
                .map_err(|e| refuse(JsonPayloadError::Deserialize(e)))
        })
    }
}

/// The `Content-Length` of a request whose body is plain JSON: `Content-Type` exactly
/// `application/json`, one valid `Content-Length`, no `Content-Encoding`.
fn plain_json_length(headers: &HeaderMap) -> Option<usize> {
    let json = headers
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == b"application/json");
    if !json || headers.contains_key(CONTENT_ENCODING) {
        return None;
    }
    let mut lengths = headers.get_all(CONTENT_LENGTH);
    let (Some(length), None) = (lengths.next(), lengths.next()) else {
        return None;
    };
    let digits = length.as_bytes();
    if digits.is_empty() || digits.len() > 9 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// Query strings: errors as problem+json.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _req| query_error(err).into())
}

/// Maps a JSON extraction failure to its problem.
pub(super) fn json_error(err: JsonPayloadError, limit: usize) -> ApiError {
    match err {
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            ApiError::new(
                Code::BodyTooLarge,
                format!("this JSON body is limited to {limit} bytes"),
            )
        }
        JsonPayloadError::ContentType => ApiError::new(
            Code::UnsupportedMediaType,
            "send the body as 'Content-Type: application/json'",
        ),
        JsonPayloadError::Deserialize(e) if e.is_data() => {
            let message = e.to_string();
            let code = if message.starts_with("unknown field") {
                Code::UnknownField
            } else {
                Code::InvalidField
            };
            ApiError::new(code, message)
        }
        JsonPayloadError::Deserialize(e) => ApiError::new(
            Code::MalformedJson,
            format!("the body is not valid JSON: {e}"),
        ),
        _ => ApiError::new(Code::MalformedBody, "the request body could not be read"),
    }
}

/// Maps a query-string extraction failure to its problem.
pub(super) fn query_error(err: QueryPayloadError) -> ApiError {
    let QueryPayloadError::Deserialize(e) = err else {
        return ApiError::new(Code::InvalidQuery, "the query string could not be read");
    };
    let message = e.to_string();
    let code = if message.starts_with("unknown field") {
        Code::UnknownParameter
    } else {
        Code::InvalidQuery
    };
    ApiError::new(code, message)
}
