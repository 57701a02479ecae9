//! Names and values of headers that a presigned request signs.

use super::DomainError;
use arrayvec::ArrayString;
use std::borrow::Cow;
use std::fmt;

/// A lowercase HTTP header name (an RFC 9110 token).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HeaderName(Cow<'static, str>);

/// Headers the signer sets itself, and headers that clients, browsers or proxies add, drop
/// or rewrite (hop-by-hop, user agents, tracing), so that signing them breaks the request.
const RESERVED: [&str; 17] = [
    "host",
    "authorization",
    "x-amz-date",
    "x-amz-content-sha256",
    "x-amz-security-token",
    "x-amz-signature",
    "x-amz-user-agent",
    "x-amzn-trace-id",
    "user-agent",
    "connection",
    "keep-alive",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// The characters of an RFC 9110 token (`tchar`):
/// <https://www.rfc-editor.org/rfc/rfc9110#section-5.6.2>.
pub(super) const TOKEN: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        b += 1;
    }
    table
};

impl HeaderName {
    /// Validates a header name and lowercases it.
    pub fn new(name: &str) -> Result<Self, DomainError> {
        let fail = |reason| DomainError::Header {
            name: name.to_owned(),
            reason,
        };
        if name.is_empty() || name.len() > 256 {
            return Err(fail("name must be 1 to 256 characters"));
        }
        // Every byte is looked up (no early exit), so the loop runs without a branch per byte.
        if !name.bytes().fold(true, |ok, b| ok & TOKEN[usize::from(b)]) {
            return Err(fail("name must be an HTTP token"));
        }
        let lower = name.to_ascii_lowercase();
        if RESERVED.contains(&lower.as_str()) {
            return Err(fail("this header is set by the signer and cannot be given"));
        }
        Ok(Self(Cow::Owned(lower)))
    }

    /// A name this crate writes itself (`content-type`, `x-amz-checksum-sha256` ...), already
    /// lowercase and not reserved: borrowed as it is, with no copy and no check per request
    /// (debug builds check that [`HeaderName::new`] gives the same name). Crate-private: a
    /// library user's name always goes through [`HeaderName::new`], so release builds cannot
    /// sign an uppercase or reserved name such as `Host`.
    pub(crate) fn from_static(name: &'static str) -> Self {
        debug_assert_eq!(
            Self::new(name).ok().as_ref().map(Self::as_str),
            Some(name),
            "not a lowercase, unreserved header name"
        );
        Self(Cow::Borrowed(name))
    }

    /// The lowercase name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for HeaderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A header value in SigV4 canonical form: visible ASCII and spaces, trimmed, with runs of
/// spaces collapsed, so the value a client sends is exactly the value that was signed.
///
/// See <https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html>
#[derive(Clone)]
pub struct HeaderValue(Value);

/// A value's text: a number (a `Content-Length`, signed on every PUT) is kept in place,
/// without an allocation of its own.
#[derive(Clone)]
enum Value {
    Text(Cow<'static, str>),
    /// The decimal digits of a `u64` (at most 20).
    Digits(ArrayString<20>),
}

impl HeaderValue {
    /// Validates and canonicalises a value (`name` only labels the error).
    pub fn new(name: &str, value: &str) -> Result<Self, DomainError> {
        if value.len() > 8192 {
            return Err(DomainError::Header {
                name: name.to_owned(),
                reason: "value must be at most 8192 bytes",
            });
        }
        if !value.bytes().all(|b| b == b' ' || b.is_ascii_graphic()) {
            return Err(DomainError::Header {
                name: name.to_owned(),
                reason: "value must be visible ASCII (no control characters or line breaks)",
            });
        }
        // A byte-pair scan: `str::contains("  ")` sets up a substring searcher per call.
        let doubled = value.as_bytes().windows(2).any(|pair| pair == b"  ");
        if !value.starts_with(' ') && !value.ends_with(' ') && !doubled {
            // Already canonical (the usual case): no space to trim or collapse.
            return Ok(Self(Value::Text(Cow::Owned(value.to_owned()))));
        }
        let mut canonical = String::with_capacity(value.len());
        for word in value.split(' ').filter(|w| !w.is_empty()) {
            if !canonical.is_empty() {
                canonical.push(' ');
            }
            canonical.push_str(word);
        }
        Ok(Self(Value::Text(Cow::Owned(canonical))))
    }

