//! S3 object keys.

use super::DomainError;
use std::fmt;

/// An object key: 1 to 1024 bytes of UTF-8 without control characters.
///
/// S3 itself allows control characters but they break XML listings and browsers; `.`/`..`/`//`
/// segments are allowed here (S3 treats them literally) and restricted by upload profiles.
/// Rules: <https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html>
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey(String);

/// The longest key S3 accepts, in bytes of UTF-8.
pub(super) const MAX_KEY_BYTES: usize = 1024;

impl ObjectKey {
    /// Validates `key`.
    pub fn new(key: impl Into<String>) -> Result<Self, DomainError> {
        let key = key.into();
        if key.is_empty() {
            return Err(DomainError::ObjectKey("must not be empty"));
        }
        if key.len() > MAX_KEY_BYTES {
            return Err(DomainError::ObjectKey(
                "must be at most 1024 bytes of UTF-8",
            ));
        }
        if key.chars().any(char::is_control) {
            return Err(DomainError::ObjectKey(
                "must not contain control characters",
            ));
        }
        Ok(Self(key))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for ObjectKey {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_is_counted_in_bytes() {
        assert!(ObjectKey::new("a".repeat(1024)).is_ok());
        assert!(ObjectKey::new("a".repeat(1025)).is_err());
        // 342 three-byte characters = 1026 bytes
        assert!(ObjectKey::new("€".repeat(342)).is_err());
        assert!(ObjectKey::new("€".repeat(341)).is_ok());
    }

    #[test]
    fn rejects_empty_and_control_characters() {
        assert!(ObjectKey::new("").is_err());
        for bad in ["a\nb", "a\rb", "a\0b", "a\u{7f}b", "a\u{85}b", "tab\there"] {
            assert!(ObjectKey::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn keeps_literal_dots_and_slashes() {
        for ok in ["../x", "a//b", "/lead", "sp ace+plus~t", "ünï/cødé"] {
            assert_eq!(ObjectKey::new(ok).unwrap().as_str(), ok);
        }
    }
}
