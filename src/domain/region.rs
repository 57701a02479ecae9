//! AWS region names (or the region name an S3-compatible store expects).

use super::DomainError;
use std::fmt;

/// A region such as `us-east-1`: 1 to 64 lowercase letters, digits and hyphens.
///
/// S3-compatible stores use free-form names (`garage`, `auto`), so no list of AWS regions is
/// enforced; the name becomes part of the credential scope.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Region(String);

impl Region {
    /// Validates `name`.
    pub fn new(name: impl Into<String>) -> Result<Self, DomainError> {
        let name = name.into();
        let ok = (1..=64).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !name.starts_with('-')
            && !name.ends_with('-');
        if ok {
            Ok(Self(name))
        } else {
            Err(DomainError::Region(name))
        }
    }

    /// The region as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The DNS suffix of AWS endpoints in this region's partition.
    pub fn aws_dns_suffix(&self) -> &'static str {
        if self.0.starts_with("cn-") {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        }
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Region {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_region_names() {
        assert!(Region::new("us-east-1").is_ok());
        assert!(Region::new("garage").is_ok());
        for bad in ["", "US-EAST-1", "us east", "-x", "x-", "us/east"] {
            assert!(Region::new(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Region::new("cn-north-1").unwrap().aws_dns_suffix(),
            "amazonaws.com.cn"
        );
    }
}
