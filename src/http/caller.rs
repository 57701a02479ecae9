//! The authenticated caller as an extractor: a handler that takes a [`Caller`] only runs for
//! a request with a valid bearer token or API key (in headers; never in the URL).

use super::{ApiError, AppState, Code};
use crate::auth::{API_KEY_HEADER, PresentedCredential, query_has_credentials};
use crate::domain::Principal;
use actix_web::dev::Payload;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpRequest, web};
use chrono::Utc;
use futures_util::future::LocalBoxFuture;

/// An authenticated principal.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let in_url = query_has_credentials(req.query_string());
        let authorization = req
            .headers()
            .get(AUTHORIZATION)
            .map(|v| v.as_bytes().to_vec());
        let api_key = req
            .headers()
            .get(API_KEY_HEADER)
            .map(|v| v.as_bytes().to_vec());
        Box::pin(async move {
            if in_url {
                return Err(ApiError::new(
                    Code::CredentialsInUrl,
                    "credentials are accepted in the Authorization or X-Api-Key header only, never in the URL",
                ));
            }
            let state = state.ok_or_else(ApiError::internal)?;
            let credential =
                PresentedCredential::from_headers(authorization.as_deref(), api_key.as_deref())?;
            let principal = state
                .authenticator
                .authenticate(credential, Utc::now())
                .await?;
            Ok(Caller(principal))
        })
    }
}
