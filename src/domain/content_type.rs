//! Media types for the `Content-Type` of uploaded objects.

use super::DomainError;
use std::fmt;

/// A media type such as `image/png` or `text/plain; charset=utf-8` (RFC 9110 §8.3.1).
///
/// The value is kept as given (minus surrounding whitespace) because S3 stores and compares it
/// byte for byte; [`ContentType::essence`] gives the lowercase `type/subtype` for policy checks.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContentType {
    value: String,
    essence: String,
}

/// Longest accepted media type, in bytes.
const MAX_LEN: usize = 255;

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token_byte)
}

fn is_quoted_string(s: &str) -> bool {
    let Some(inner) = s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) else {
        return false;
    };
    let mut escaped = false;
    for b in inner.bytes() {
        if escaped {
            escaped = false;
        } else if b == b'\\' {
            escaped = true;
        } else if b == b'"' {
            return false;
        }
    }
    !escaped
}

impl ContentType {
    /// Parses and validates a media type.
    pub fn new(value: impl Into<String>) -> Result<Self, DomainError> {
        let raw: String = value.into();
        let fail = |reason| {
            Err(DomainError::ContentType {
                value: raw.clone(),
                reason,
            })
        };
        let value = raw.trim();
        if value.len() > MAX_LEN {
            return fail("must be at most 255 bytes");
        }
        if value.bytes().any(|b| b.is_ascii_control() || !b.is_ascii()) {
            return fail("must be printable ASCII");
        }
        let mut parts = value.split(';');
        let essence = parts.next().unwrap_or_default().trim();
        let Some((kind, subtype)) = essence.split_once('/') else {
            return fail("expected type/subtype");
        };
        if !is_token(kind) || !is_token(subtype) {
            return fail("type and subtype must be HTTP tokens");
        }
        for param in parts {
            let Some((name, val)) = param.trim().split_once('=') else {
                return fail("parameters must be name=value");
            };
            if !is_token(name) || !(is_token(val) || is_quoted_string(val)) {
                return fail("parameter names must be tokens and values tokens or quoted strings");
            }
        }
        Ok(Self {
            essence: essence.to_ascii_lowercase(),
            value: value.to_owned(),
        })
    }

    /// The value exactly as it will be signed and sent.
    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// The lowercase `type/subtype`, without parameters.
    pub fn essence(&self) -> &str {
        &self.essence
    }
}

impl fmt::Display for ContentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}

impl std::str::FromStr for ContentType {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_media_types() {
        let ct = ContentType::new(" Text/Plain; charset=utf-8 ").unwrap();
        assert_eq!(ct.as_str(), "Text/Plain; charset=utf-8");
        assert_eq!(ct.essence(), "text/plain");
        assert!(ContentType::new("application/vnd.api+json").is_ok());
        assert!(ContentType::new("multipart/form-data; boundary=\"a b\"").is_ok());
    }

    #[test]
    fn rejects_malformed_media_types() {
        for bad in [
            "",
            "text",
            "text/",
            "/plain",
            "text/plain\r\nx: y",
            "text/pl ain",
            "tëxt/plain",
            "text/plain; charset",
            "text/plain; a=\"unterminated",
        ] {
            assert!(ContentType::new(bad).is_err(), "{bad:?}");
        }
        assert!(ContentType::new(format!("a/{}", "b".repeat(300))).is_err());
    }
}
