//! The one entry point of authentication: a validated configuration that turns a credential
//! into a [`Principal`].

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::future::{BoxFuture, Either, Ready, ready};
use secrecy::{ExposeSecret, SecretString};

use crate::domain::{Principal, Scopes};

use super::api_key::ApiKeys;
use super::config::AuthConfig;
use super::dev_token::{self, DevClaims, MintError};
use super::error::AuthError;
use super::jwks::{JwksCache, JwksError, JwksStats};
use super::jwt::{JwtVerifier, Remembered};
use super::presented::PresentedCredential;
use super::validate::AuthConfigError;

/// What [`Authenticator::authenticate`] answers: a principal or a refusal, at once or after the
/// boxed verification of a token.
pub type Authentication<'a> =
    Either<Ready<Result<Principal, AuthError>>, BoxFuture<'a, Result<Principal, AuthError>>>;

/// Authenticates callers. Build it once at startup with [`Authenticator::from_config`] and share
/// it (it is `Send + Sync`; the JWKS cache inside is shared by reference).
#[derive(Debug)]
pub struct Authenticator {
    jwt: JwtVerifier,
    api_keys: ApiKeys,
    dev: Option<DevMinting>,
}

#[derive(Debug)]
struct DevMinting {
    secret: SecretString,
    kid: Option<String>,
    issuer: String,
    audience: String,
    scope_claim: String,
}

impl Authenticator {
    /// Validates `config`; the error names the offending key (`auth.leeway_secs: at most 60`).
    pub fn from_config(config: &AuthConfig) -> Result<Self, AuthConfigError> {
        let valid = config.validate()?;
        let jwt_settings = valid.jwt;
        let jwks = match &jwt_settings.jwks {
            Some(settings) => Some(
                JwksCache::new(settings.clone(), jwt_settings.algorithms.clone()).map_err(|e| {
                    AuthConfigError {
                        key: "auth.jwks_url".into(),
                        problem: e.to_string(),
                    }
                })?,
            ),
            None => None,
        };
        let hs256 = jwt_settings
            .algorithms
            .contains(&jsonwebtoken::Algorithm::HS256);
        let dev = match (&jwt_settings.dev_secret, hs256) {
            (Some(secret), true) => Some(DevMinting {
                secret: secret.clone(),
                kid: config.hs_secrets.first().and_then(|s| s.kid.clone()),
                issuer: jwt_settings.issuer.clone(),
                audience: jwt_settings.audience.first().cloned().unwrap_or_default(),
                scope_claim: jwt_settings.scope_claim.clone(),
            }),
            _ => None,
        };
        Ok(Self {
            jwt: JwtVerifier::new(jwt_settings, jwks),
            api_keys: ApiKeys::new(valid.api_keys),
            dev,
        })
    }

    /// The principal of a bearer token (the text after `Bearer `) at `now`.
    ///
    /// Async because an unknown `kid` may refetch the JWKS. Every refusal is
    /// [`AuthError::InvalidToken`]; the token itself never appears in errors or logs.
    pub async fn authenticate_bearer(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Principal, AuthError> {
        self.authenticate(PresentedCredential::Bearer(token), now)
            .await
    }

    /// The principal of an API key (the `X-Api-Key` header value).
    pub fn authenticate_api_key(&self, key: &str) -> Result<Principal, AuthError> {
        self.api_keys.authenticate(key)
    }

    /// The principal of either kind of credential, as a future that is ready at once for an API
    /// key or a token accepted before with a configured key or secret (the common case: a
    /// client reuses its token), and otherwise holds the token's verification in a box. A
    /// request thus carries a few words of authentication state through its own future, not
    /// the whole verification's (JWKS fetch included), which would be copied with it at every
    /// move.
    pub fn authenticate<'a>(
        &'a self,
        credential: PresentedCredential<'a>,
        now: DateTime<Utc>,
    ) -> Authentication<'a> {
        let token = match credential {
            PresentedCredential::ApiKey(key) => {
                return Either::Left(ready(self.authenticate_api_key(key)));
            }
            PresentedCredential::Bearer("") => {
                return Either::Left(ready(Err(AuthError::MissingCredentials)));
            }
            PresentedCredential::Bearer(token) => token,
        };
        match self.jwt.remembered(token, now) {
            Remembered::Hit(principal) => Either::Left(ready(Ok(principal))),
            Remembered::Verify(lookup) => Either::Right(Box::pin(async move {
                self.jwt
                    .verify_unremembered(token, lookup, now)
                    .await
                    .map_err(|reason| {
                        tracing::debug!(%reason, "bearer token refused");
                        AuthError::InvalidToken(reason)
                    })
            })),
        }
    }

    /// Fetches the JWKS now, if one is configured (call at startup so the first request does
    /// not wait). A failure is not fatal: tokens are refused until a fetch succeeds.
    pub async fn warm_up(&self, now: DateTime<Utc>) -> Result<(), JwksError> {
        match self.jwt.jwks() {
            Some(jwks) => jwks.refresh(now).await.map(|_| ()),
            None => Ok(()),
        }
    }

    /// The JWKS cache's counters, if a JWKS URL is configured.
    pub fn jwks_stats(&self) -> Option<JwksStats> {
        self.jwt.jwks().map(JwksCache::stats)
    }

    /// Mints a development token with the first configured HS256 secret, the configured issuer,
    /// the first audience and the configured scope claim.
    pub fn mint_dev_token(
        &self,
        subject: &str,
        scopes: Scopes,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<String, MintError> {
        let dev = self.dev.as_ref().ok_or(MintError::NoSecret)?;
        let claims = DevClaims {
            kid: dev.kid.as_deref(),
            issuer: &dev.issuer,
            audience: &dev.audience,
            subject,
            scope_claim: &dev.scope_claim,
            scopes,
        };
        dev_token::mint(dev.secret.expose_secret().as_bytes(), &claims, ttl, now)
    }
}
