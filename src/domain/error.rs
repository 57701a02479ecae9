//! The one error type of the domain layer: what was wrong with a value, in words a user can act on.

/// A value failed validation. Each variant names the kind of value and the rule it broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// An S3 bucket name broke a naming rule.
    #[error("invalid bucket name {name:?}: {reason}")]
    BucketName {
        /// The rejected name.
        name: String,
        /// The rule it broke.
        reason: &'static str,
    },
    /// An object key broke a rule.
    #[error("invalid object key: {0}")]
    ObjectKey(&'static str),
    /// A region name broke a rule.
    #[error("invalid region {0:?}: expected lowercase letters, digits and hyphens")]
    Region(String),
    /// An expiry was outside 1 s ..= 7 days.
    #[error("invalid expiry {0:?}: must be a whole number of seconds from 1 to 604800 (7 days)")]
    Expiry(String),
    /// A media type did not parse.
    #[error("invalid content type {value:?}: {reason}")]
    ContentType {
        /// The rejected value.
        value: String,
        /// The rule it broke.
        reason: &'static str,
    },
    /// A checksum did not decode to the algorithm's digest length.
    #[error("invalid {algorithm} checksum: {reason}")]
    Checksum {
        /// The algorithm, as S3 names it.
        algorithm: &'static str,
        /// The rule it broke.
        reason: &'static str,
    },
    /// An unknown checksum algorithm name.
    #[error("unknown checksum algorithm {0:?}: expected CRC32, CRC32C, CRC64NVME, SHA1 or SHA256")]
    ChecksumAlgorithm(String),
    /// A credential part broke a rule.
    #[error("invalid credentials: {0}")]
    Credentials(&'static str),
    /// An endpoint URL broke a rule.
    #[error("invalid endpoint {value:?}: {reason}")]
    Endpoint {
        /// The rejected endpoint.
        value: String,
        /// The rule it broke.
        reason: &'static str,
    },
    /// An HTTP header name or value broke a rule.
    #[error("invalid header {name:?}: {reason}")]
    Header {
        /// The header name as given.
        name: String,
        /// The rule it broke.
        reason: &'static str,
    },
    /// A multipart part number outside 1..=10000.
    #[error("invalid part number {0}: must be between 1 and 10000")]
    PartNumber(u64),
    /// An entity tag broke a rule.
    #[error("invalid ETag: {0}")]
    ETag(&'static str),
    /// A multipart upload id broke a rule.
    #[error("invalid upload id: {0}")]
    UploadId(&'static str),
}
