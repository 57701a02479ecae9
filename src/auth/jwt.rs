//! Bearer-token verification: header inspection, key selection (static keys and the JWKS
//! cache), signature and claim validation with `jsonwebtoken`, then the strict claim checks of
//! [`claims`](super::claims).
//!
//! The validation rules follow [RFC 7519 §7.2](https://www.rfc-editor.org/rfc/rfc7519#section-7.2)
//! and the best current practices of [RFC 8725](https://www.rfc-editor.org/rfc/rfc8725):
//! algorithms pinned from configuration, `exp`, `iss`, `aud` and `sub` required, `iss` and `aud`
//! checked, keys only from configuration.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, AlgorithmFamily, Validation};
use serde_json::{Map, Value};

use crate::domain::Principal;

use super::claims::{self, ClaimRules};
use super::error::TokenRejection;
use super::header;
use super::jwks::JwksCache;
use super::keys::{KeySet, VerificationKey, in_family};
use super::validate::JwtSettings;

/// The most keys one token is tried against (tokens without `kid`, or shared `kid`s).
const MAX_CANDIDATES: usize = 8;

/// The registered claims every token must carry.
const REQUIRED_CLAIMS: [&str; 4] = ["exp", "iss", "aud", "sub"];

/// Verifies bearer tokens.
#[derive(Debug)]
pub(crate) struct JwtVerifier {
    issuer: String,
    audience: Vec<String>,
    algorithms: Vec<Algorithm>,
    leeway_secs: u64,
    scope_claim: String,
    static_keys: KeySet,
    jwks: Option<JwksCache>,
    /// One validation per pinned algorithm family: `jsonwebtoken` requires every listed
    /// algorithm to share the key's family.
    validations: Vec<(AlgorithmFamily, Validation)>,
}

impl JwtVerifier {
    /// A verifier for validated settings.
    pub(super) fn new(settings: JwtSettings, jwks: Option<JwksCache>) -> Self {
        let families = [
            AlgorithmFamily::Hmac,
            AlgorithmFamily::Rsa,
            AlgorithmFamily::Ec,
            AlgorithmFamily::Ed,
        ];
        let validations = families
            .into_iter()
            .filter_map(|family| {
                let algorithms = in_family(&settings.algorithms, family);
                (!algorithms.is_empty()).then(|| (family, validation(algorithms, &settings)))
            })
            .collect();
        Self {
            issuer: settings.issuer,
            audience: settings.audience,
            algorithms: settings.algorithms,
            leeway_secs: settings.leeway_secs,
            scope_claim: settings.scope_claim,
            static_keys: KeySet::new(settings.static_keys),
            jwks,
            validations,
        }
    }

    /// The JWKS cache, when one is configured.
    pub(super) fn jwks(&self) -> Option<&JwksCache> {
        self.jwks.as_ref()
    }

