//! `GET /.well-known/jwks.json`: the public keys of upload receipts (RFC 7517), for
//! applications that check receipts offline. Unauthenticated, like the probes.

use super::AppState;
use actix_web::{HttpResponse, route, web};

/// The JWK Set of every published receipt key, cacheable for five minutes (keys rotate by
/// publishing the next key before it signs).
#[route("/.well-known/jwks.json", method = "GET", method = "HEAD")]
pub(crate) async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((
            actix_web::http::header::CACHE_CONTROL,
            "public, max-age=300",
        ))
        .json(state.receipts.jwks())
}
