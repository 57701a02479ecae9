//! The route table (documented in `doc/api.md`), with problem+json for unknown routes and wrong methods.

use super::downloads::create_download;
use super::fallback::{get_or_head, method, only};
use super::forms::create_form;
use super::objects::list_objects;
use super::observe::resource;
use super::uploads::create_upload;
use super::{health, json_config, query_config};
use actix_web::http::Method;
use actix_web::web;

/// Registers every route, the extractor settings and the fallbacks.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(json_config())
        .app_data(query_config())
        .service(get_or_head("/healthz", health::healthz))
        // Second: actix tries resources in order (about 225 instructions a miss), so the
        // probe and the most frequent grant come first; the patterns never overlap.
        .service(
            resource("/v1/uploads")
                .route(method(Method::POST).to(create_upload))
                .default_service(web::to(|| only("POST"))),
        )
        .service(get_or_head("/readyz", health::readyz))
        .service(get_or_head("/openapi.json", health::openapi))
        .service(get_or_head("/metrics", health::metrics))
        .service(super::receipts::jwks)
        .service(
            resource("/v1/forms")
                .route(method(Method::POST).to(create_form))
                .default_service(web::to(|| only("POST"))),
        )
        .service(
            resource("/v1/uploads/verify")
                .route(method(Method::POST).to(super::verify::verify_upload))
                .default_service(web::to(|| only("POST"))),
        )
        .service(
            resource("/v1/downloads")
                .route(method(Method::POST).to(create_download))
                .default_service(web::to(|| only("POST"))),
        )
        .service(
            resource("/v1/objects")
                .route(method(Method::GET).to(list_objects))
                .default_service(web::to(|| only("GET"))),
        )
        .configure(super::multipart::configure)
        .service(super::companion::scope());
}
