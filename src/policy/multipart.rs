//! The decision for one multipart upload: the key and the values CreateMultipartUpload sets,
//! plus the part plan when the size is declared.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateMultipartUpload.html>.

use super::metadata::check_metadata;
use super::profile::require_scope;
use super::template::RenderInput;
use super::upload::{check_content_type, checked_key, parse_content_type, parse_path};
use super::{Filename, MetadataKey, PolicyError, Profile, ServerSideEncryption};
use crate::domain::{BucketName, ChecksumAlgorithm, ContentType, ObjectKey, Principal, Scope};
use crate::multipart::PartPlan;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use uuid::Uuid;

/// What a client asks to upload in parts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MultipartIntent {
    /// The file's name; becomes one key segment.
    pub filename: String,
    /// The media type the object will have.
    pub content_type: String,
    /// The exact size in bytes. `None` only for protocols that do not declare it (Uppy's):
    /// then no plan is made and the size is checked when the upload is completed.
    pub size: Option<u64>,
    /// The wished part size (default: 8 MiB, more for files above ~78 GiB).
    pub part_size: Option<u64>,
    /// The checksum every part must carry.
    pub checksum_algorithm: Option<ChecksumAlgorithm>,
    /// Client folders, for templates with `{path}`.
    pub path: Option<String>,
    /// `x-amz-meta-*` values, by key (without the prefix).
    pub metadata: BTreeMap<String, String>,
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

    /// Decides a multipart upload for `principal` (`uuid` fills `{uuid}`, `now` `{date}`).
    pub fn decide_multipart(
        &self,
        principal: &Principal,
        intent: &MultipartIntent,
        uuid: Uuid,
        now: DateTime<Utc>,
    ) -> Result<MultipartDecision, PolicyError> {
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
        if self.require_checksum && intent.checksum_algorithm.is_none() {
            return Err(PolicyError::ChecksumRequired(self.name.clone()));
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
            profile: self.name.clone(),
            bucket: self.bucket.clone(),
            key: checked_key(self, principal, rendered)?,
            content_type,
            plan,
            max_size: self.size.max,
            metadata,
            server_side_encryption: self.server_side_encryption.clone(),
            no_overwrite: !self.allow_overwrite,
            checksum_algorithm: intent.checksum_algorithm,
        })
    }
}
