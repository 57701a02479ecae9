//! A safety net: any error response that is not already problem+json (from middleware such
//! as CORS, or from actix-web itself) is replaced by a problem document with a code derived
//! from its status, so every error a client sees has the same shape. (The Uppy routes under
//! `/s3` answer Companion's `{"error": ...}` shape instead; see `companion::errors`.)

use super::ApiError;
use super::companion::CompanionShaped;
use actix_web::ResponseError;
use actix_web::dev::ServiceResponse;
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
    let problem = ApiError::for_status(status).error_response();
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(request, problem).map_into_right_body(),
    ))
}
