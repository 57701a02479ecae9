//! Operations endpoints, unauthenticated (each answers `GET` and `HEAD`, see `routes.rs`):
//! `GET /healthz` (the process answers), `GET /readyz` (it can sign right now and is not
//! draining), `GET /metrics` (Prometheus) and `GET /openapi.json`.

use super::{ApiError, AppState, Code};
use crate::limits::StoreState;
use actix_web::http::header::{CONTENT_TYPE, HeaderValue};
use actix_web::{HttpResponse, web};
use chrono::Utc;

/// Liveness: the process is up. The answer never changes, so it is written as it is, not
/// serialised from a JSON value on each probe.
pub(crate) async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, HeaderValue::from_static("application/json")))
        .body(LIVE)
}

/// The body of every `GET /healthz` answer.
const LIVE: &str = r#"{"status":"ok"}"#;

/// The OpenAPI 3.1 description of this API (`doc/openapi.json`, compiled in).
const OPENAPI: &str = include_str!("../../doc/openapi.json");

/// `GET /openapi.json`: the API description, unauthenticated like the probes.
pub(crate) async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(OPENAPI)
}

/// Readiness: the process is not draining, credentials usable beyond the safety margin are
/// available, and a shared limits store answers (or `fail_open` lets the instance go on
/// alone: `"limits_store": "down_fail_open"`). While draining (after SIGTERM or SIGINT) it answers 503 `draining` at once,
/// without looking at credentials, so load balancers stop routing here (see [`super::Drain`]).
pub(crate) async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    if state.drain.is_draining() {
        return Err(ApiError::new(
            Code::Draining,
            "shutting down: new requests should go to another instance",
        ));
    }
    state
        .credentials
        .current(Utc::now())
        .await
        .map_err(ApiError::from)?;
    let limits = state.limits.store_state().await;
    match limits {
        StoreState::Memory => Ok(HttpResponse::Ok().json(serde_json::json!({ "status": "ready" }))),
        StoreState::DownClosed => Err(ApiError::new(
            Code::LimitsUnavailable,
            "the limits store is unavailable and on_store_failure = \"fail_closed\"",
        )),
        StoreState::Up | StoreState::DownOpen => Ok(HttpResponse::Ok()
            .json(serde_json::json!({ "status": "ready", "limits_store": limits.as_str() }))),
    }
}

/// `GET /metrics`: every metric in the OpenMetrics text format Prometheus scrapes; 404 when
/// `[server] metrics = false`. Labels name routes and codes, never callers or keys.
pub(crate) async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    if !state.serve_metrics {
        return super::not_found().await;
    }
    // As /readyz: fetches credentials when none are cached or they are due (rate-bounded by
    // the source); a failure leaves the last known value (readiness reports the failure).
    if let Ok(credentials) = state.credentials.current(Utc::now()).await {
        state.metrics.set_credentials_expiry(credentials.expires_at);
    }
    Ok(HttpResponse::Ok()
        .content_type(crate::telemetry::metrics::OPENMETRICS_CONTENT_TYPE)
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .body(state.metrics.render()))
}
