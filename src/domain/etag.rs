//! Entity tags: what S3 answers an uploaded part with, and what completing a multipart upload
//! names each part by.
//!
//! See <https://www.rfc-editor.org/rfc/rfc9110#name-etag> and
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompletedPart.html>.

use super::DomainError;
use std::fmt;

/// An entity tag in the quoted form S3 returns (`"abc"`). Clients send it quoted (Uppy 5,
/// most SDKs) or bare (Uppy 6 strips the quotes); both parse to the same tag, so tags compare
/// equal whichever way they came in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ETag(String);

impl ETag {
    /// The longest tag accepted, without its quotes.
    pub const MAX_LEN: usize = 1024;

    /// Parses `"abc"` or `abc`: 1 to [`Self::MAX_LEN`] bytes between the quotes, no quote or
    /// control character.
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        let bare = text
            .strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .unwrap_or(text);
        if bare.is_empty() {
            return Err(DomainError::ETag("must not be empty"));
        }
        if bare.len() > Self::MAX_LEN {
            return Err(DomainError::ETag("must be at most 1024 bytes"));
        }
        if bare.chars().any(|c| c.is_control() || c == '"') {
            return Err(DomainError::ETag(
                "must not contain quotes or control characters",
            ));
        }
        Ok(Self(format!("\"{bare}\"")))
    }

    /// The tag, quoted.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ETag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quoted(text: &str) -> Option<String> {
        ETag::parse(text).ok().map(|e| e.as_str().to_owned())
    }

    #[test]
    fn quoted_or_bare_parse_to_the_quoted_tag() {
        assert_eq!(quoted("abc").as_deref(), Some("\"abc\""));
        assert_eq!(quoted("\"abc\"").as_deref(), Some("\"abc\""));
        assert_eq!(ETag::parse("abc"), ETag::parse("\"abc\""));
        assert_eq!(quoted("\"abc-3\"").as_deref(), Some("\"abc-3\""));
    }

    #[test]
    fn empty_overlong_and_control_characters_are_refused() {
        assert_eq!(quoted(""), None);
        assert_eq!(quoted("\"\""), None);
        assert_eq!(quoted("a\nb"), None);
        assert_eq!(quoted("a\"b"), None);
        assert!(quoted(&"a".repeat(ETag::MAX_LEN)).is_some());
        assert_eq!(quoted(&"a".repeat(ETag::MAX_LEN + 1)), None);
    }

    #[test]
    fn a_lone_quote_is_kept_and_refused() {
        // `"abc` is not a quoted tag, and a quote cannot sit inside one.
        assert_eq!(quoted("\"abc"), None);
    }
}
