//! A safety net: any error response that is not already problem+json (from middleware such
//! as CORS, or from actix-web itself) is replaced by a problem document with a code derived
//! from its status, so every error a client sees has the same shape. (The Uppy routes under
//! `/s3` answer Companion's `{"error": ...}` shape instead; see `companion::errors`.)

use super::ApiError;
use super::companion::CompanionShaped;
use actix_web::ResponseError;
use actix_web::dev::ServiceResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};

/// The middleware.
pub fn problem_errors<B: 'static>() -> ErrorHandlers<B> {
    ErrorHandlers::new().default_handler(to_problem)
}

fn to_problem<B>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_problem = res
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    let companion = res.response().extensions().contains::<CompanionShaped>();
    if is_problem || companion {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let (request, _) = res.into_parts();
    let problem = ApiError::new(
        status,
        code_for(status),
        status.canonical_reason().unwrap_or("error"),
    )
    .error_response();
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(request, problem).map_into_right_body(),
    ))
}

fn code_for(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        408 => "request_timeout",
        413 => "body_too_large",
        414 => "uri_too_long",
        415 => "unsupported_media_type",
        431 => "headers_too_large",
        503 => "unavailable",
        s if s >= 500 => "internal",
        _ => "client_error",
    }
}
