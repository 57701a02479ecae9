//! The headers a presigned request signs and the client must therefore send.

use crate::domain::{
    Checksum, ChecksumAlgorithm, ContentMd5, ContentType, DomainError, HeaderName, HeaderValue,
};
use serde::Serialize;
use smallvec::SmallVec;
use std::sync::Arc;

/// Signed headers, sorted by lowercase name as SigV4 requires. `host` is added by the signer.
///
/// Anything S3 should enforce on the request (type, length, checksum, encryption,
/// no-overwrite, metadata) goes here; hoisting such headers into the query string makes S3
/// ignore them, so this type never does.
///
/// The headers are shared, not copied, between a request and what signing it returns
/// ([`PresignedRequest::headers`](super::PresignedRequest::headers)): a clone counts a
/// reference, and an insert into a shared set copies it first. No headers, no allocation.
///
/// The pairs are a small vector kept sorted by name rather than a `BTreeMap`: a request
/// signs a handful of headers, inserted once, and every signature walks them, which over a
/// slice costs a few instructions per header instead of a tree step of some fifty. The first
/// [`INLINE_PAIRS`] pairs are kept in the shared allocation itself, so a usual set is one
/// allocation, not two: a PUT without a checksum signs three (`content-length`,
/// `content-type`, `if-none-match`); one with a checksum signs five, and its pairs move to a
/// vector of their own as before.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignedHeaders(Option<Arc<Pairs>>);

/// Pairs kept inline in the shared allocation; more go to a vector of their own.
const INLINE_PAIRS: usize = 4;

type Pairs = SmallVec<[(HeaderName, HeaderValue); INLINE_PAIRS]>;

impl SignedHeaders {
    /// No headers besides `host`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Validates and adds a header, replacing an earlier value of the same name.
    pub fn insert(&mut self, name: &str, value: &str) -> Result<(), DomainError> {
        let value = HeaderValue::new(name, value)?;
        let name = HeaderName::new(name)?;
        self.put(name, value);
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
        self.put(
            HeaderName::from_static("content-length"),
            HeaderValue::from_u64(length),
        );
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
        self.put(
            HeaderName::from_static("if-none-match"),
            HeaderValue::from_static("*"),
        );
        self
    }

    /// True when the algorithm's checksum header is present.
    pub fn has_checksum(&self, algorithm: ChecksumAlgorithm) -> bool {
        self.entries()
            .any(|(k, _)| k.as_str() == algorithm.header_name())
    }

    /// Headers as (lowercase name, canonical value), sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Headers as owned (lowercase name, canonical value) pairs, sorted by name.
    pub fn to_vec(&self) -> Vec<(String, String)> {
        self.iter()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect()
    }

    /// Number of headers.
    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |pairs| pairs.len())
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn entries(&self) -> impl Iterator<Item = (&HeaderName, &HeaderValue)> {
        self.0
            .as_deref()
            .map_or(&[][..], SmallVec::as_slice)
            .iter()
            .map(|(name, value)| (name, value))
    }

    /// Inserts `name` in its sorted place, or replaces its value. The shared pairs are made on the
    /// first insert and copied first when shared.
    fn put(&mut self, name: HeaderName, value: HeaderValue) {
        let pairs = Arc::make_mut(self.0.get_or_insert_with(Arc::default));
        match pairs.binary_search_by(|(n, _)| n.cmp(&name)) {
            Ok(at) => pairs[at].1 = value,
            Err(at) => pairs.insert(at, (name, value)),
        }
    }

    /// Inserts a header whose name is one of this crate's constants and whose value comes
    /// from a validated domain type.
    fn put_trusted(&mut self, name: &'static str, value: &str) {
        // Values come from validated newtypes: they always pass.
        if let Ok(value) = HeaderValue::new(name, value) {
            self.put(HeaderName::from_static(name), value);
        }
    }
}

/// A sequence of `[name, value]` pairs, sorted by name.
impl Serialize for SignedHeaders {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

/// The headers as owned `(name, value)` pairs, sorted by name.
impl IntoIterator for SignedHeaders {
    type Item = (String, String);
    type IntoIter = std::vec::IntoIter<(String, String)>;

    fn into_iter(self) -> Self::IntoIter {
        self.to_vec().into_iter()
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
    fn a_clone_is_shared_until_one_side_inserts() {
        let one = SignedHeaders::new().content_length(1);
        let mut two = one.clone();
        two.insert("x-amz-meta-a", "b").unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(two.len(), 2);
        assert_eq!(
            serde_json::to_string(&two).unwrap(),
            r#"[["content-length","1"],["x-amz-meta-a","b"]]"#
        );
        let owned: Vec<(String, String)> = one.into_iter().collect();
        assert_eq!(owned, [("content-length".to_owned(), "1".to_owned())]);
        assert!(SignedHeaders::new().is_empty());
        assert_eq!(SignedHeaders::new(), SignedHeaders::default());
    }

    #[test]
    fn keeps_names_sorted_and_unique() {
        let mut h = SignedHeaders::new();
        for (name, value) in [
            ("x-b", "1"),
            ("A-Z", "2"),
            ("m", "3"),
            ("X-B", "4"),
            ("c", "5"),
        ] {
            h.insert(name, value).unwrap();
        }
        let pairs: Vec<_> = h.iter().collect();
        assert_eq!(
            pairs,
            [("a-z", "2"), ("c", "5"), ("m", "3"), ("x-b", "4")],
            "sorted by lowercase name, a later value replacing an earlier one"
        );
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
