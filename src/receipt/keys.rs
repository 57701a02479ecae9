//! Receipt keys: one Ed25519 key signs, every configured key is published, so keys rotate by
//! `kid` (publish the next key, make it the signing one, keep the old one published while its
//! receipts matter).

use super::claims::ReceiptClaims;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use std::fmt;

/// A receipt key id: 1 to 64 of `A-Z a-z 0-9 . _ -`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptKeyId(String);

impl ReceiptKeyId {
    /// Validates a key id.
    pub fn new(id: &str) -> Result<Self, String> {
        let ok = (1..=64).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        ok.then(|| Self(id.to_owned()))
            .ok_or_else(|| format!("receipt key id {id:?} must be 1 to 64 of A-Z a-z 0-9 . _ -"))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One configured key: a private key (PKCS#8 PEM, as `openssl genpkey -algorithm ed25519`
/// writes it) or only a public key (32 bytes, base64url: the JWK's `x`).
pub enum ReceiptKeySpec {
    /// A key that can sign.
    Private(String),
    /// A key that is only published.
    Public(String),
}

struct Published {
    id: ReceiptKeyId,
    public: Vec<u8>,
}

/// The signing key and the published keys.
pub struct ReceiptKeys {
    signer: Ed25519KeyPair,
    /// `base64url({"alg":"EdDSA","typ":"JWT","kid":..}) + "."`, encoded once.
    header_b64: String,
    issuer: String,
    published: Vec<Published>,
}

impl fmt::Debug for ReceiptKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.published.iter().map(|k| k.id.as_str()).collect();
        f.debug_struct("ReceiptKeys")
            .field("issuer", &self.issuer)
            .field("ids", &ids)
            .finish_non_exhaustive()
    }
}

/// The DER inside the first PEM block of `pem`.
fn pem_der(pem: &str) -> Option<Vec<u8>> {
    let body: String = pem
        .lines()
        .map(str::trim)
        .skip_while(|l| !l.starts_with("-----BEGIN "))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END "))
        .collect();
    STANDARD.decode(body).ok()
}

/// A new Ed25519 private key as PKCS#8 PEM (`s3-broker dev`, `serve` without receipt keys,
/// tests).
///
/// The 32-byte seed comes from the operating system (`getrandom`), not from aws-lc's own
/// generator: its first use seeds a CPU-jitter entropy source that costs about 100 ms of CPU,
/// which `serve` paid before it could answer `/readyz`. An Ed25519 private key is its seed
/// ([RFC 8032, section 5.1.5](https://www.rfc-editor.org/rfc/rfc8032#section-5.1.5)).
pub fn generate_private_key_pem() -> String {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).expect("the operating system's random source failed");
    let doc = Ed25519KeyPair::from_seed_unchecked(&seed)
        .ok()
        .and_then(|pair| pair.to_pkcs8().ok())
        .expect("32 random bytes are an Ed25519 seed");
    seed.fill(0);
    let b64 = STANDARD.encode(doc.as_ref());
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect();
    format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    )
}

impl ReceiptKeys {
    /// Keys from `(id, spec)` pairs for `issuer`: the first signs and must hold a private
    /// key; all are published; ids are distinct.
    pub fn new(issuer: &str, keys: Vec<(ReceiptKeyId, ReceiptKeySpec)>) -> Result<Self, String> {
        let mut signer = None;
        let mut published: Vec<Published> = Vec::with_capacity(keys.len());
        for (i, (id, spec)) in keys.into_iter().enumerate() {
            if published.iter().any(|k| k.id == id) {
                return Err(format!("receipt key id {:?} is listed twice", id.as_str()));
            }
            let public = match spec {
                ReceiptKeySpec::Private(pem) => {
                    let pair = pem_der(&pem)
                        .and_then(|der| Ed25519KeyPair::from_pkcs8(&der).ok())
                        .ok_or_else(|| {
                            format!(
                                "receipt key {:?}: not an Ed25519 private key in PKCS#8 PEM \
                                 (openssl genpkey -algorithm ed25519)",
                                id.as_str()
                            )
                        })?;
                    let public = pair.public_key().as_ref().to_vec();
                    if i == 0 {
                        signer = Some(pair);
                    }
                    public
                }
                ReceiptKeySpec::Public(x) => URL_SAFE_NO_PAD
                    .decode(x.trim())
                    .ok()
                    .filter(|k| k.len() == 32)
                    .ok_or_else(|| {
                        format!(
                            "receipt key {:?}: public_key must be 32 bytes in base64url",
                            id.as_str()
                        )
                    })?,
            };
            published.push(Published { id, public });
        }
        let Some(signer) = signer else {
            return Err("the first receipt key signs and needs a private key".into());
        };
        let header =
            serde_json::json!({"alg": "EdDSA", "typ": "JWT", "kid": published[0].id.as_str()});
        let mut header_b64 = URL_SAFE_NO_PAD.encode(header.to_string());
        header_b64.push('.');
        Ok(Self {
            signer,
            header_b64,
            issuer: issuer.to_owned(),
            published,
        })
    }

    /// One random key that lives as long as the process (`kid` `ephemeral-<8 hex>`): its
    /// receipts verify against this process's JWKS only.
    pub fn ephemeral(issuer: &str) -> Self {
        let mut tag = [0u8; 4];
        getrandom::fill(&mut tag).expect("the operating system's random source failed");
        let id = ReceiptKeyId::new(&format!("ephemeral-{}", hex::encode(tag))).expect("valid");
        let spec = ReceiptKeySpec::Private(generate_private_key_pem());
        Self::new(issuer, vec![(id, spec)]).expect("a generated key is valid")
    }

    /// The `iss` of every receipt.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The id of the signing key.
    pub fn signing_kid(&self) -> &str {
        self.published[0].id.as_str()
    }

    /// The compact JWS of `claims`: `header.payload.signature`, each base64url.
    pub fn sign(&self, claims: &ReceiptClaims) -> String {
        let payload = serde_json::to_vec(claims).expect("claims always serialize");
        let mut out = String::with_capacity(self.header_b64.len() + payload.len() * 4 / 3 + 100);
        out.push_str(&self.header_b64);
        URL_SAFE_NO_PAD.encode_string(payload, &mut out);
        let signature = self.signer.sign(out.as_bytes());
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(signature.as_ref(), &mut out);
        out
    }

    /// The JWK Set of every published key (RFC 8037 2: `kty` `OKP`, `crv` `Ed25519`).
    pub fn jwks(&self) -> serde_json::Value {
        let keys: Vec<serde_json::Value> = self
            .published
            .iter()
            .map(|k| {
                serde_json::json!({
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "alg": "EdDSA",
                    "use": "sig",
                    "kid": k.id.as_str(),
                    "x": URL_SAFE_NO_PAD.encode(&k.public),
                })
            })
            .collect();
        serde_json::json!({ "keys": keys })
    }
}