    /// A decimal number (a `Content-Length`): canonical as written, so checked for nothing,
    /// and kept in place rather than in an allocation.
    pub fn from_u64(n: u64) -> Self {
        let mut digits = ArrayString::new();
        // A `u64` has at most 20 digits: the push never fails.
        let mut text = itoa::Buffer::new();
        let pushed = digits.try_push_str(text.format(n));
        debug_assert!(pushed.is_ok(), "a u64 has at most 20 digits");
        Self(Value::Digits(digits))
    }

    /// A value this crate writes itself (`*` of `If-None-Match`): borrowed as it is (debug
    /// builds check that it is canonical). Crate-private, like [`HeaderName::from_static`].
    pub(crate) fn from_static(value: &'static str) -> Self {
        debug_assert_eq!(
            Self::new("", value).ok().as_ref().map(Self::as_str),
            Some(value),
            "not a canonical header value"
        );
        Self(Value::Text(Cow::Borrowed(value)))
    }

    /// The canonical value.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Value::Text(text) => text,
            Value::Digits(digits) => digits,
        }
    }
}

/// Values are equal when their texts are, however they are kept.
impl PartialEq for HeaderValue {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for HeaderValue {}

impl std::hash::Hash for HeaderValue {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

/// As the derived form of a tuple struct of the text: `HeaderValue("1024")`.
impl fmt::Debug for HeaderValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("HeaderValue").field(&self.as_str()).finish()
    }
}

impl fmt::Display for HeaderValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_names_and_numbers_equal_their_checked_forms() {
        for name in ["content-type", "content-length", "x-amz-checksum-crc64nvme"] {
            assert_eq!(
                HeaderName::from_static(name),
                HeaderName::new(name).unwrap()
            );
        }
        assert_eq!(
            HeaderValue::from_static("*"),
            HeaderValue::new("if-none-match", "*").unwrap()
        );
        for n in [0, 7, 1024, 99_999, u64::MAX] {
            let checked = HeaderValue::new("content-length", &n.to_string()).unwrap();
            assert_eq!(HeaderValue::from_u64(n), checked);
            assert_eq!(HeaderValue::from_u64(n).as_str(), checked.as_str());
            assert_eq!(
                format!("{:?}", HeaderValue::from_u64(n)),
                format!("{checked:?}")
            );
        }
    }

    #[test]
    #[should_panic(expected = "not a lowercase, unreserved header name")]
    #[cfg(debug_assertions)]
    fn a_constant_name_is_checked_in_debug_builds() {
        let _ = HeaderName::from_static("Host");
    }

    #[test]
    fn names_are_lowercased_tokens() {
        assert_eq!(
            HeaderName::new("Content-Type").unwrap().as_str(),
            "content-type"
        );
        assert!(HeaderName::new("bad name").is_err());
        assert!(HeaderName::new("bad:name").is_err());
        assert!(HeaderName::new("Host").is_err());
        assert!(HeaderName::new("X-Amz-Date").is_err());
        assert!(HeaderName::new("Transfer-Encoding").is_err());
        assert!(HeaderName::new("User-Agent").is_err());
    }

    #[test]
    fn values_are_canonicalised() {
        assert_eq!(
            HeaderValue::new("x", "  a   b  c ").unwrap().as_str(),
            "a b c"
        );
        assert!(HeaderValue::new("x", "a\r\nb").is_err());
        assert!(HeaderValue::new("x", "a\tb").is_err());
        assert!(HeaderValue::new("x", "é").is_err());
        assert_eq!(HeaderValue::new("x", "").unwrap().as_str(), "");
        for value in [
            " ",
            "  ",
            "a ",
            " a",
            "a  b",
            "a b",
            "text/plain; charset=utf-8",
        ] {
            let words: Vec<&str> = value.split(' ').filter(|w| !w.is_empty()).collect();
            assert_eq!(
                HeaderValue::new("x", value).unwrap().as_str(),
                words.join(" ")
            );
        }
    }

    #[test]
    fn the_token_table_is_rfc_9110s_tchar() {
        for b in 0..=255u8 {
            let tchar = b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
            assert_eq!(TOKEN[usize::from(b)], tchar, "{b:#04x}");
            let name = format!("x{}", char::from(b));
            if b.is_ascii() {
                assert_eq!(HeaderName::new(&name).is_ok(), tchar, "{name:?}");
            }
        }
    }
}
