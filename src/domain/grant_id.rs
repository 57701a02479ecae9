//! The grant id: one UUID per grant, carried by everything the grant signs, so that what S3
//! logs (server access logs, CloudTrail data events) can be joined to the broker's own
//! records: the audit event, the `upload` token and the receipt's `jti`.
//!
//! - A presigned URL carries it as the query parameter [`GrantId::QUERY_PARAM`]. S3 ignores
//!   query parameters that start with `x-` (other than `x-amz-`, which AWS reserves) but
//!   keeps them in the `Request-URI` of its server access log ("Custom access log
//!   information": <https://docs.aws.amazon.com/AmazonS3/latest/userguide/LogFormat.html>).
//!   Like every query parameter of a presigned URL it is in the canonical query string, so
//!   the signature covers it and a changed id makes S3 refuse the request.
//! - A POST form carries it as the metadata field [`GrantId::META_FIELD`], bound by an
//!   exact policy condition, so it is also stored with the object (HEAD shows it).
//!
//! The URLs of one multipart upload (create, every part, completion; native and Uppy routes)
//! share the id [`GrantId::of_upload`] derives from S3's upload id, so that no state is kept
//! and every call on the upload carries the same id.

use super::UploadId;
use sha2::{Digest, Sha256};
use std::fmt;
use uuid::Uuid;

/// A grant id: a UUID in its hyphenated lowercase form, kept inline (36 bytes, no heap), so
/// that making one and carrying it into a presigned request allocates nothing.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct GrantId([u8; GrantId::LEN]);

impl GrantId {
    /// The query parameter of a presigned URL that carries the id. It starts with `x-` (S3
    /// ignores it and logs it) and sorts after every parameter S3 itself uses.
    pub const QUERY_PARAM: &'static str = "x-broker-grant";

    /// The metadata key (after `x-amz-meta-`) of the id on objects uploaded with a POST form;
    /// profiles cannot allow it as client metadata.
    pub const META_KEY: &'static str = "broker-grant";

    /// The POST form field of the id: `x-amz-meta-` and [`GrantId::META_KEY`].
    pub const META_FIELD: &'static str = "x-amz-meta-broker-grant";

    /// The length of the text of an id: a hyphenated UUID.
    pub const LEN: usize = uuid::fmt::Hyphenated::LENGTH;

    /// A fresh random id (UUID version 4).
    pub fn new() -> Self {
        Self::of_uuid(Uuid::new_v4())
    }

    /// The id written as `uuid` in hyphenated lowercase, without going through `Display`.
    fn of_uuid(uuid: Uuid) -> Self {
        let mut text = [0u8; Self::LEN];
        uuid.hyphenated().encode_lower(&mut text);
        Self(text)
    }

    /// The id of every grant on the multipart upload `upload_id`: the first 16 bytes of
    /// SHA-256 of a label and the id, shaped as a UUID (version 8, RFC 9562 section 5.8).
    pub fn of_upload(upload_id: &UploadId) -> Self {
        let mut hash = Sha256::new();
        hash.update(b"s3-broker multipart grant v1\n");
        hash.update(upload_id.as_str().as_bytes());
        let digest = hash.finalize();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        bytes[6] = (bytes[6] & 0x0f) | 0x80;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        Self::of_uuid(Uuid::from_bytes(bytes))
    }

    /// An id read back from a sealed (MAC-checked) record, such as a signed form's field;
    /// `None` unless it is a hyphenated lower-case UUID (the only form the broker writes).
    pub fn from_sealed(id: &str) -> Option<Self> {
        // Only the hyphenated lower-case form the broker writes: `try_parse` also takes the
        // simple, braced and `urn:` forms, which would be recorded as another text.
        Uuid::try_parse(id)
            .ok()
            .map(Self::of_uuid)
            .filter(|parsed| parsed.as_str() == id)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        // A hyphenated UUID is ASCII.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Debug for GrantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("GrantId").field(&self.as_str()).finish()
    }
}

impl Default for GrantId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for GrantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_ids_are_distinct_uuids() {
        let (a, b) = (GrantId::new(), GrantId::new());
        assert_ne!(a, b);
        assert_eq!(Uuid::parse_str(a.as_str()).unwrap().get_version_num(), 4);
        assert_eq!(a.as_str(), Uuid::parse_str(a.as_str()).unwrap().to_string());
        assert_eq!(a.to_string(), a.as_str());
    }

    #[test]
    fn sealed_ids_read_back_only_as_uuids() {
        let id = GrantId::new();
        assert_eq!(GrantId::from_sealed(id.as_str()), Some(id.clone()));
        assert_eq!(GrantId::from_sealed("not a uuid"), None);
        // Other spellings of the same UUID are not the text the broker wrote.
        let simple = id.as_str().replace('-', "");
        let upper = id.as_str().to_ascii_uppercase();
        let braced = format!("{{{}}}", id.as_str());
        let urn = format!("urn:uuid:{}", id.as_str());
        for other in [simple, upper, braced, urn] {
            assert_eq!(GrantId::from_sealed(&other), None, "{other}");
        }
    }

    #[test]
    fn an_upload_has_one_stable_id_of_its_own() {
        let one = UploadId::new("2~tGn4WjL7Q0sPxYvE1mK9bD3cR8aZ5uF").unwrap();
        let other = UploadId::new("2~tGn4WjL7Q0sPxYvE1mK9bD3cR8aZ5uG").unwrap();
        assert_eq!(GrantId::of_upload(&one), GrantId::of_upload(&one));
        assert_ne!(GrantId::of_upload(&one), GrantId::of_upload(&other));
        let uuid = Uuid::parse_str(GrantId::of_upload(&one).as_str()).unwrap();
        assert_eq!(uuid.get_version_num(), 8);
        assert_eq!(uuid.get_variant(), uuid::Variant::RFC4122);
    }

    #[test]
    fn the_names_are_what_s3_ignores_and_logs() {
        assert!(GrantId::QUERY_PARAM.starts_with("x-"));
        assert!(!GrantId::QUERY_PARAM.starts_with("x-amz-"));
        // After `uploadId`, `versionId` and every `response-*` override.
        assert!(GrantId::QUERY_PARAM > "versionId" && GrantId::QUERY_PARAM > "uploadId");
        assert_eq!(
            GrantId::META_FIELD,
            format!("x-amz-meta-{}", GrantId::META_KEY)
        );
    }
}
