//! Why a request was refused: one variant per rule. The HTTP layer maps each variant to its
//! stable code and status (`http::mapping`).

use crate::domain::Scope;

/// A refused request. The `Display` text is the human explanation; the HTTP layer picks the
/// stable code and status.
///
/// Messages never echo raw file names or paths (they may hold invisible or bidirectional
/// characters); they name the rule and the offending character by code point instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// No profile has this name.
    #[error("there is no upload profile named {0:?}")]
    UnknownProfile(String),
    /// The principal lacks the scope the operation needs.
    #[error("this operation needs the `{}` scope", .0.as_str())]
    InsufficientScope(Scope),
    /// The file name broke a rule.
    #[error("invalid filename: {0}")]
    InvalidFilename(String),
    /// The client path broke the path grammar.
    #[error("invalid path: {0}")]
    InvalidPath(String),
    /// A client path was given but the profile's key template has no `{{path}}`.
    #[error("the profile {0:?} does not accept a client path (its key template has no {{path}})")]
    PathNotAllowed(String),
    /// The content type did not parse.
    #[error("invalid content type: {0}")]
    InvalidContentType(String),
    /// The content type is not one the profile accepts.
    #[error("content type {content_type:?} is not allowed; allowed: {allowed}")]
    ContentTypeNotAllowed {
        /// The essence (`type/subtype`) that was refused.
        content_type: String,
        /// The profile's patterns, comma-separated.
        allowed: String,
    },
    /// A form upload needs a content type and the profile cannot derive one.
    #[error("a content type is required: {0}")]
    ContentTypeRequired(String),
    /// The declared size is outside the profile's range.
    #[error("size {size} bytes is outside the allowed range {min} to {max} bytes")]
    SizeOutOfRange {
        /// The declared size.
        size: u64,
        /// The smallest allowed size.
        min: u64,
        /// The largest allowed size.
        max: u64,
    },
    /// The upload method is not allowed by the profile.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// The storage backend cannot serve the upload method.
    #[error("{0}")]
    MethodNotSupported(String),
    /// A metadata key is not in the profile's list.
    #[error("metadata key {key:?} is not allowed; allowed: {allowed}")]
    MetadataNotAllowed {
        /// The refused key.
        key: String,
        /// The allowed keys, comma-separated (or `none`).
        allowed: String,
    },
    /// A metadata value (or the metadata as a whole) broke a rule.
    #[error("invalid metadata: {0}")]
    InvalidMetadata(String),
    /// The profile requires a checksum and none was given.
    #[error(
        "the profile {0:?} requires a checksum of the file: one of checksum_sha256, \
         checksum_crc32, checksum_crc32c, checksum_crc64nvme, checksum_sha1 or content_md5 \
         (base64 of the digest); for POST /v1/multipart, a checksum_algorithm (every part then \
         carries its checksum)"
    )]
    ChecksumRequired(String),
    /// A multipart checksum algorithm that is not SHA256, SHA1, CRC32 or CRC32C.
    #[error("checksum_algorithm must be SHA256, SHA1, CRC32 or CRC32C")]
    InvalidChecksumAlgorithm,
    /// A checksum did not decode, or several were given.
    #[error("invalid checksum: {0}")]
    InvalidChecksum(String),
    /// The checksum cannot be enforced for this upload: the method cannot bind it, or the
    /// backend does not verify the algorithm.
    #[error("{0}")]
    ChecksumNotSupported(String),
    /// The profile uses SSE-C and the request names no customer key.
    #[error(
        "the profile {0:?} encrypts with a key you provide (SSE-C): give sse_customer_key_md5, \
         the base64 MD5 of your 256-bit key, and send the key itself in the \
         x-amz-server-side-encryption-customer-key header"
    )]
    SseCustomerKeyRequired(String),
    /// A customer key was named for a profile without SSE-C.
    #[error("the profile {0:?} does not use SSE-C: leave out sse_customer_key_md5")]
    SseCustomerKeyNotAllowed(String),
    /// The customer key's MD5 did not decode.
    #[error("invalid sse_customer_key_md5: expected standard base64 of 16 bytes (the key's MD5)")]
    InvalidSseCustomerKeyMd5,
    /// The object key is malformed or too long.
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// A listing prefix is malformed.
    #[error("invalid prefix: {0}")]
    InvalidPrefix(String),
    /// The requested `Content-Disposition` is not allowed.
    #[error("{0}")]
    DispositionNotAllowed(String),
    /// A single PUT or POST cannot carry this size.
    #[error("{0} bytes is more than a single upload may carry (5 GiB); use POST /v1/multipart")]
    MultipartRequired(u64),
    /// The part size or the part count is outside S3's limits.
    #[error("{0}")]
    InvalidPartPlan(String),
    /// The key or prefix lies outside every namespace of the caller.
    #[error("the key is not in your namespace")]
    NotOwner,
    /// A form's `redirect` is malformed or of an origin the broker was not configured for.
    #[error("{0}")]
    RedirectNotAllowed(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_rule() {
        assert_eq!(
            PolicyError::InsufficientScope(Scope::Download).to_string(),
            "this operation needs the `download` scope"
        );
        assert_eq!(
            PolicyError::PathNotAllowed("avatars".into()).to_string(),
            "the profile \"avatars\" does not accept a client path (its key template has no {path})"
        );
    }
}
