//! Identifiers of multipart uploads.

use super::DomainError;
use std::fmt;

/// A part number, 1 to 10,000.
///
/// Limits: <https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html>
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PartNumber(u16);

impl PartNumber {
    /// The highest part number S3 accepts.
    pub const MAX: u16 = 10_000;

    /// Validates a part number.
    pub fn new(n: u64) -> Result<Self, DomainError> {
        if (1..=u64::from(Self::MAX)).contains(&n) {
            Ok(Self(n as u16))
        } else {
            Err(DomainError::PartNumber(n))
        }
    }

    /// The number.
    pub fn get(self) -> u16 {
        self.0
    }
}

impl fmt::Display for PartNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An upload id as returned by CreateMultipartUpload: opaque, non-empty printable text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UploadId(String);

impl UploadId {
    /// Validates an upload id: 1 to 1024 bytes, no whitespace or control characters.
    pub fn new(id: impl Into<String>) -> Result<Self, DomainError> {
        let id = id.into();
        if id.is_empty() || id.len() > 1024 {
            return Err(DomainError::UploadId("must be 1 to 1024 bytes"));
        }
        if id.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(DomainError::UploadId(
                "must not contain whitespace or control characters",
            ));
        }
        Ok(Self(id))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UploadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds() {
        assert!(PartNumber::new(0).is_err());
        assert_eq!(PartNumber::new(1).unwrap().get(), 1);
        assert!(PartNumber::new(10_000).is_ok());
        assert!(PartNumber::new(10_001).is_err());
        assert!(UploadId::new("").is_err());
        assert!(UploadId::new("a b").is_err());
        assert!(UploadId::new("2~abc.DEF_ghi-+/=").is_ok());
    }
}
