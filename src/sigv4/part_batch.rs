//! Many UploadPart URLs of one upload, signed at once. Every URL of a batch shares its method,
//! path, `X-Amz-*` parameters, upload id and signed header names; only the part number, the
//! `Content-Length` and the part checksum differ. The batch hashes the shared prefix of the
//! canonical request and of the string to sign once, and each URL resumes from a copy of
//! those hash states, so a URL costs about half of an independent signature. The output is
//! byte-identical to [`Signer::presign`](super::Signer::presign) of the same UploadPart
//! (property-tested).
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html>.

use super::canonical_request::{HexDigest, UNSIGNED_PAYLOAD};
use super::string_to_sign::write_string_to_sign_prefix;
use super::{DailyKey, ObjectAddress, SigningError, SigningTime};
use crate::domain::{Checksum, ChecksumAlgorithm, PartNumber};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// Which headers every URL of a batch signs (besides `host`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartHeaderShape {
    /// Sign each part's exact `Content-Length`.
    pub content_length: bool,
    /// Sign each part's `x-amz-checksum-<algo>` (and `x-amz-sdk-checksum-algorithm`).
    pub checksum: Option<ChecksumAlgorithm>,
}

/// Why one URL of a batch cannot be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PartBatchError {
    /// The part's length or checksum does not match the batch's header shape.
    #[error("part {0}: its length or checksum does not match the batch's signed headers")]
    ShapeMismatch(PartNumber),
}

/// A signed part URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedPart {
    /// The presigned URL.
    pub url: String,
    /// The headers the client must send with exactly these values (`host` excluded), sorted.
    pub headers: Vec<(&'static str, String)>,
}

/// The shared state of a batch (built by [`Signer::part_url_batch`](super::Signer::part_url_batch)).
pub struct PartUrlBatch {
    shape: PartHeaderShape,
    /// SHA-256 state after `PUT\n<path>\n<X-Amz-* parameters>&partNumber=`.
    canonical_prefix: Sha256,
    /// `&uploadId=<encoded id>`, which follows the part number in the query.
    query_suffix: String,
    /// `host` header value.
    authority: String,
    /// The signed header names joined by `;`.
    signed_names: String,
    /// HMAC state after `AWS4-HMAC-SHA256\n<date>\n<scope>\n`.
    string_to_sign_prefix: Hmac<Sha256>,
    /// `<scheme>://<authority><path>?<X-Amz-* parameters>&partNumber=`.
    url_prefix: String,
    /// When the URLs stop working.
    expires_at: DateTime<Utc>,
}

impl PartUrlBatch {
    /// The batch of the upload at `address`, from the complete canonical query of its part 1
    /// (`query`), cut around that part number: `...&partNumber=` | `1` | `&uploadId=...`.
    pub(super) fn from_first_part_query(
        shape: PartHeaderShape,
        address: &ObjectAddress,
        query: &str,
        signed_names: String,
        key: &DailyKey,
        time: &SigningTime,
        expires_at: DateTime<Utc>,
    ) -> Result<Self, SigningError> {
        let marker = "partNumber=1&uploadId=";
        let at_marker = query.find(marker).ok_or_else(|| {
            SigningError::QueryValue("the UploadPart query lost its part number".into())
        })?;
        let (query_prefix, rest) = query.split_at(at_marker + "partNumber=".len());
        let mut canonical_prefix = Sha256::new();
        for part in ["PUT\n", address.path.as_str(), "\n", query_prefix] {
            Digest::update(&mut canonical_prefix, part.as_bytes());
        }
        let mut string_to_sign_prefix = key.key.keyed_mac();
        write_string_to_sign_prefix(&mut string_to_sign_prefix, time, &key.scope);
        Ok(Self {
            shape,
            canonical_prefix,
            query_suffix: rest[1..].to_owned(),
            authority: address.authority.clone(),
            signed_names,
            string_to_sign_prefix,
            url_prefix: format!("{}?{query_prefix}", address.url()),
            expires_at,
        })
    }

    /// When every URL of the batch stops working.
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at
    }

    /// The URL of part `number`; `length` and `checksum` must be given exactly when the
    /// batch's shape signs them.
    pub fn sign(
        &self,
        number: PartNumber,
        length: Option<u64>,
        checksum: Option<&Checksum>,
    ) -> Result<SignedPart, PartBatchError> {
        let checksum = match (self.shape.checksum, checksum) {
            (Some(algorithm), Some(c)) if c.algorithm() == algorithm => Some(c),
            (None, None) => None,
            _ => return Err(PartBatchError::ShapeMismatch(number)),
        };
        if self.shape.content_length != length.is_some() {
            return Err(PartBatchError::ShapeMismatch(number));
        }
        let mut digits = itoa::Buffer::new();
        let number_text = digits.format(number.get());

        let mut sha = self.canonical_prefix.clone();
        sha.update(number_text.as_bytes());
        sha.update(self.query_suffix.as_bytes());
        sha.update(b"\n");
        let mut headers: Vec<(&'static str, String)> = Vec::with_capacity(3);
        if let Some(length) = length {
            let mut length_digits = itoa::Buffer::new();
            let length = length_digits.format(length);
            sha.update(b"content-length:");
            sha.update(length.as_bytes());
            sha.update(b"\n");
            headers.push(("content-length", length.to_owned()));
        }
        sha.update(b"host:");
        sha.update(self.authority.as_bytes());
        sha.update(b"\n");
        if let Some(checksum) = checksum {
            let algorithm = checksum.algorithm();
            for (name, value) in [
                (algorithm.header_name(), checksum.value()),
                (ChecksumAlgorithm::ALGORITHM_HEADER, algorithm.as_str()),
            ] {
                sha.update(name.as_bytes());
                sha.update(b":");
                sha.update(value.as_bytes());
                sha.update(b"\n");
                headers.push((name, value.to_owned()));
            }
        }
        sha.update(b"\n");
        sha.update(self.signed_names.as_bytes());
        sha.update(b"\n");
        sha.update(UNSIGNED_PAYLOAD.as_bytes());
        let canonical_hash = HexDigest::of(sha.finalize().into());

        let mut mac = self.string_to_sign_prefix.clone();
        mac.update(canonical_hash.as_str().as_bytes());
        let signature = HexDigest::of(mac.finalize().into_bytes().into());

        let mut url = String::with_capacity(
            self.url_prefix.len() + self.query_suffix.len() + number_text.len() + 96,
        );
        for part in [
            self.url_prefix.as_str(),
            number_text,
            &self.query_suffix,
            "&X-Amz-Signature=",
            signature.as_str(),
        ] {
            url.push_str(part);
        }
        Ok(SignedPart { url, headers })
    }
}
