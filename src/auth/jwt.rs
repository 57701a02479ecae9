//! Bearer-token verification: header inspection, key selection (static keys and the JWKS
//! cache), signature verification with `jsonwebtoken`'s crypto, then the strict claim checks of
//! [`claims`](super::claims).
//!
//! The validation rules follow [RFC 7519 §7.2](https://www.rfc-editor.org/rfc/rfc7519#section-7.2)
//! and the best current practices of [RFC 8725](https://www.rfc-editor.org/rfc/rfc8725):
//! algorithms pinned from configuration, `exp`, `iss`, `aud` and `sub` required, `iss` and `aud`
//! checked, keys only from configuration.
//!
//! Each part of the token is decoded and parsed once: the header into the few parameters the
//! checks read, the signature by `jsonwebtoken::crypto::verify`, the payload into typed claims
//! borrowing its strings. Tokens that verified are remembered by digest
//! ([`VerifiedTokens`]) until their `exp`.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, AlgorithmFamily};

use crate::domain::Principal;

use super::claims::{self, ClaimRules};
use super::error::TokenRejection;
use super::header::{self, Parts};
use super::jwks::JwksCache;
use super::keys::{KeySet, VerificationKey};
use super::validate::JwtSettings;
use super::verified::{self, Lookup, Verified, VerifiedTokens};

/// The most keys one token is tried against (tokens without `kid`, or shared `kid`s).
const MAX_CANDIDATES: usize = 8;

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
    /// Verified tokens; `None` when `auth.verified_token_cache = 0`.
    verified: Option<VerifiedTokens>,
}

/// The keys a token may have been signed with, and the JWKS key set at the time (if any).
struct Candidates {
    keys: Vec<Arc<VerificationKey>>,
    published: Option<Arc<KeySet>>,
}

/// What the verified-token cache said of a token before any waiting
/// ([`JwtVerifier::remembered`]).
pub(super) enum Remembered {
    /// Accepted before with a configured key or secret and still valid: its principal.
    Hit(Principal),
    /// To be verified, or its entry checked against the current JWKS key set; the cache lookup
    /// made, if the token may be cached.
    Verify(Option<CacheLookup>),
}

/// A cacheable token's digest and what the cache found for it.
pub(super) struct CacheLookup {
    digest: verified::TokenDigest,
    /// An entry verified with a JWKS key: usable if its key set is still the current one.
    needs_key_set: bool,
}

impl JwtVerifier {
    /// A verifier for validated settings.
    pub(super) fn new(settings: JwtSettings, jwks: Option<JwksCache>) -> Self {
        Self {
            issuer: settings.issuer,
            audience: settings.audience,
            algorithms: settings.algorithms,
            leeway_secs: settings.leeway_secs,
            scope_claim: settings.scope_claim,
            static_keys: KeySet::new(settings.static_keys),
            jwks,
            verified: VerifiedTokens::new(settings.verified_token_cache),
        }
    }

    /// The JWKS cache, when one is configured.
    pub(super) fn jwks(&self) -> Option<&JwksCache> {
        self.jwks.as_ref()
    }

    /// The cached outcome of `token` at `now`, if it needs nothing to wait for: a token accepted
    /// before with a configured key or secret. A hash and one locked lookup, without a future,
    /// so that the common case of a reused token keeps no verification state in its caller.
    ///
    /// Looked up before the header is read: a hit is a token accepted before in these exact
    /// bytes, whose header passed the checks of this configuration then (only a restart changes
    /// them); a token over the length limit is never cached.
    pub(super) fn remembered(&self, token: &str, now: DateTime<Utc>) -> Remembered {
        let Some(cache) = self
            .verified
            .as_ref()
            .filter(|_| token.len() <= header::MAX_TOKEN_LEN)
        else {
            return Remembered::Verify(None);
        };
        let digest = verified::digest(token);
        match cache.lookup(&digest, now, self.leeway_secs) {
            Lookup::Hit(principal) => Remembered::Hit(principal),
            Lookup::Miss => Remembered::Verify(Some(CacheLookup {
                digest,
                needs_key_set: false,
            })),
            Lookup::NeedsKeySet => Remembered::Verify(Some(CacheLookup {
                digest,
                needs_key_set: true,
            })),
        }
    }

