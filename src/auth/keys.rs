//! Verification keys: shared secrets, PEM public keys and JWKs, each bound to the configured
//! algorithms it may verify, and the rule that picks candidate keys for a token.
//!
//! Every key is tied to the algorithms of its own family that are pinned in configuration, so a
//! token can never make the broker use an RSA public key as an HMAC secret (algorithm confusion,
//! [RFC 8725 §2.1 and §3.1](https://www.rfc-editor.org/rfc/rfc8725#section-3.1)).

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::{DecodeSliceError, Engine};
use hmac::{Hmac, Mac};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyOperations, PublicKeyUse};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};
use sha2::Sha256;

/// One key the broker may verify signatures with.
pub(crate) struct VerificationKey {
    /// The key id (`kid`), if the key has one.
    pub kid: Option<String>,
    /// The configured algorithms this key verifies (never empty).
    pub algorithms: Vec<Algorithm>,
    /// The key material.
    pub key: DecodingKey,
    /// For an HMAC secret with HS256 pinned: HMAC-SHA256 keyed with it, its inner and outer
    /// pads absorbed once, so each HS256 check hashes only the token (see
    /// [`VerificationKey::verify_hs256`]).
    hs256: Option<Hmac<Sha256>>,
}

impl fmt::Debug for VerificationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerificationKey")
            .field("kid", &self.kid)
            .field("algorithms", &self.algorithms)
            .finish_non_exhaustive()
    }
}

/// The minimum secret length for an HMAC algorithm: the hash output size
/// ([RFC 7518 §3.2](https://www.rfc-editor.org/rfc/rfc7518#section-3.2)).
pub(crate) fn hmac_min_len(alg: Algorithm) -> usize {
    match alg {
        Algorithm::HS384 => 48,
        Algorithm::HS512 => 64,
        _ => 32,
    }
}

impl VerificationKey {
    /// An HMAC secret usable with every pinned HS algorithm.
    pub(crate) fn hmac(kid: Option<String>, secret: &[u8], pinned: &[Algorithm]) -> Self {
        Self {
            kid,
            algorithms: in_family(pinned, AlgorithmFamily::Hmac),
            key: DecodingKey::from_secret(secret),
            hs256: pinned
                .contains(&Algorithm::HS256)
                .then(|| Hmac::<Sha256>::new_from_slice(secret).ok())
                .flatten(),
        }
    }

    /// The HS256 check of `signature` (base64url, no padding) over `message` with the
    /// pre-keyed HMAC, compared in constant time; `None` when this key has none (not an HMAC
    /// secret, or HS256 not pinned), and `Some(Err(()))` when the signature is not base64url.
    /// The same answer as `jsonwebtoken::crypto::verify` with HS256, without keying an HMAC
    /// per token ([RFC 7515 §A.1](https://www.rfc-editor.org/rfc/rfc7515#appendix-A.1)).
    pub(crate) fn verify_hs256(&self, signature: &str, message: &[u8]) -> Option<Result<bool, ()>> {
        let mac = self.hs256.as_ref()?;
        let mut decoded = [0u8; 64];
        let len = match URL_SAFE_NO_PAD.decode_slice(signature, &mut decoded) {
            Ok(len) => len,
            Err(DecodeSliceError::DecodeError(_)) => return Some(Err(())),
            // Longer than any HS256 signature: jsonwebtoken judges it (it does not verify).
            Err(DecodeSliceError::OutputSliceTooSmall) => return None,
        };
        let mut mac = mac.clone();
        mac.update(message);
        Some(Ok(mac.verify_slice(&decoded[..len]).is_ok()))
    }

