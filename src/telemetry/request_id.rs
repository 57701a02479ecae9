//! Request ids: every response carries `X-Request-Id` and every log line of the request names
//! it, so a client's error report leads to the log lines. An id sent by a proxy (or by the
//! client: the broker cannot tell them apart) is kept when well formed; it correlates, it
//! does not identify.

use std::fmt;

/// The header carrying the id, in both directions.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The longest id accepted from a client or proxy.
const MAX_LEN: usize = 64;

/// A request id: 1 to 64 characters from `A-Z a-z 0-9 - _ . :` (so it is safe in a header,
/// a log line and a JSON string as is). Stored inline: making, cloning and dropping one never
/// allocates.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestId {
    bytes: [u8; MAX_LEN],
    len: u8,
}

impl RequestId {
    /// A fresh random id (a UUIDv4 without dashes).
    pub fn generate() -> Self {
        let mut bytes = [0u8; MAX_LEN];
        uuid::Uuid::new_v4()
            .simple()
            .encode_lower(&mut bytes[..uuid::fmt::Simple::LENGTH]);
        Self {
            bytes,
            len: uuid::fmt::Simple::LENGTH as u8,
        }
    }

    /// The id a proxy or client sent, when it is well formed; `None` otherwise (a new one is
    /// generated then, so a hostile value never reaches a log line).
    pub fn parse(value: &[u8]) -> Option<Self> {
        let well_formed = !value.is_empty()
            && value.len() <= MAX_LEN
            && value
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
        well_formed.then(|| {
            let mut bytes = [0u8; MAX_LEN];
            bytes[..value.len()].copy_from_slice(value);
            Self {
                bytes,
                len: value.len() as u8,
            }
        })
    }

    /// The id a request carries, or a new one.
    pub fn from_request_header(value: Option<&[u8]>) -> Self {
        value.and_then(Self::parse).unwrap_or_else(Self::generate)
    }

    /// The id's bytes (ASCII), as [`RequestId::as_str`] without its UTF-8 check: for a
    /// header value, which takes bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII is ever stored (checked by `parse`, hex from `generate`).
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RequestId").field(&self.as_str()).finish()
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_formed_ids_are_kept() {
        for id in ["abc", "0f8fad5b-d9cb-469f-a165-70867728950e", "req_1.2:3"] {
            let parsed = RequestId::parse(id.as_bytes()).unwrap();
            assert_eq!(parsed.as_str(), id);
            assert_eq!(parsed.as_bytes(), id.as_bytes());
        }
        let longest = "a".repeat(64);
        assert_eq!(
            RequestId::parse(longest.as_bytes()).unwrap().as_str(),
            longest
        );
    }

    #[test]
    fn hostile_or_oversized_ids_are_replaced() {
        for bad in [
            &b""[..],
            b"has space",
            b"line\r\nbreak",
            b"quote\"",
            "\u{202e}bidi".as_bytes(),
            &[b'a'; 65],
        ] {
            assert!(RequestId::parse(bad).is_none(), "{bad:?}");
            let fresh = RequestId::from_request_header(Some(bad));
            assert_eq!(fresh.as_str().len(), 32);
        }
    }

    #[test]
    fn generated_ids_differ() {
        assert_ne!(RequestId::generate(), RequestId::generate());
        let id = RequestId::generate();
        assert_eq!(id.as_str().len(), 32);
        assert!(id.as_str().bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
