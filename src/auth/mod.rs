//! Authentication: who is asking. Turns a bearer token (JWT) or an API key into a
//! [`Principal`](crate::domain::Principal), or refuses it with an [`AuthError`].
//!
//! This module knows nothing of HTTP frameworks: the HTTP layer reads the `Authorization` and
//! `X-Api-Key` headers (see [`PresentedCredential::from_headers`]), calls [`Authenticator::authenticate`]
//! and maps [`AuthError`] to 401 and its `WWW-Authenticate` challenge (in `http::mapping`).
//!
//! - [`config`]: the `[auth]` configuration section ([`AuthConfig`]), validated into an
//!   [`Authenticator`] with errors that name the key ([`AuthConfigError`]).
//! - [`Authenticator`]: the validated configuration; verifies tokens and API keys.
//! - JWTs ([RFC 7519](https://www.rfc-editor.org/rfc/rfc7519)) are verified following
//!   [RFC 8725](https://www.rfc-editor.org/rfc/rfc8725): pinned algorithms, required `exp`, `iss`,
//!   `aud`, `sub`, checked `nbf`, bounded leeway, keys only from configuration or the configured
//!   JWKS ([`JwksCache`], [RFC 7517](https://www.rfc-editor.org/rfc/rfc7517)).
//! - Tokens that verified are cached by digest until their `exp` and, for JWKS keys, while
//!   their key is published (`auth.verified_token_cache`), so a reused token costs a lookup.
//! - API keys are stored as SHA-256 digests and compared in constant time.
//! - [`mint_dev_token`] signs HS256 development tokens for `s3-broker token` and `s3-broker dev`.

mod api_key;
mod authenticator;
mod claims;
pub mod config;
mod dev_token;
mod error;
mod header;
mod jwks;
mod jwt;
mod keys;
mod presented;
mod validate;
mod verified;

pub use api_key::{API_KEY_HEADER, MAX_API_KEY_LEN};
pub use authenticator::{Authentication, Authenticator};
pub use config::{ApiKeyConfig, AuthConfig, HsSecretConfig, PublicKeyConfig};
pub use dev_token::{MAX_DEV_TOKEN_TTL, MintError, mint_dev_token};
pub use error::{AuthError, TokenRejection};
pub use header::MAX_TOKEN_LEN;
pub use jwks::{JwksCache, JwksError, JwksStats, MAX_JWKS_BYTES, MAX_JWKS_KEYS};
pub use presented::{
    CREDENTIAL_QUERY_PARAMS, PresentedCredential, bearer_token, query_has_credentials,
};
pub use validate::{AuthConfigError, MAX_LEEWAY_SECS, MAX_VERIFIED_TOKEN_CACHE};
