//! Why a request was refused: one variant per rule, each with a stable code and HTTP status.

use crate::domain::Scope;

/// A refused request. [`PolicyError::code`] is the stable `code` of the problem document and
/// [`PolicyError::status`] its HTTP status; the `Display` text is the human explanation.
///
/// Messages never echo raw file names or paths (they may hold invisible or bidirectional
/// characters); they name the rule and the offending character by code point instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// No profile has this name (404 `unknown_profile`).
    #[error("there is no upload profile named {0:?}")]
    UnknownProfile(String),
    /// The principal lacks the scope the operation needs (403 `insufficient_scope`).
    #[error("this operation needs the `{}` scope", .0.as_str())]
    InsufficientScope(Scope),
    /// The file name broke a rule (400 `invalid_filename`).
    #[error("invalid filename: {0}")]
    InvalidFilename(String),
    /// The client path broke the path grammar (400 `invalid_path`).
    #[error("invalid path: {0}")]
    InvalidPath(String),
    /// A client path was given but the profile's key template has no `{{path}}`
    /// (400 `path_not_allowed`).
    #[error("the profile {0:?} does not accept a client path (its key template has no {{path}})")]
    PathNotAllowed(String),
    /// The content type did not parse (400 `invalid_content_type`).
    #[error("invalid content type: {0}")]
    InvalidContentType(String),
    /// The content type is not one the profile accepts (400 `content_type_not_allowed`).
    #[error("content type {content_type:?} is not allowed; allowed: {allowed}")]
    ContentTypeNotAllowed {
        /// The essence (`type/subtype`) that was refused.
        content_type: String,
        /// The profile's patterns, comma-separated.
        allowed: String,
    },
    /// A form upload needs a content type and the profile cannot derive one
    /// (400 `content_type_required`).
    #[error("a content type is required: {0}")]
    ContentTypeRequired(String),
    /// The declared size is outside the profile's range (400 `size_out_of_range`).
    #[error("size {size} bytes is outside the allowed range {min} to {max} bytes")]
    SizeOutOfRange {
        /// The declared size.
        size: u64,
        /// The smallest allowed size.
        min: u64,
        /// The largest allowed size.
        max: u64,
    },
    /// The upload method is not allowed by the profile (400 `method_not_allowed`).
    #[error("{0}")]
    MethodNotAllowed(String),
    /// The storage backend cannot serve the upload method (400 `method_not_supported`).
    #[error("{0}")]
    MethodNotSupported(String),
    /// A metadata key is not in the profile's list (400 `metadata_not_allowed`).
    #[error("metadata key {key:?} is not allowed; allowed: {allowed}")]
    MetadataNotAllowed {
        /// The refused key.
        key: String,
        /// The allowed keys, comma-separated (or `none`).
        allowed: String,
    },
    /// A metadata value (or the metadata as a whole) broke a rule (400 `invalid_metadata`).
    #[error("invalid metadata: {0}")]
    InvalidMetadata(String),
    /// The profile requires a checksum and none was given (400 `checksum_required`).
    #[error(
        "the profile {0:?} requires a checksum of the file: one of checksum_sha256, \
         checksum_crc32, checksum_crc32c, checksum_crc64nvme, checksum_sha1 or content_md5 \
         (base64 of the digest); for POST /v1/multipart, a checksum_algorithm (every part then \
         carries its checksum)"
    )]
    ChecksumRequired(String),
    /// A multipart checksum algorithm that is not SHA256, SHA1, CRC32 or CRC32C
    /// (400 `invalid_checksum_algorithm`).
    #[error("checksum_algorithm must be SHA256, SHA1, CRC32 or CRC32C")]
    InvalidChecksumAlgorithm,
    /// A checksum did not decode, or several were given (400 `invalid_checksum`).
    #[error("invalid checksum: {0}")]
    InvalidChecksum(String),
    /// The checksum cannot be enforced for this upload: the method cannot bind it, or the
    /// backend does not verify the algorithm (400 `checksum_not_supported`).
    #[error("{0}")]
    ChecksumNotSupported(String),
    /// The profile uses SSE-C and the request names no customer key
    /// (400 `sse_customer_key_required`).
    #[error(
        "the profile {0:?} encrypts with a key you provide (SSE-C): give sse_customer_key_md5, \
         the base64 MD5 of your 256-bit key, and send the key itself in the \
         x-amz-server-side-encryption-customer-key header"
    )]
    SseCustomerKeyRequired(String),
    /// A customer key was named for a profile without SSE-C
    /// (400 `sse_customer_key_not_allowed`).
    #[error("the profile {0:?} does not use SSE-C: leave out sse_customer_key_md5")]
    SseCustomerKeyNotAllowed(String),
    /// The customer key's MD5 did not decode (400 `invalid_sse_customer_key_md5`).
    #[error("invalid sse_customer_key_md5: expected standard base64 of 16 bytes (the key's MD5)")]
    InvalidSseCustomerKeyMd5,
    /// The object key is malformed or too long (400 `invalid_key`).
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// A listing prefix is malformed (400 `invalid_prefix`).
    #[error("invalid prefix: {0}")]
    InvalidPrefix(String),
    /// The requested `Content-Disposition` is not allowed (400 `disposition_not_allowed`).
    #[error("{0}")]
    DispositionNotAllowed(String),
    /// A single PUT or POST cannot carry this size (400 `multipart_required`).
    #[error("{0} bytes is more than a single upload may carry (5 GiB); use POST /v1/multipart")]
    MultipartRequired(u64),
    /// The part size or the part count is outside S3's limits (400 `invalid_part_size`).
    #[error("{0}")]
    InvalidPartPlan(String),
    /// The key or prefix lies outside every namespace of the caller (403 `not_owner`).
    #[error("the key is not in your namespace")]
    NotOwner,
}

