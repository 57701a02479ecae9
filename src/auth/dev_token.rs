//! Development tokens: HS256 JWTs minted with a configured shared secret, for `s3-broker token`
//! and `s3-broker dev`. Production tokens come from an identity provider.

use std::time::Duration;

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};

use crate::domain::Scopes;

use super::keys::hmac_min_len;

/// The longest lifetime of a development token: 7 days.
pub const MAX_DEV_TOKEN_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// Why a development token could not be minted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MintError {
    /// The secret is shorter than 32 bytes ([RFC 7518 §3.2](https://www.rfc-editor.org/rfc/rfc7518#section-3.2)).
    #[error("the HS256 secret must be at least 32 bytes")]
    SecretTooShort,
    /// The lifetime is zero or longer than [`MAX_DEV_TOKEN_TTL`].
    #[error("the token lifetime must be from 1 second to 7 days")]
    TtlOutOfRange,
    /// No HS256 secret is configured (`auth.hs_secrets` with `HS256` in `auth.algorithms`).
    #[error("no HS256 secret is configured: add auth.hs_secrets and \"HS256\" to auth.algorithms")]
    NoSecret,
    /// A claim was empty.
    #[error("{0} must not be empty")]
    Empty(&'static str),
    /// Signing failed.
    #[error("signing failed: {0}")]
    Signing(String),
}

/// What goes into a development token.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DevClaims<'a> {
    pub kid: Option<&'a str>,
    pub issuer: &'a str,
    pub audience: &'a str,
    pub subject: &'a str,
    pub scope_claim: &'a str,
    pub scopes: Scopes,
}

/// Mints an HS256 token with `iss`, `aud`, `sub`, `scope` (space-separated), `iat`, `nbf` and
/// `exp = now + ttl`. The result verifies with an [`Authenticator`](super::Authenticator)
/// configured with the same secret, issuer and audience.
pub fn mint_dev_token(
    secret: &[u8],
    issuer: &str,
    audience: &str,
    subject: &str,
    scopes: Scopes,
    ttl: Duration,
    now: DateTime<Utc>,
) -> Result<String, MintError> {
    let claims = DevClaims {
        kid: None,
        issuer,
        audience,
        subject,
        scope_claim: "scope",
        scopes,
    };
    mint(secret, &claims, ttl, now)
}

pub(crate) fn mint(
    secret: &[u8],
    claims: &DevClaims<'_>,
    ttl: Duration,
    now: DateTime<Utc>,
) -> Result<String, MintError> {
    if secret.len() < hmac_min_len(Algorithm::HS256) {
        return Err(MintError::SecretTooShort);
    }
    if ttl.is_zero() || ttl > MAX_DEV_TOKEN_TTL {
        return Err(MintError::TtlOutOfRange);
    }
    for (name, value) in [
        ("issuer", claims.issuer),
        ("audience", claims.audience),
        ("subject", claims.subject),
    ] {
        if value.is_empty() {
            return Err(MintError::Empty(name));
        }
    }
    let iat = now.timestamp();
    let exp =
        iat.saturating_add(i64::try_from(ttl.as_secs()).map_err(|_| MintError::TtlOutOfRange)?);
    let mut body = serde_json::Map::new();
    body.insert("iss".into(), claims.issuer.into());
    body.insert("aud".into(), claims.audience.into());
    body.insert("sub".into(), claims.subject.into());
    body.insert("iat".into(), iat.into());
    body.insert("nbf".into(), iat.into());
    body.insert("exp".into(), exp.into());
    body.insert(
        claims.scope_claim.into(),
        claims.scopes.names().join(" ").into(),
    );
    let mut header = Header::new(Algorithm::HS256);
    header.kid = claims.kid.map(str::to_owned);
    jsonwebtoken::encode(&header, &body, &EncodingKey::from_secret(secret))
        .map_err(|e| MintError::Signing(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Scope;

    #[test]
    fn bad_inputs_are_refused() {
        let now = Utc::now();
        let secret = [7u8; 32];
        let ttl = Duration::from_secs(60);
        let scopes = Scopes::NONE.with(Scope::Upload);
        assert_eq!(
            mint_dev_token(&[7; 31], "i", "a", "s", scopes, ttl, now),
            Err(MintError::SecretTooShort)
        );
        assert_eq!(
            mint_dev_token(&secret, "i", "a", "s", scopes, Duration::ZERO, now),
            Err(MintError::TtlOutOfRange)
        );
        assert_eq!(
            mint_dev_token(&secret, "i", "a", "s", scopes, MAX_DEV_TOKEN_TTL * 2, now),
            Err(MintError::TtlOutOfRange)
        );
        assert_eq!(
            mint_dev_token(&secret, "i", "a", "", scopes, ttl, now),
            Err(MintError::Empty("subject"))
        );
        let token = mint_dev_token(&secret, "i", "a", "s", scopes, ttl, now).expect("minted");
        assert_eq!(token.split('.').count(), 3);
    }
}
