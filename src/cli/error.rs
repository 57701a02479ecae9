//! The one error type of the command line.

use crate::domain::DomainError;
use crate::sigv4::SigningError;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Arguments that parse but do not make sense together.
    #[error("{0}")]
    Usage(String),
    /// A value failed validation.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The signer refused.
    #[error(transparent)]
    Signing(#[from] SigningError),
    /// No credentials were found in the environment or the shared profile files.
    #[error(
        "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with ~/.aws/credentials"
    )]
    NoCredentials,
    /// A credentials provider failed (a broken profile, a failing credential_process...).
    #[error("could not load AWS credentials: {0}")]
    CredentialsProvider(String),
    /// A URL given to `explain` is not a SigV4 presigned URL.
    #[error("not a SigV4 presigned S3 URL: {0}")]
    NotPresigned(String),
    /// The service could not start.
    #[error("cannot start: {0}")]
    Startup(String),
    /// A receipt did not verify, or its JWK Set could not be read.
    #[error("{0}")]
    Receipt(String),
    /// Local I/O failed (the async runtime could not start, or output failed).
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl CliError {
    /// 2 for usage errors (as clap uses), 1 for everything else.
    pub fn exit_status(&self) -> u8 {
        match self {
            Self::Usage(_) | Self::Domain(_) => 2,
            Self::Signing(SigningError::CredentialsExpired(_)) => 1,
            Self::Signing(_) => 2,
            _ => 1,
        }
    }
}
