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
        if has_control(&key) {
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

/// Whether `key` holds a control character (`char::is_control`: U+0000 to U+001F and U+007F
/// to U+009F). The first two ranges are single bytes in UTF-8, found by a byte scan that
/// vectorizes; U+0080 to U+009F start with the byte 0xC2, so keys without it (nearly all)
/// are not decoded char by char.
fn has_control(key: &str) -> bool {
    let bytes = key.as_bytes();
    bytes
        .iter()
        .fold(false, |any, &b| any | (b < 0x20) | (b == 0x7f))
        || (bytes.contains(&0xc2) && key.chars().any(char::is_control))
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
    fn control_characters_are_found_as_char_is_control_finds_them() {
        let mut texts: Vec<String> = [
            "a/b.txt", "\u{0}", "a\u{1f}", "\u{7f}x", "\u{80}", "\u{85}", "\u{9f}", "\u{a0}",
            "\u{a2}", "\u{c2}", "é/ü", "日本", "\u{2028}", "😀",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        // Every char from U+0000 to U+0800, alone and between ASCII letters.
        texts.extend(
            (0..0x800)
                .filter_map(char::from_u32)
                .flat_map(|c| [c.to_string(), format!("a{c}b")]),
        );
        for text in texts {
            assert_eq!(
                has_control(&text),
                text.chars().any(char::is_control),
                "{text:?}"
            );
        }
    }

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