    /// The principal of a valid `token` at `now`.
    pub(super) async fn verify(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Principal, TokenRejection> {
        let header = header::inspect(token, &self.algorithms)?;
        let candidates = self
            .candidates(header.alg, header.kid.as_deref(), now)
            .await?;
        let claims = self.verify_signature(token, &candidates)?;
        let rules = ClaimRules {
            issuer: &self.issuer,
            audience: &self.audience,
            leeway_secs: self.leeway_secs,
            scope_claim: &self.scope_claim,
        };
        claims::principal(&claims, &rules, now)
    }

    /// The keys that may have signed a token with `alg` and `kid`.
    ///
    /// A `kid` selects the keys with that id; when none has it, the JWKS is refetched (at its
    /// bounded rate) and, failing that, keys without an id are tried. A token without `kid` is
    /// tried against every key for its algorithm.
    async fn candidates(
        &self,
        alg: Algorithm,
        kid: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Arc<VerificationKey>>, TokenRejection> {
        let jwks = self
            .jwks
            .as_ref()
            .filter(|_| alg.family() != AlgorithmFamily::Hmac);
        let mut published = match jwks {
            Some(cache) => Some(cache.current(now).await),
            None => None,
        };
        let select = |published: Option<&KeySet>| -> Vec<Arc<VerificationKey>> {
            let sets = std::iter::once(&self.static_keys).chain(published);
            match kid {
                Some(kid) => sets.flat_map(|s| s.with_kid(alg, kid)).cloned().collect(),
                None => sets.flat_map(|s| s.for_alg(alg)).cloned().collect(),
            }
        };
        let mut found = select(published.as_deref());
        if found.is_empty()
            && kid.is_some()
            && let Some(cache) = jwks
        {
            published = Some(cache.refetch_for_unknown_kid(now).await);
            found = select(published.as_deref());
        }
        if found.is_empty() && kid.is_some() {
            let sets = std::iter::once(&self.static_keys).chain(published.as_deref());
            found = sets.flat_map(|s| s.without_kid(alg)).cloned().collect();
        }
        if found.is_empty() {
            let cold = jwks.is_some_and(|cache| !cache.is_warm());
            return Err(if kid.is_some() && !cold {
                TokenRejection::UnknownKey
            } else {
                TokenRejection::NoKey
            });
        }
        found.truncate(MAX_CANDIDATES);
        Ok(found)
    }

    /// Verifies the signature with the first candidate that fits, then the claims
    /// `jsonwebtoken` checks; returns the claims.
    fn verify_signature(
        &self,
        token: &str,
        candidates: &[Arc<VerificationKey>],
    ) -> Result<Map<String, Value>, TokenRejection> {
        let mut rejection = TokenRejection::BadSignature;
        for key in candidates {
            let family = key.key.family();
            let Some((_, validation)) = self.validations.iter().find(|(f, _)| *f == family) else {
                continue;
            };
            match jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, validation) {
                Ok(data) => return Ok(data.claims),
                Err(error) => match error.kind() {
                    // This key did not verify the signature: try the next one.
                    ErrorKind::InvalidSignature
                    | ErrorKind::InvalidAlgorithm
                    | ErrorKind::InvalidKeyFormat
                    | ErrorKind::InvalidEcdsaKey
                    | ErrorKind::InvalidEddsaKey
                    | ErrorKind::InvalidRsaKey(_) => rejection = TokenRejection::BadSignature,
                    // The signature verified (claims are checked after it): report why the
                    // claims failed.
                    ErrorKind::MissingRequiredClaim(name) => {
                        return Err(missing_or_invalid(token, name));
                    }
                    other => return Err(map_error(other)),
                },
            }
        }
        Err(rejection)
    }
}

/// The `jsonwebtoken` validation for the pinned algorithms of one family.
///
/// `exp` and `nbf` are checked in [`claims::check_times`] against the caller's `now`, because
/// `jsonwebtoken` reads the system clock; they are still required here, and `jsonwebtoken`
/// >= 10.3 refuses a required `exp` that is not a number (CVE-2026-25537).
fn validation(algorithms: Vec<Algorithm>, settings: &JwtSettings) -> Validation {
    let mut validation = Validation::new(algorithms.first().copied().unwrap_or_default());
    validation.algorithms = algorithms;
    validation.set_required_spec_claims(&REQUIRED_CLAIMS);
    validation.leeway = settings.leeway_secs;
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = true;
    validation.set_issuer(&[&settings.issuer]);
    validation.set_audience(&settings.audience);
    validation
}

/// A required claim `jsonwebtoken` could not read: absent, or present with the wrong type.
/// Only called once the signature has verified, so reading the payload is safe.
fn missing_or_invalid(token: &str, name: &str) -> TokenRejection {
    let name = REQUIRED_CLAIMS
        .into_iter()
        .find(|c| *c == name)
        .unwrap_or("claim");
    let present = token
        .split('.')
        .nth(1)
        .and_then(|payload| URL_SAFE_NO_PAD.decode(payload).ok())
        .and_then(|bytes| serde_json::from_slice::<Map<String, Value>>(&bytes).ok())
        .is_some_and(|claims| claims.contains_key(name));
    if present {
        TokenRejection::InvalidClaim(name)
    } else {
        TokenRejection::MissingClaim(name)
    }
}

fn map_error(kind: &ErrorKind) -> TokenRejection {
    match kind {
        ErrorKind::ExpiredSignature => TokenRejection::Expired,
        ErrorKind::ImmatureSignature => TokenRejection::NotYetValid,
        ErrorKind::InvalidIssuer => TokenRejection::WrongIssuer,
        ErrorKind::InvalidAudience => TokenRejection::WrongAudience,
        ErrorKind::InvalidSubject => TokenRejection::InvalidClaim("sub"),
        ErrorKind::InvalidClaimFormat(name) => TokenRejection::InvalidClaim(
            REQUIRED_CLAIMS
                .into_iter()
                .chain(["nbf"])
                .find(|c| c == name)
                .unwrap_or("claim"),
        ),
        ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => {
            TokenRejection::AlgorithmNotAllowed
        }
        _ => TokenRejection::Malformed,
    }
}