    /// The principal of a valid `token` at `now` that [`JwtVerifier::remembered`] did not
    /// answer: an entry of a JWKS key is served if its key set is still the current one;
    /// otherwise the token is verified, and remembered when `lookup` says it may be.
    pub(super) async fn verify_unremembered(
        &self,
        token: &str,
        lookup: Option<CacheLookup>,
        now: DateTime<Utc>,
    ) -> Result<Principal, TokenRejection> {
        let cache = self.verified.as_ref().zip(lookup);
        if let Some((cache, lookup)) = &cache
            && lookup.needs_key_set
        {
            let current = match &self.jwks {
                Some(jwks) => Some(jwks.current(now).await),
                None => None,
            };
            if let Some(principal) =
                cache.get(&lookup.digest, now, self.leeway_secs, current.as_ref())
            {
                return Ok(principal);
            }
        }
        let (header, parts) = header::inspect_parts(token, &self.algorithms)?;
        let candidates = self
            .candidates(header.alg, header.kid.as_deref(), now)
            .await?;
        if header.unusual {
            header::check_full(token)?;
        }
        let key = verify_signature(parts, header.alg, &candidates.keys)?;
        let payload = URL_SAFE_NO_PAD
            .decode(parts.payload)
            .map_err(|_| TokenRejection::Malformed)?;
        let claims = claims::parse(&payload, &self.scope_claim)?;
        let rules = ClaimRules {
            issuer: &self.issuer,
            audience: &self.audience,
            leeway_secs: self.leeway_secs,
        };
        let (principal, validity) = claims::check(&claims, &rules, now)?;
        // A token inside its expiry leeway passed, but a cached entry is served only before
        // `exp`: caching it would only evict a live entry.
        let servable = (now.timestamp() as f64) < validity.exp;
        if let Some((cache, lookup)) = cache.filter(|_| servable) {
            let key_set = candidates
                .published
                .as_ref()
                .filter(|set| set.contains(key))
                .map(Arc::downgrade);
            let verified = Verified {
                principal: principal.clone(),
                validity,
                key_set,
            };
            cache.insert(lookup.digest, verified);
        }
        Ok(principal)
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
    ) -> Result<Candidates, TokenRejection> {
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
        Ok(Candidates {
            keys: found,
            published,
        })
    }
}

/// The first candidate key the signature verifies with.
///
/// A key that cannot check this signature (wrong type) counts as a failed check; a signature
/// that is not base64url is malformed.
fn verify_signature<'k>(
    parts: Parts<'_>,
    alg: Algorithm,
    candidates: &'k [Arc<VerificationKey>],
) -> Result<&'k Arc<VerificationKey>, TokenRejection> {
    for key in candidates {
        let message = parts.message.as_bytes();
        let checked = match (alg, key.verify_hs256(parts.signature, message)) {
            (Algorithm::HS256, Some(Ok(valid))) => Ok(valid),
            (Algorithm::HS256, Some(Err(()))) => return Err(TokenRejection::Malformed),
            _ => jsonwebtoken::crypto::verify(parts.signature, message, &key.key, alg),
        };
        match checked {
            Ok(true) => return Ok(key),
            Ok(false) => {}
            Err(error) => match error.kind() {
                ErrorKind::InvalidSignature
                | ErrorKind::InvalidAlgorithm
                | ErrorKind::InvalidKeyFormat
                | ErrorKind::InvalidEcdsaKey
                | ErrorKind::InvalidEddsaKey
                | ErrorKind::InvalidRsaKey(_) => {}
                _ => return Err(TokenRejection::Malformed),
            },
        }
    }
    Err(TokenRejection::BadSignature)
}
