//! Errors in Companion's shape: `{"error": "...", "message": "..."}` (plus our stable `code`),
//! with the same status and headers (`WWW-Authenticate`, `Retry-After`, `Allow`) as
//! everywhere else, and the `reasons` and `action` of `upload_mismatch`. Uppy 5's client
//! shows `message` to the user; Companion sends `error`.

use crate::http::ProblemCode;
use actix_web::body::{BoxBody, MessageBody, to_bytes};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse};
use serde_json::{Value, json};

/// Marks a response already shaped for Companion, so the problem+json safety net keeps it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CompanionShaped;

fn is_problem<B>(res: &ServiceResponse<B>) -> bool {
    res.headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"))
}

/// The middleware of the `/s3` scope: rewrites problem documents into Companion errors.
pub(super) async fn companion_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let res = next.call(req).await?;
    if !is_problem(&res) {
        return Ok(res.map_into_boxed_body());
    }
    let (req, res) = res.into_parts();
    let status = res.status();
    let code = res.extensions().get::<ProblemCode>().copied();
    let headers = res.headers().clone();
    let body = to_bytes(res.into_body()).await.unwrap_or_default();
    let problem: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut out = HttpResponse::build(status);
    for (name, value) in &headers {
        if name != CONTENT_TYPE && name != CONTENT_LENGTH {
            out.append_header((name.clone(), value.clone()));
        }
    }
    let detail = problem["detail"].as_str().unwrap_or("request failed");
    let mut shaped = json!({
        "error": detail,
        "message": detail,
        "code": problem["code"].as_str().unwrap_or("error"),
    });
    // `upload_mismatch` keeps its reasons and what was done to the object.
    for member in ["reasons", "action"] {
        if !problem[member].is_null() {
            shaped[member] = problem[member].clone();
        }
    }
    let mut response = out.json(shaped);
    response.extensions_mut().insert(CompanionShaped);
    if let Some(code) = code {
        response.extensions_mut().insert(code);
    }
    Ok(ServiceResponse::new(req, response))
}
