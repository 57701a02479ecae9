//! Why a decision could not become a signable request, or a grant has no lifetime left.

use crate::domain::DomainError;
use crate::sigv4::SigningError;

/// A decided value the signer refuses. The policy validated every value, so this is a bug
/// (answered as an internal error and logged).
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A header the policy decided is not signable.
    #[error("the policy produced an unsignable header: {0}")]
    Header(#[from] DomainError),
    /// A query parameter the policy decided is not signable.
    #[error("the policy produced an unsignable query parameter: {0}")]
    Query(#[from] SigningError),
}

/// A grant would live less than a second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LifetimeError {
    /// The broker's credentials expire (minus the safety margin) too soon to sign.
    #[error("the broker's credentials expire too soon to sign")]
    CredentialsExpireTooSoon,
}
