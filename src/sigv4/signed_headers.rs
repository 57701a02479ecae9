//! The headers a presigned request signs and the client must therefore send.

use crate::domain::{
    Checksum, ChecksumAlgorithm, ContentMd5, ContentType, DomainError, HeaderName, HeaderValue,
};
use std::collections::BTreeMap;

/// Signed headers, sorted by lowercase name as SigV4 requires. `host` is added by the signer.
///
/// Anything S3 should enforce on the request (type, length, checksum, encryption,
/// no-overwrite, metadata) goes here; hoisting such headers into the query string makes S3
/// ignore them, so this type never does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignedHeaders(BTreeMap<HeaderName, HeaderValue>);

impl SignedHeaders {
    /// No headers besides `host`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Validates and adds a header, replacing an earlier value of the same name.
    pub fn insert(&mut self, name: &str, value: &str) -> Result<(), DomainError> {
        let value = HeaderValue::new(name, value)?;
        self.0.insert(HeaderName::new(name)?, value);
        Ok(())
    }

    /// Builder form of [`SignedHeaders::insert`].
    pub fn with(mut self, name: &str, value: &str) -> Result<Self, DomainError> {
        self.insert(name, value)?;
        Ok(self)
    }

    /// Parses a `Name: value` line, as given on a command line.
    pub fn insert_line(&mut self, line: &str) -> Result<(), DomainError> {
        let (name, value) = line.split_once(':').ok_or_else(|| DomainError::Header {
            name: line.to_owned(),
            reason: "expected 'Name: value'",
        })?;
        self.insert(name.trim(), value)
    }

    /// Signs `Content-Type`.
    pub fn content_type(mut self, content_type: &ContentType) -> Self {
        self.put_trusted("content-type", content_type.as_str());
        self
    }

    /// Signs `Content-Length`, so S3 refuses a body of any other size.
    pub fn content_length(mut self, length: u64) -> Self {
        self.put_trusted("content-length", &length.to_string());
        self
    }

    /// Signs `x-amz-checksum-<algo>` (and `x-amz-sdk-checksum-algorithm`), so S3 verifies it.
    pub fn checksum(mut self, checksum: &Checksum) -> Self {
        self.put_trusted(checksum.algorithm().header_name(), checksum.value());
        self.put_trusted(
            ChecksumAlgorithm::ALGORITHM_HEADER,
            checksum.algorithm().as_str(),
        );
        self
    }

    /// Signs `Content-MD5`.
    pub fn content_md5(mut self, md5: &ContentMd5) -> Self {
        self.put_trusted("content-md5", md5.as_str());
        self
    }

    /// Signs `If-None-Match: *`, so the write fails with 412 when the key exists.
    pub fn if_none_match_any(mut self) -> Self {
        self.put_trusted("if-none-match", "*");
        self
    }

    /// True when the algorithm's checksum header is present.
    pub fn has_checksum(&self, algorithm: ChecksumAlgorithm) -> bool {
        self.0.keys().any(|k| k.as_str() == algorithm.header_name())
    }

    /// Headers as (lowercase name, canonical value), sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Number of headers.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Inserts a header whose name and value come from validated domain types.
    fn put_trusted(&mut self, name: &str, value: &str) {
        // Names are constants and values come from validated newtypes: both always pass.
        if let (Ok(name), Ok(value)) = (HeaderName::new(name), HeaderValue::new(name, value)) {
            self.0.insert(name, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_helpers_sign_the_right_headers() {
        let h = SignedHeaders::new()
            .content_type(&ContentType::new("image/png").unwrap())
            .content_length(42)
            .checksum(&Checksum::sha256_of(b"x"))
            .if_none_match_any();
        let names: Vec<_> = h.iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                "content-length",
                "content-type",
                "if-none-match",
                "x-amz-checksum-sha256",
                "x-amz-sdk-checksum-algorithm"
            ]
        );
        assert!(h.has_checksum(ChecksumAlgorithm::Sha256));
    }

    #[test]
    fn parses_header_lines() {
        let mut h = SignedHeaders::new();
        h.insert_line("X-Amz-Meta-Owner:  alice ").unwrap();
        assert_eq!(h.iter().next(), Some(("x-amz-meta-owner", "alice")));
        assert!(h.insert_line("no colon").is_err());
        assert!(h.insert_line("Host: evil").is_err());
    }
}
