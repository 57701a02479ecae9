//! The authenticated caller as an extractor: a handler that takes a [`Caller`] only runs for
//! a request with a valid bearer token or API key (in headers; never in the URL).

use super::rate_limit::{AdmittedRate, client_ip};
use super::{ApiError, AppState, Code};
use crate::auth::{API_KEY_HEADER, PresentedCredential, query_has_credentials};
use crate::domain::{NamespaceSegment, Principal};
use crate::limits::{Limiter, RateOutcome, Refusal, RouteClass};
use actix_web::dev::Payload;
use actix_web::http::header::{AUTHORIZATION, HeaderName};
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use chrono::Utc;
use futures_util::future::LocalBoxFuture;
use std::net::IpAddr;

/// [`API_KEY_HEADER`] as a header name made once: looking a header up by a `&str` parses it
/// into a name, which for a name outside the standard set copies it into a new allocation on
/// every request.
const API_KEY: HeaderName = HeaderName::from_static(API_KEY_HEADER);

/// An authenticated principal.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        // A clone of the request is a reference count: the headers are read in place, the
        // token is never copied.
        let req = req.clone();
        Box::pin(async move {
            let (state, principal) = authenticated(&req).await?;
            admit(
                &req,
                &state.limits,
                &principal,
                RouteClass::of_path(req.path()),
            )
            .await?;
            Ok(Caller(principal))
        })
    }
}

/// The principal of `req`'s credentials, before any rate of its class: refused with
/// credentials in the URL, from a client address whose failed-authentication budget is spent,
/// or when the credentials are not valid (counted against the address).
pub(super) async fn authenticated(
    req: &HttpRequest,
) -> Result<(&web::Data<AppState>, Principal), ApiError> {
    let (state, credential, ip) = presented(req)?;
    match state
        .authenticator
        .authenticate(credential, Utc::now())
        .await
    {
        Ok(principal) => Ok((state, principal)),
        Err(error) => {
            if let Some(ip) = ip {
                // Boxed: a refusal is rare, and its store call's state would otherwise be
                // part of every request's future.
                Box::pin(state.limits.auth_failed(ip)).await;
            }
            Err(error.into())
        }
    }
}

/// What [`authenticated_now`] can tell of a request without waiting.
pub(super) enum AuthenticatedNow<'r> {
    /// The principal, or a refusal that counts nothing more.
    Answered(Result<(&'r web::Data<AppState>, Principal), ApiError>),
    /// Refused credentials, to be counted against the client address
    /// ([`Limiter::auth_failed`], which may call the store): the caller counts, then refuses.
    /// The credentials are checked once, so a refusal's log line is written once.
    Refused(&'r web::Data<AppState>, IpAddr, ApiError),
    /// A token that has to be verified: call [`authenticated`].
    Verify,
}

/// [`authenticated`]'s work when nothing has to be waited for: an API key, a token accepted
/// before, or a refusal.
pub(super) fn authenticated_now(req: &HttpRequest) -> AuthenticatedNow<'_> {
    let (state, credential, ip) = match presented(req) {
        Ok(presented) => presented,
        Err(refusal) => return AuthenticatedNow::Answered(Err(refusal)),
    };
    match state.authenticator.authenticate_now(credential, Utc::now()) {
        None => AuthenticatedNow::Verify,
        Some(Ok(principal)) => AuthenticatedNow::Answered(Ok((state, principal))),
        Some(Err(error)) => match ip {
            Some(ip) => AuthenticatedNow::Refused(state, ip, error.into()),
            None => AuthenticatedNow::Answered(Err(error.into())),
        },
    }
}

/// The state, the credential `req` presents and its client address, unless refused before
/// authentication: credentials in the URL, or an address whose failed-authentication budget
/// is spent.
fn presented(
    req: &HttpRequest,
) -> Result<
    (
        &web::Data<AppState>,
        PresentedCredential<'_>,
        Option<IpAddr>,
    ),
    ApiError,
> {
    if query_has_credentials(req.query_string()) {
        return Err(ApiError::new(
            Code::CredentialsInUrl,
            "credentials are accepted in the Authorization or X-Api-Key header only, never in the URL",
        ));
    }
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(ApiError::internal)?;
    let headers = req.headers();
    let credential = PresentedCredential::from_headers(
        headers.get_all(AUTHORIZATION).map(|v| v.as_bytes()),
        headers.get_all(&API_KEY).map(|v| v.as_bytes()),
    )?;
    let limits = &state.limits;
    let ip = client_ip(req, limits.client_ip_header());
    if let Some(blocked) = ip.and_then(|ip| limits.ip_blocked(ip)) {
        return Err(Refusal::RateLimited(RouteClass::AuthFailures.as_str(), blocked).into());
    }
    Ok((state, credential, ip))
}

/// Admits a request of `class` by `principal` now: refused when revoked or over the class's
/// rate, else the rate's state kept for the `RateLimit` headers.
pub(super) async fn admit(
    req: &HttpRequest,
    limits: &Limiter,
    principal: &Principal,
    class: RouteClass,
) -> Result<(), ApiError> {
    let admitted = admission(limits, &principal.segment, principal.issued_at, class).await?;
    keep_rate(req, class, admitted);
    Ok(())
}

/// Keeps an admitted request's class rate state for its `RateLimit` headers.
pub(super) fn keep_rate(req: &HttpRequest, class: RouteClass, admitted: Option<RateOutcome>) {
    if let Some(outcome) = admitted {
        req.extensions_mut()
            .insert(AdmittedRate(class.as_str(), outcome));
    }
}

/// [`Limiter::admit`], at once when it needs no round trip ([`Limiter::admit_now`]); the
/// store's future is boxed, so that only requests that wait for the store hold its state.
pub(super) async fn admission(
    limits: &Limiter,
    who: &NamespaceSegment,
    issued_at: Option<i64>,
    class: RouteClass,
) -> Result<Option<RateOutcome>, Refusal> {
    match limits.admit_now(who, issued_at, class) {
        Some(answer) => answer,
        None => Box::pin(limits.admit(who, issued_at, class)).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The size of the future `f` returns, without calling it.
    fn future_size<'a, F: Fn(&'a HttpRequest) -> Fut, Fut>(_f: F) -> usize {
        std::mem::size_of::<Fut>()
    }

    #[test]
    fn authentication_keeps_no_verification_state() {
        // Every request that authenticates holds this future (in a box its extractor copies it
        // into). With the token verification's and the limits store's futures inline it was
        // 1,104 bytes (debug build); they are boxed on the paths that wait, 240 now.
        let size = future_size(authenticated);
        assert!(size <= 400, "authenticated's future is {size} bytes");
    }
}
