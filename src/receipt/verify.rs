//! Offline verification of a receipt against a JWK Set: what an application backend does,
//! and what `s3-broker receipt verify` does, with `jsonwebtoken`'s independent code path.

use super::claims::ReceiptClaims;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};

/// Why a receipt is not accepted.
#[derive(Debug, thiserror::Error)]
pub enum ReceiptVerifyError {
    /// The JWK Set is not one.
    #[error("the JWK Set is invalid: {0}")]
    Jwks(String),
    /// Not a compact JWS, or not `alg: EdDSA` with a `kid`.
    #[error("not a receipt: {0}")]
    Malformed(String),
    /// No published key has the receipt's `kid`.
    #[error("no key {0:?} in the JWK Set")]
    UnknownKey(String),
    /// The signature or the claims do not hold.
    #[error("the receipt does not verify: {0}")]
    Invalid(String),
}

/// The claims of `jws` if it is signed by a key of `jwks` (JSON text) with `EdDSA`, and, when
/// `issuer` is given, issued by it.
pub fn verify_receipt(
    jws: &str,
    jwks: &str,
    issuer: Option<&str>,
) -> Result<ReceiptClaims, ReceiptVerifyError> {
    let set: JwkSet =
        serde_json::from_str(jwks).map_err(|e| ReceiptVerifyError::Jwks(e.to_string()))?;
    let header =
        decode_header(jws.trim()).map_err(|e| ReceiptVerifyError::Malformed(e.to_string()))?;
    if header.alg != Algorithm::EdDSA {
        return Err(ReceiptVerifyError::Malformed(format!(
            "alg {:?}, expected EdDSA",
            header.alg
        )));
    }
    let kid = header
        .kid
        .ok_or_else(|| ReceiptVerifyError::Malformed("no kid in the header".into()))?;
    let jwk = set
        .find(&kid)
        .ok_or_else(|| ReceiptVerifyError::UnknownKey(kid.clone()))?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| ReceiptVerifyError::Jwks(e.to_string()))?;
    let mut validation = Validation::new(Algorithm::EdDSA);
    // A receipt records a fact; it does not expire.
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    if let Some(iss) = issuer {
        validation.set_issuer(&[iss]);
        validation.required_spec_claims.insert("iss".into());
    }
    decode::<ReceiptClaims>(jws.trim(), &key, &validation)
        .map(|data| data.claims)
        .map_err(|e| ReceiptVerifyError::Invalid(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::receipt::{
        ReceiptKeyId, ReceiptKeySpec, ReceiptKeys, ReceiptObject, generate_private_key_pem,
    };

    fn claims() -> ReceiptClaims {
        ReceiptClaims {
            iss: "https://broker.example".into(),
            sub: "alice".into(),
            iat: 1_800_000_000,
            jti: "0b5c2b1e-6a0f-4f5e-9d43-3f1f0c9b8a11".into(),
            profile: "avatars".into(),
            object: ReceiptObject {
                bucket: "uploads".into(),
                key: "users/alice/a.png".into(),
                size: 1020,
                content_type: "image/png".into(),
                etag: "d41d8cd98f00b204e9800998ecf8427e".into(),
                version_id: None,
                checksum: Some("sha256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=".into()),
            },
        }
    }

    fn keys(ids: &[&str]) -> (ReceiptKeys, Vec<String>) {
        let pems: Vec<String> = ids.iter().map(|_| generate_private_key_pem()).collect();
        let specs = ids
            .iter()
            .zip(&pems)
            .map(|(id, pem)| {
                (
                    ReceiptKeyId::new(id).unwrap(),
                    ReceiptKeySpec::Private(pem.clone()),
                )
            })
            .collect();
        (
            ReceiptKeys::new("https://broker.example", specs).unwrap(),
            pems,
        )
    }

    #[test]
    fn a_signed_receipt_verifies_against_the_published_keys() {
        let (k, _) = keys(&["2026-12", "2026-06"]);
        let jws = k.sign(&claims());
        let jwks = k.jwks().to_string();
        assert_eq!(
            verify_receipt(&jws, &jwks, Some("https://broker.example")).unwrap(),
            claims()
        );
        assert!(matches!(
            verify_receipt(&jws, &jwks, Some("https://other.example")),
            Err(ReceiptVerifyError::Invalid(_))
        ));
        let header = decode_header(&jws).unwrap();
        assert_eq!(header.kid.as_deref(), Some("2026-12"));
        assert_eq!(k.jwks()["keys"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn altered_or_foreign_receipts_are_refused() {
        let (k, _) = keys(&["a"]);
        let (other, _) = keys(&["a"]);
        let jws = k.sign(&claims());
        let jwks = k.jwks().to_string();
        assert!(verify_receipt(&other.sign(&claims()), &jwks, None).is_err());
        let mut parts: Vec<String> = jws.split('.').map(str::to_owned).collect();
        let mut tampered = claims();
        tampered.object.size = 1;
        parts[1] = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            serde_json::to_vec(&tampered).unwrap(),
        );
        assert!(verify_receipt(&parts.join("."), &jwks, None).is_err());
        let (unknown, _) = keys(&["b"]);
        assert!(matches!(
            verify_receipt(&unknown.sign(&claims()), &jwks, None),
            Err(ReceiptVerifyError::UnknownKey(_))
        ));
    }

    #[test]
    fn rotation_publishes_public_only_keys() {
        let (old, _) = keys(&["old"]);
        let old_x = old.jwks()["keys"][0]["x"].as_str().unwrap().to_owned();
        let rotated = ReceiptKeys::new(
            "https://broker.example",
            vec![
                (
                    ReceiptKeyId::new("new").unwrap(),
                    ReceiptKeySpec::Private(generate_private_key_pem()),
                ),
                (
                    ReceiptKeyId::new("old").unwrap(),
                    ReceiptKeySpec::Public(old_x),
                ),
            ],
        )
        .unwrap();
        let jws = old.sign(&claims());
        assert!(verify_receipt(&jws, &rotated.jwks().to_string(), None).is_ok());
        assert_eq!(rotated.signing_kid(), "new");
    }

    #[test]
    fn bad_key_configurations_are_refused() {
        let id = |s: &str| ReceiptKeyId::new(s).unwrap();
        assert!(ReceiptKeys::new("i", vec![]).is_err());
        assert!(
            ReceiptKeys::new("i", vec![(id("a"), ReceiptKeySpec::Public("AAAA".into()))]).is_err()
        );
        assert!(
            ReceiptKeys::new("i", vec![(id("a"), ReceiptKeySpec::Private("nope".into()))]).is_err()
        );
        let pem = generate_private_key_pem();
        assert!(
            ReceiptKeys::new(
                "i",
                vec![
                    (id("a"), ReceiptKeySpec::Private(pem.clone())),
                    (id("a"), ReceiptKeySpec::Private(pem))
                ]
            )
            .is_err()
        );
        assert!(ReceiptKeyId::new("a/b").is_err());
        assert!(!format!("{:?}", keys(&["k"]).0).contains("PRIVATE"));
    }
}
