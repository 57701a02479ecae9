//! The one error type of the signing layer.

use crate::domain::DomainError;
use chrono::{DateTime, Utc};

/// Why a request or policy could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigningError {
    /// An input value was invalid.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The credentials had expired at the signing time: anything signed would be dead.
    #[error("the credentials expired at {0}; refusing to sign with them")]
    CredentialsExpired(DateTime<Utc>),
    /// The signing time, or the end of the lifetime, is outside the years 0000 to 9999.
    #[error("cannot sign at {0}: SigV4 dates have four-digit years")]
    TimeOutOfRange(DateTime<Utc>),
    /// A query parameter name is reserved for SigV4 or already set by the operation.
    #[error("query parameter {0:?} is reserved or set by the operation")]
    ReservedQueryParam(String),
    /// A query parameter value contained control characters.
    #[error("query parameter {0:?} has control characters in its value")]
    QueryValue(String),
    /// A POST form field is invalid or reserved.
    #[error("form field {name:?}: {reason}")]
    FormField {
        /// The field name.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A `content-length-range` whose minimum exceeds its maximum or S3's 5 GiB limit.
    #[error("invalid size range {min}..={max}: need min <= max <= 5 GiB")]
    SizeRange {
        /// Smallest size.
        min: u64,
        /// Largest size.
        max: u64,
    },
}
