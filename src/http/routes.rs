//! The route table of DESIGN.md §4, with problem+json for unknown routes and wrong methods.

use super::downloads::create_download;
use super::extractors::{MAX_PARTS_JSON_BODY, json_config_limited};
use super::fallback::only;
use super::multipart_create::create_multipart;
use super::multipart_finish::{abort_multipart, complete_multipart};
use super::multipart_parts::{list_parts, sign_parts};
use super::objects::list_objects;
use super::uploads::create_upload;
use super::{ApiError, health, json_config, query_config};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};

/// Registers every route, the extractor settings and the fallbacks.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(json_config())
        .app_data(query_config())
        .service(health::healthz)
        .service(health::readyz)
        .service(health::openapi)
        .service(health::metrics)
        .service(
            web::resource("/v1/uploads")
                .route(web::post().to(create_upload))
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
        .service(
            web::resource("/v1/multipart")
                .route(web::post().to(create_multipart))
                .default_service(web::to(|| only("POST"))),
        )
        .service(
            web::resource("/v1/multipart/parts")
                .app_data(json_config_limited(MAX_PARTS_JSON_BODY))
                .route(web::post().to(sign_parts))
                .route(web::get().to(list_parts))
                .default_service(web::to(|| only("GET, POST"))),
        )
        .service(
            web::resource("/v1/multipart/complete")
                .app_data(json_config_limited(MAX_PARTS_JSON_BODY))
                .route(web::post().to(complete_multipart))
                .default_service(web::to(|| only("POST"))),
        )
        .service(
            web::resource("/v1/multipart/abort")
                .route(web::post().to(abort_multipart))
                .default_service(web::to(|| only("POST"))),
        )
        .service(super::companion::scope());
}

/// The fallback for unknown paths.
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such resource",
    ))
}
