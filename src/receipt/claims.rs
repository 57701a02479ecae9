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