    /// A PEM public key for exactly one algorithm, `alg`.
    pub(crate) fn from_pem(
        kid: Option<String>,
        alg: Algorithm,
        pem: &str,
    ) -> Result<Self, &'static str> {
        if pem.contains("PRIVATE KEY") {
            return Err("is a private key: configure the public key only");
        }
        let key = match alg.family() {
            AlgorithmFamily::Rsa => DecodingKey::from_rsa_pem(pem.as_bytes())
                .map_err(|_| "not an RSA public key in PEM")?,
            AlgorithmFamily::Ec => DecodingKey::from_ec_pem(pem.as_bytes())
                .map_err(|_| "not an EC public key in PEM")?,
            AlgorithmFamily::Ed => DecodingKey::from_ed_pem(pem.as_bytes())
                .map_err(|_| "not an Ed25519 public key in PEM")?,
            AlgorithmFamily::Hmac => return Err("HS algorithms take `hs_secrets`, not PEM keys"),
        };
        Ok(Self {
            kid,
            algorithms: vec![alg],
            key,
            hs256: None,
        })
    }

    /// A public signing key published in a JWK Set ([RFC 7517]), filtered by the rules of
    /// [RFC 7517 §4.2–4.4](https://www.rfc-editor.org/rfc/rfc7517#section-4.2): `use` must be
    /// absent or `sig`, `key_ops` absent or containing `verify`, `alg` absent or pinned. Symmetric
    /// (`oct`) keys are never taken from a JWKS.
    ///
    /// [RFC 7517]: https://www.rfc-editor.org/rfc/rfc7517
    pub(crate) fn from_jwk(jwk: &Jwk, pinned: &[Algorithm]) -> Result<Self, &'static str> {
        if let Some(usage) = &jwk.common.public_key_use
            && *usage != PublicKeyUse::Signature
        {
            return Err("`use` is not `sig`");
        }
        if let Some(ops) = &jwk.common.key_operations
            && !ops.contains(&KeyOperations::Verify)
        {
            return Err("`key_ops` lacks `verify`");
        }
        let by_type: Vec<Algorithm> = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => in_family(pinned, AlgorithmFamily::Rsa),
            AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
                EllipticCurve::P256 => vec![Algorithm::ES256],
                EllipticCurve::P384 => vec![Algorithm::ES384],
                _ => Vec::new(),
            },
            AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => {
                vec![Algorithm::EdDSA]
            }
            AlgorithmParameters::OctetKeyPair(_) => Vec::new(),
            AlgorithmParameters::OctetKey(_) => return Err("symmetric keys are not accepted"),
        };
        let mut algorithms: Vec<Algorithm> =
            by_type.into_iter().filter(|a| pinned.contains(a)).collect();
        if let Some(declared) = jwk.common.key_algorithm {
            let declared = Algorithm::from_str(&declared.to_string())
                .map_err(|_| "`alg` is not a signature algorithm")?;
            algorithms.retain(|a| *a == declared);
        }
        if algorithms.is_empty() {
            return Err("no configured algorithm fits this key");
        }
        let key = DecodingKey::from_jwk(jwk).map_err(|_| "invalid key parameters")?;
        Ok(Self {
            kid: jwk.common.key_id.clone(),
            algorithms,
            key,
            hs256: None,
        })
    }

    /// Whether the key may verify a signature made with `alg`.
    pub(crate) fn verifies(&self, alg: Algorithm) -> bool {
        self.algorithms.contains(&alg)
    }
}

/// The pinned algorithms of one family.
pub(crate) fn in_family(pinned: &[Algorithm], family: AlgorithmFamily) -> Vec<Algorithm> {
    pinned
        .iter()
        .copied()
        .filter(|a| a.family() == family)
        .collect()
}

/// An immutable set of keys.
#[derive(Debug, Default)]
pub(crate) struct KeySet {
    keys: Vec<Arc<VerificationKey>>,
}

impl KeySet {
    /// A set of `keys`.
    pub(crate) fn new(keys: Vec<VerificationKey>) -> Self {
        Self {
            keys: keys.into_iter().map(Arc::new).collect(),
        }
    }

    /// How many keys the set holds.
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether `key` is one of this set's keys (the same key, not an equal one).
    pub(crate) fn contains(&self, key: &Arc<VerificationKey>) -> bool {
        self.keys.iter().any(|k| Arc::ptr_eq(k, key))
    }

