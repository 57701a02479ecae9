//! Uppy compatibility, behind the same authentication as the rest of the API: Companion's
//! S3 routes (`@uppy/aws-s3` with `endpoint` / `companionEndpoint`) and `POST /s3/sign` for
//! Uppy 6's `signRequest`. Errors use Companion's `{"error": ...}` shape.
//!
//! Protocol facts: <https://uppy.io/docs/aws-s3/>.

mod complete;
mod errors;
mod initiated;
mod multipart;
mod owned;
mod params;
mod sign;
mod xml_answer;

pub(super) use errors::CompanionShaped;

use super::extractors::{MAX_PARTS_JSON_BODY, json_config_limited};
use super::fallback::{method, only};
use actix_web::http::Method;
use actix_web::middleware::from_fn;
use actix_web::web;

/// The `/s3` scope.
pub(super) fn scope() -> actix_web::Scope<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<actix_web::body::BoxBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    web::scope("/s3")
        .wrap(from_fn(errors::companion_errors))
        .service(
            web::resource("/params")
                .route(method(Method::GET).to(params::upload_params))
                .default_service(web::to(|| only("GET"))),
        )
        .service(
            web::resource("/sign")
                .route(method(Method::POST).to(sign::sign))
                .default_service(web::to(|| only("POST"))),
        )
        .service(
            web::resource("/complete")
                .route(method(Method::POST).to(complete::complete))
                .default_service(web::to(|| only("POST"))),
        )
        .service(
            web::resource("/initiated")
                .route(method(Method::POST).to(initiated::initiated))
                .default_service(web::to(|| only("POST"))),
        )
        .service(
            web::resource("/multipart")
                .route(method(Method::POST).to(multipart::create))
                .default_service(web::to(|| only("POST"))),
        )
        .service(
            web::resource("/multipart/{upload_id}/batch")
                .route(method(Method::GET).to(multipart::sign_batch))
                .default_service(web::to(|| only("GET"))),
        )
        .service(
            web::resource("/multipart/{upload_id}/complete")
                .app_data(json_config_limited(MAX_PARTS_JSON_BODY))
                .route(method(Method::POST).to(multipart::complete))
                .default_service(web::to(|| only("POST"))),
        )
        .service(
            web::resource("/multipart/{upload_id}/{part_number}")
                .route(method(Method::GET).to(multipart::sign_part))
                .default_service(web::to(|| only("GET"))),
        )
        .service(
            web::resource("/multipart/{upload_id}")
                .route(method(Method::GET).to(multipart::list))
                .route(method(Method::DELETE).to(multipart::abort))
                .default_service(web::to(|| only("GET, DELETE"))),
        )
}
