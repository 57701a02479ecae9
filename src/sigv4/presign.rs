//! Presigned URLs (query-string authentication).
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html>

use super::{HttpMethod, QueryParams, S3Operation, SignedHeaders};
use crate::domain::{BucketName, Expiry, GrantId, ObjectKey};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// What to presign.
#[derive(Debug, Clone)]
pub struct PresignRequest {
    /// The operation (method and operation query parameters).
    pub operation: S3Operation,
    /// The bucket.
    pub bucket: BucketName,
    /// The object key.
    pub key: ObjectKey,
    /// Headers to sign; the client must send each with exactly this value.
    pub headers: SignedHeaders,
    /// Extra query parameters to sign (response overrides, version id...).
    pub query: QueryParams,
    /// The grant id, signed as the query parameter [`GrantId::QUERY_PARAM`] (replacing one of
    /// that name in `query`). It is read in place: no map entry, no string of its own.
    pub grant: Option<GrantId>,
    /// Requested lifetime (shortened to the credentials' expiry when they expire sooner).
    pub expires: Expiry,
}

impl PresignRequest {
    /// A request for `operation` on `bucket`/`key` with no extra headers or parameters.
    pub fn new(
        operation: S3Operation,
        bucket: BucketName,
        key: ObjectKey,
        expires: Expiry,
    ) -> Self {
        Self {
            operation,
            bucket,
            key,
            headers: SignedHeaders::new(),
            query: QueryParams::new(),
            grant: None,
            expires,
        }
    }
}

/// A presigned request, ready to hand to a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PresignedRequest {
    /// The HTTP method the client must use.
    pub method: HttpMethod,
    /// The full URL with the signature in the query string.
    pub url: String,
    /// Headers the client must send with exactly these values (`host` excluded), sorted by
    /// name: the request's, shared rather than copied. `content-length`, when signed, is the
    /// exact body size: HTTP clients and browsers derive the header from the body, so send a
    /// body of that size rather than setting it by hand.
    pub headers: SignedHeaders,
    /// When the signature was made.
    pub signed_at: DateTime<Utc>,
    /// When the URL stops working: the signing time plus `X-Amz-Expires`.
    pub expires_at: DateTime<Utc>,
}

/// The intermediate texts of one signature, which the known-answer and property tests compare
/// step by step with AWS's examples and with `aws-sigv4`.
///
/// The canonical request holds the query, session token included: its `Debug` shows only
/// lengths, so a trace that reaches a log reveals nothing.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningTrace {
    /// The canonical request.
    pub canonical_request: String,
    /// The string to sign.
    pub string_to_sign: String,
    /// The hex signature.
    pub signature: String,
}

impl std::fmt::Debug for SigningTrace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningTrace")
            .field(
                "canonical_request",
                &format_args!("[{} bytes]", self.canonical_request.len()),
            )
            .field(
                "string_to_sign",
                &format_args!("[{} bytes]", self.string_to_sign.len()),
            )
            .field("signature", &format_args!("[redacted]"))
            .finish()
    }
}