    /// Keys for `alg` whose `kid` is exactly `kid`.
    pub(crate) fn with_kid<'a>(
        &'a self,
        alg: Algorithm,
        kid: &'a str,
    ) -> impl Iterator<Item = &'a Arc<VerificationKey>> + 'a {
        self.keys
            .iter()
            .filter(move |k| k.verifies(alg) && k.kid.as_deref() == Some(kid))
    }

    /// Keys for `alg` that have no `kid`.
    pub(crate) fn without_kid(
        &self,
        alg: Algorithm,
    ) -> impl Iterator<Item = &Arc<VerificationKey>> {
        self.keys
            .iter()
            .filter(move |k| k.verifies(alg) && k.kid.is_none())
    }

    /// Every key for `alg`.
    pub(crate) fn for_alg(&self, alg: Algorithm) -> impl Iterator<Item = &Arc<VerificationKey>> {
        self.keys.iter().filter(move |k| k.verifies(alg))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwk(value: serde_json::Value) -> Jwk {
        serde_json::from_value(value).expect("test JWK")
    }

    /// The pre-keyed HS256 check answers as `jsonwebtoken::crypto::verify` does: true, false,
    /// or an error (not base64url), for good, altered, short, long and garbled signatures.
    #[test]
    fn pre_keyed_hs256_agrees_with_jsonwebtoken() {
        let secret = b"a-test-secret-of-at-least-32-bytes-0123";
        let key = VerificationKey::hmac(None, secret, &[Algorithm::HS256, Algorithm::HS512]);
        let message = b"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0";
        let good = jsonwebtoken::crypto::sign(
            message,
            &jsonwebtoken::EncodingKey::from_secret(secret),
            Algorithm::HS256,
        )
        .unwrap();
        let mut altered = good.clone().into_bytes();
        altered[3] = if altered[3] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).unwrap();
        for signature in [
            good.as_str(),
            altered.as_str(),
            &good[..20],
            "",
            &"A".repeat(86),
            &"A".repeat(120),
            "not*base64",
            "AAA=",
        ] {
            let theirs =
                jsonwebtoken::crypto::verify(signature, message, &key.key, Algorithm::HS256)
                    .map_err(|_| ());
            match key.verify_hs256(signature, message) {
                Some(ours) => assert_eq!(ours, theirs, "{signature:?}"),
                None => assert!(signature.len() > 86, "{signature:?}"),
            }
        }
        assert_eq!(key.verify_hs256(&good, message), Some(Ok(true)));
        let hs512_only = VerificationKey::hmac(None, secret, &[Algorithm::HS512]);
        assert!(hs512_only.verify_hs256(&good, message).is_none());
    }

    const EC_X: &str = "2HLB7QQoWxGTGUTx5qnhHsFoSDK9eoZ5fuGVGPLmFGc";
    const EC_Y: &str = "6X4z-K-68tiUyxcZlvEmC1cEDmuB5NfesUxZWd1kZIQ";

    #[test]
    fn jwks_keys_follow_use_ops_and_alg() {
        let pinned = [Algorithm::ES256, Algorithm::RS256];
        let ok = jwk(serde_json::json!({"kty":"EC","crv":"P-256","x":EC_X,"y":EC_Y,"kid":"a"}));
        let key = VerificationKey::from_jwk(&ok, &pinned).expect("usable");
        assert_eq!(key.algorithms, [Algorithm::ES256]);
        assert_eq!(key.kid.as_deref(), Some("a"));

        let enc = jwk(serde_json::json!({"kty":"EC","crv":"P-256","x":EC_X,"y":EC_Y,"use":"enc"}));
        assert!(VerificationKey::from_jwk(&enc, &pinned).is_err());
        let sign_only =
            jwk(serde_json::json!({"kty":"EC","crv":"P-256","x":EC_X,"y":EC_Y,"key_ops":["sign"]}));
        assert!(VerificationKey::from_jwk(&sign_only, &pinned).is_err());
        let other_alg =
            jwk(serde_json::json!({"kty":"EC","crv":"P-256","x":EC_X,"y":EC_Y,"alg":"ES384"}));
        assert!(VerificationKey::from_jwk(&other_alg, &pinned).is_err());
        let oct = jwk(serde_json::json!({"kty":"oct","k":"c2VjcmV0"}));
        assert!(VerificationKey::from_jwk(&oct, &[Algorithm::HS256]).is_err());
        assert!(
            VerificationKey::from_jwk(&ok, &[Algorithm::RS256]).is_err(),
            "an EC key is useless when only RSA is pinned"
        );
    }

    #[test]
    fn pem_keys_refuse_private_keys_and_hmac() {
        let private = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert!(VerificationKey::from_pem(None, Algorithm::RS256, private).is_err());
        assert!(VerificationKey::from_pem(None, Algorithm::HS256, "x").is_err());
        assert!(VerificationKey::from_pem(None, Algorithm::ES256, "not pem").is_err());
    }

    #[test]
    fn selection_respects_kid_and_algorithm() {
        let pinned = [Algorithm::HS256];
        let set = KeySet::new(vec![
            VerificationKey::hmac(Some("k1".into()), &[1; 32], &pinned),
            VerificationKey::hmac(None, &[2; 32], &pinned),
        ]);
        assert_eq!(set.with_kid(Algorithm::HS256, "k1").count(), 1);
        assert_eq!(set.with_kid(Algorithm::HS256, "k2").count(), 0);
        assert_eq!(set.without_kid(Algorithm::HS256).count(), 1);
        assert_eq!(set.for_alg(Algorithm::HS256).count(), 2);
        assert_eq!(set.for_alg(Algorithm::RS256).count(), 0);
    }
}
