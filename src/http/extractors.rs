//! Body and query extractor settings: every way a request body or query can be wrong becomes
//! an [`ApiError`] with a stable code, instead of actix-web's plain-text errors.

use super::{ApiError, Code};
use actix_web::error::{JsonPayloadError, QueryPayloadError};
use actix_web::web;

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