impl PolicyError {
    /// The stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownProfile(_) => "unknown_profile",
            Self::InsufficientScope(_) => "insufficient_scope",
            Self::InvalidFilename(_) => "invalid_filename",
            Self::InvalidPath(_) => "invalid_path",
            Self::PathNotAllowed(_) => "path_not_allowed",
            Self::InvalidContentType(_) => "invalid_content_type",
            Self::ContentTypeNotAllowed { .. } => "content_type_not_allowed",
            Self::ContentTypeRequired(_) => "content_type_required",
            Self::SizeOutOfRange { .. } => "size_out_of_range",
            Self::MethodNotAllowed(_) => "method_not_allowed",
            Self::MethodNotSupported(_) => "method_not_supported",
            Self::MetadataNotAllowed { .. } => "metadata_not_allowed",
            Self::InvalidMetadata(_) => "invalid_metadata",
            Self::ChecksumRequired(_) => "checksum_required",
            Self::InvalidChecksumAlgorithm => "invalid_checksum_algorithm",
            Self::InvalidChecksum(_) => "invalid_checksum",
            Self::ChecksumNotSupported(_) => "checksum_not_supported",
            Self::SseCustomerKeyRequired(_) => "sse_customer_key_required",
            Self::SseCustomerKeyNotAllowed(_) => "sse_customer_key_not_allowed",
            Self::InvalidSseCustomerKeyMd5 => "invalid_sse_customer_key_md5",
            Self::InvalidKey(_) => "invalid_key",
            Self::InvalidPrefix(_) => "invalid_prefix",
            Self::DispositionNotAllowed(_) => "disposition_not_allowed",
            Self::MultipartRequired(_) => "multipart_required",
            Self::InvalidPartPlan(_) => "invalid_part_size",
            Self::NotOwner => "not_owner",
        }
    }

    /// The HTTP status: 404 for an unknown profile, 403 for refusals of who the caller is
    /// (ownership, scope), 400 for everything wrong with the input.
    pub fn status(&self) -> u16 {
        match self {
            Self::UnknownProfile(_) => 404,
            Self::NotOwner | Self::InsufficientScope(_) => 403,
            _ => 400,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_statuses_are_stable() {
        assert_eq!(PolicyError::NotOwner.code(), "not_owner");
        assert_eq!(PolicyError::NotOwner.status(), 403);
        assert_eq!(PolicyError::UnknownProfile("x".into()).status(), 404);
        assert_eq!(PolicyError::InvalidPath("x".into()).status(), 400);
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
