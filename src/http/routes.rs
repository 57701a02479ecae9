//! The route table (documented in `doc/api.md`), with problem+json for unknown routes and wrong methods.

use super::downloads::create_download;
use super::fallback::only;
use super::forms::create_form;
use super::objects::list_objects;
use super::uploads::create_upload;
use super::{health, json_config, query_config};
use actix_web::web;

/// Registers every route, the extractor settings and the fallbacks.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(json_config())
        .app_data(query_config())
        .service(health::healthz)
        .service(health::readyz)
        .service(health::openapi)
        .service(health::metrics)
        .service(super::receipts::jwks)
        .service(
            web::resource("/v1/uploads")
                .route(web::post().to(create_upload))
                .default_service(web::to(|| only("POST"))),
        )
        .service(
            web::resource("/v1/forms")
                .route(web::post().to(create_form))
                .default_service(web::to(|| only("POST"))),
        )
        .service(
            web::resource("/v1/uploads/verify")
                .route(web::post().to(super::verify::verify_upload))
                .default_service(web::to(|| only("POST"))),
        )
        .service(
            web::resource("/v1/downloads")
                .route(web::post().to(create_download))
                .default_service(web::to(|| only("POST"))),
        )
        .service(
            web::resource("/v1/objects")
                .route(web::get().to(list_objects))
                .default_service(web::to(|| only("GET"))),
        )
        .configure(super::multipart::configure)
        .service(super::companion::scope());
}
