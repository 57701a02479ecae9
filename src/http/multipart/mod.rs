//! The native multipart API (`/v1/multipart...`): the broker plans the parts from the declared
//! size, creates the upload, and hands out a sealed ticket that every later call presents
//! (part URLs, listing, complete, abort). The Uppy routes of the same uploads are in
//! `super::companion`.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html>.

mod create;
mod finish;
mod parts;
mod ticket;

use super::extractors::{MAX_PARTS_JSON_BODY, json_config_limited};
use super::fallback::{method, only};
use super::observe::resource;
use actix_web::http::Method;
use actix_web::web;

/// Registers the `/v1/multipart` resources.
pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/v1/multipart")
            .route(method(Method::POST).to(create::create_multipart))
            .default_service(web::to(|| only("POST"))),
    )
    .service(
        resource("/v1/multipart/parts")
            .app_data(json_config_limited(MAX_PARTS_JSON_BODY))
            .route(method(Method::POST).to(parts::sign_parts))
            .route(method(Method::GET).to(parts::list_parts))
            .default_service(web::to(|| only("GET, POST"))),
    )
    .service(
        resource("/v1/multipart/complete")
            .app_data(json_config_limited(MAX_PARTS_JSON_BODY))
            .route(method(Method::POST).to(finish::complete_multipart))
            .default_service(web::to(|| only("POST"))),
    )
    .service(
        resource("/v1/multipart/abort")
            .route(method(Method::POST).to(finish::abort_multipart))
            .default_service(web::to(|| only("POST"))),
    );
}
