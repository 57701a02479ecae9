//! `GET /healthz` (the process answers) and `GET /readyz` (it can sign right now).

use super::{ApiError, AppState};
use actix_web::{HttpResponse, route, web};
use chrono::Utc;

/// Liveness: the process is up.
#[route("/healthz", method = "GET", method = "HEAD")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// The OpenAPI 3.1 description of this API (`doc/openapi.json`, compiled in).
const OPENAPI: &str = include_str!("../../doc/openapi.json");

/// `GET /openapi.json`: the API description, unauthenticated like the probes.
#[route("/openapi.json", method = "GET", method = "HEAD")]
pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(OPENAPI)
}

/// Readiness: credentials usable beyond the safety margin are available.
#[route("/readyz", method = "GET", method = "HEAD")]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state
        .credentials
        .current(Utc::now())
        .await
        .map_err(ApiError::from)?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "status": "ready" })))
}
