//! The decision for one multipart upload: the key and the values CreateMultipartUpload sets,
//! plus the part plan when the size is declared.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateMultipartUpload.html>.

use super::backend::check_part_checksum;
use super::metadata::check_metadata;
use super::profile::require_scope;
use super::template::RenderInput;
use super::upload::{check_content_type, checked_key, parse_content_type, parse_path};
use super::{Filename, MetadataKey, PolicyError, Profile, ServerSideEncryption};
use crate::backend::Backend;
use crate::domain::{BucketName, ChecksumAlgorithm, ContentType, ObjectKey, Principal, Scope};
use crate::multipart::PartPlan;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use uuid::Uuid;

/// What a client asks to upload in parts: the body of `POST /v1/multipart`, deserialized as
/// is (unknown fields are refused); Uppy's routes build it from their own fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MultipartIntent {
    /// Upload profile (default: the configured default).
    pub profile: Option<String>,
    /// The file's display name; becomes one key segment.
    pub filename: String,
    /// The media type the object will have.
    pub content_type: String,
    /// The exact size in bytes: every part URL signs its exact length from it. Required in
    /// JSON; `None` only for protocols that do not declare it (Uppy's): then no plan is made
    /// and the size is checked when the upload is completed.
    #[serde(deserialize_with = "declared_size")]
    pub size: Option<u64>,
    /// Part size in bytes, 5 MiB to 5 GiB (default: 8 MiB, or more to stay within 10,000
    /// parts).
    pub part_size: Option<u64>,
    /// `SHA256`, `SHA1`, `CRC32` or `CRC32C`, as the client names it: every part must then
    /// carry that checksum.
    pub checksum_algorithm: Option<String>,
    /// Client folders under the caller's namespace, for templates with `{path}`.
    pub path: Option<String>,
    /// `x-amz-meta-*` values, by key (without the prefix), for the keys the profile allows.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

/// `size` as a JSON number that must be present (`Option` only for intents built in code).
fn declared_size<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    u64::deserialize(deserializer).map(Some)
}

/// Parses a multipart checksum algorithm. CRC64NVME is refused: S3 only offers it as a
/// full-object checksum, which per-part checksums cannot express.
///
/// See <https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html>
fn part_algorithm(name: Option<&str>) -> Result<Option<ChecksumAlgorithm>, PolicyError> {
    let Some(name) = name else { return Ok(None) };
    match name.parse::<ChecksumAlgorithm>() {
        Ok(ChecksumAlgorithm::Crc64Nvme) | Err(_) => Err(PolicyError::InvalidChecksumAlgorithm),
        Ok(algorithm) => Ok(Some(algorithm)),
    }
}

/// An accepted multipart upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultipartDecision {
    /// The profile that decided.
    pub profile: String,
    /// The bucket.
    pub bucket: BucketName,
    /// The exact key.
    pub key: ObjectKey,
    /// The object's `Content-Type`, set at create time.
    pub content_type: ContentType,
    /// The part plan (when the size was declared).
    pub plan: Option<PartPlan>,
    /// The largest object the upload may complete to (the profile's `max_size`).
    pub max_size: u64,
    /// `x-amz-meta-*` values, sorted by key.
    pub metadata: Vec<(MetadataKey, String)>,
    /// Encryption set at create time.
    pub server_side_encryption: Option<ServerSideEncryption>,
    /// Whether complete must send `If-None-Match: *`.
    pub no_overwrite: bool,
    /// The checksum algorithm set at create time.
    pub checksum_algorithm: Option<ChecksumAlgorithm>,
}

impl Profile {
    /// Refuses multipart uploads when the profile does not allow them, or the principal may
    /// not upload.
    pub fn check_multipart(&self, principal: &Principal) -> Result<(), PolicyError> {
        require_scope(principal, Scope::Upload)?;
        if self.uses_customer_key() {
            // The broker calls CreateMultipartUpload itself (and signs Uppy's), which needs
            // the customer key in SSE-C; the broker must never see it.
            return Err(PolicyError::MethodNotAllowed(format!(
                "the profile {:?} encrypts with a key each client provides (SSE-C): \
                 CreateMultipartUpload would need that key, which the broker never sees, so \
                 multipart uploads are not available; upload with POST /v1/uploads (up to \
                 5 GiB)",
                self.name
            )));
        }
        if self.multipart {
            Ok(())
        } else {
            Err(PolicyError::MethodNotAllowed(format!(
                "the profile {:?} does not allow multipart uploads",
                self.name
            )))
        }
    }

    /// Decides a multipart upload for `principal` (`uuid` fills `{uuid}`, `now` `{date}`); a
    /// part checksum algorithm `backend` would not verify is refused.
    pub fn decide_multipart(
        &self,
        principal: &Principal,
        intent: &MultipartIntent,
        backend: Backend,
        uuid: Uuid,
        now: DateTime<Utc>,
    ) -> Result<MultipartDecision, PolicyError> {
        let checksum_algorithm = part_algorithm(intent.checksum_algorithm.as_deref())?;
        if let Some(algorithm) = checksum_algorithm {
            check_part_checksum(backend, algorithm)?;
        }
        self.check_multipart(principal)?;
        let filename = Filename::parse(&intent.filename)?;
        let path = parse_path(self, intent.path.as_deref())?;
        let content_type = parse_content_type(&intent.content_type)?;
        check_content_type(self, &content_type)?;
        let plan = match intent.size {
            Some(size) => {
                self.size.check(size)?;
                Some(
                    PartPlan::new(size, intent.part_size)
                        .map_err(|e| PolicyError::InvalidPartPlan(e.to_string()))?,
                )
            }
            None => None,
        };
        if self.require_checksum && checksum_algorithm.is_none() {
            return Err(PolicyError::ChecksumRequired(String::from(&*self.name)));
        }
        let metadata = check_metadata(&self.metadata_keys, &intent.metadata)?;
        let rendered = self.key_template.render(&RenderInput {
            principal: &principal.segment,
            uuid,
            filename: Some(&filename),
            path: path.as_ref(),
            now,
        });
        Ok(MultipartDecision {
            profile: String::from(&*self.name),
            bucket: self.bucket.clone(),
            key: checked_key(self, principal, rendered)?,
            content_type,
            plan,
            max_size: self.size.max,
            metadata,
            server_side_encryption: self.server_side_encryption.clone(),
            no_overwrite: !self.allow_overwrite,
            checksum_algorithm,
        })
    }
}
