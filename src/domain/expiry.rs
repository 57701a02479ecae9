//! Lifetimes of presigned requests.

use super::DomainError;
use std::time::Duration;

/// How long a presigned URL or POST policy stays valid: 1 second to 7 days.
///
/// Limit: <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html>
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Expiry(u32);

impl Expiry {
    /// The longest lifetime SigV4 allows: 604,800 s.
    pub const MAX: Expiry = Expiry(604_800);

    /// Validates a lifetime in seconds.
    pub fn from_secs(secs: u64) -> Result<Self, DomainError> {
        if (1..=u64::from(Self::MAX.0)).contains(&secs) {
            Ok(Self(secs as u32))
        } else {
            Err(DomainError::Expiry(secs.to_string()))
        }
    }

    /// The lifetime in seconds.
    pub fn as_secs(self) -> u32 {
        self.0
    }

    /// The lifetime as a [`Duration`].
    pub fn as_duration(self) -> Duration {
        Duration::from_secs(u64::from(self.0))
    }
}

impl std::str::FromStr for Expiry {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let secs = s
            .trim()
            .parse::<u64>()
            .map_err(|_| DomainError::Expiry(s.to_owned()))?;
        Self::from_secs(secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds() {
        assert!(Expiry::from_secs(0).is_err());
        assert!(Expiry::from_secs(1).is_ok());
        assert!(Expiry::from_secs(604_800).is_ok());
        assert!(Expiry::from_secs(604_801).is_err());
        assert!(Expiry::from_secs(u64::MAX).is_err());
    }
}
