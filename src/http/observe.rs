//! The outermost middleware: gives each request an id (`X-Request-Id`, kept when a proxy sent
//! a well-formed one), runs it with that id as the current request id of its log lines
//! ([`request_scope`]), and records the answer in the metrics (route pattern, status,
//! duration, problem code).

use super::grant::Granted;
use super::{AppState, ProblemCode};
use crate::telemetry::metrics::method_label;
use crate::telemetry::request_id::REQUEST_ID_HEADER;
use crate::telemetry::request_scope;
use crate::telemetry::{Metrics, RequestId};
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse, web};
use std::time::Instant;

/// The middleware (`actix_web::middleware::from_fn(observe)`).
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let id = RequestId::from_request_header(
        req.headers()
            .get(REQUEST_ID_HEADER)
            .map(HeaderValue::as_bytes),
    );
    let method = method_label(req.method());
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|state| state.metrics.clone());
    // `call` runs inside the scope too: inner layers do work before their first poll.
    let mut res = match request_scope::within(id, async move { next.call(req).await }).await {
        Ok(res) => res,
        Err(err) => {
            // No inner layer answers with an error today (CORS, the problem+json safety net
            // and the handlers all turn errors into responses); should one, its answer is
            // still counted, though actix renders it without the id (the request is gone).
            if let Some(metrics) = metrics {
                let response = err.error_response();
                record(&metrics, method, None, &response, started);
            }
            return Err(err);
        }
    };
    if let Some(metrics) = metrics {
        let route = res.request().match_pattern();
        record(&metrics, method, route.as_deref(), res.response(), started);
    }
    if let Ok(value) = HeaderValue::from_bytes(id.as_str().as_bytes()) {
        res.headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
    }
    Ok(res)
}

/// Counts one answer: its route and status, its problem code and what it granted (both kept in
/// the response's extensions by [`super::ApiError`] and [`super::grant::granted`]).
fn record<B>(
    metrics: &Metrics,
    method: &'static str,
    route: Option<&str>,
    response: &HttpResponse<B>,
    started: Instant,
) {
    metrics.record_request(method, route, response.status().as_u16(), started.elapsed());
    let extensions = response.extensions();
    if let Some(ProblemCode(code)) = extensions.get::<ProblemCode>() {
        metrics.record_problem(code.as_str());
    }
    if let Some(Granted { operation, count }) = extensions.get::<Granted>() {
        metrics.record_grants(operation.name(), *count);
    }
}
