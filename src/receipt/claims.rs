//! What a receipt says: who uploaded what, under which grant, and what S3 holds.

use serde::{Deserialize, Serialize};

/// The claims of a receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptClaims {
    /// The broker that checked the upload (`[receipts] issuer`).
    pub iss: String,
    /// The principal the upload was granted to (the token's subject).
    pub sub: String,
    /// When the broker checked the object (seconds since the epoch).
    pub iat: i64,
    /// The grant id: one per upload grant, the same in every receipt of that grant.
    pub jti: String,
    /// The profile that decided the grant.
    pub profile: String,
    /// The object as S3 holds it.
    pub object: ReceiptObject,
}

impl ReceiptClaims {
    /// The claims of the example receipt of `doc/api.md` (tests, benches, examples).
    pub fn example() -> Self {
        Self {
            iss: "https://uploads.example.com".into(),
            sub: "alice".into(),
            iat: 1_800_000_000,
            jti: "0b5c2b1e-6a0f-4f5e-9d43-3f1f0c9b8a11".into(),
            profile: "avatars".into(),
            object: ReceiptObject {
                bucket: "my-uploads".into(),
                key: "users/alice/0b5c2b1e-6a0f-4f5e-9d43-3f1f0c9b8a11-portrait.png".into(),
                size: 482_113,
                content_type: "image/png".into(),
                etag: "9b2cf535f27731c974343645a3985328".into(),
                version_id: None,
                checksum: Some("sha256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=".into()),
            },
        }
    }
}

/// The object a receipt vouches for, as S3 reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptObject {
    /// The bucket.
    pub bucket: String,
    /// The object key.
    pub key: String,
    /// The size in bytes.
    pub size: u64,
    /// The stored `Content-Type`.
    pub content_type: String,
    /// The ETag, without quotes.
    pub etag: String,
    /// The version id, on a versioned bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// The full-object checksum S3 reported or the grant bound, as `algorithm:base64`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
}
