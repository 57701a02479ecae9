//! Multipart calls the broker makes itself: create, list parts, complete and abort. Parts are
//! uploaded by clients with presigned URLs; these calls carry no payload bytes.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html>.

use super::{S3Client, S3Error};
use crate::domain::{BucketName, ChecksumAlgorithm, ObjectKey, UploadId};
use crate::grants::NewUpload;
use crate::multipart::{ListedPart, NamedUpload, PartToComplete};
use aws_config::timeout::TimeoutConfig;
use aws_sdk_s3::types::{self, CompletedMultipartUpload, CompletedPart};
use chrono::DateTime;
use std::time::Duration;

/// How long a CompleteMultipartUpload may run once S3 has started answering: S3 may take
/// minutes to assemble many parts, keeping the connection alive with whitespace, while the
/// first byte must still come within the configured operation timeout.
///
/// See <https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html>
const COMPLETE_TIMEOUT: Duration = Duration::from_secs(600);

/// ListParts pages hold at most this many parts.
const LIST_PAGE: i32 = 1000;
/// An upload has at most 10,000 parts, so at most 10 full pages (one more to see the end).
const MAX_LIST_PAGES: usize = 11;

/// Which upload a call is about.
#[derive(Debug, Clone, Copy)]
pub struct UploadRef<'a> {
    /// Bucket.
    pub bucket: &'a BucketName,
    /// Key.
    pub key: &'a ObjectKey,
    /// S3's upload id.
    pub upload_id: &'a UploadId,
}

impl<'a> From<&'a NamedUpload> for UploadRef<'a> {
    /// The upload a sealed ticket or completion grant names.
    fn from(upload: &'a NamedUpload) -> Self {
        Self {
            bucket: &upload.bucket,
            key: &upload.key,
            upload_id: &upload.upload_id,
        }
    }
}

/// The completed object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletedObject {
    /// The object's ETag.
    pub etag: Option<String>,
    /// The object's URL, as S3 reports it.
    pub location: Option<String>,
}

fn completed_part(part: &PartToComplete, algorithm: Option<ChecksumAlgorithm>) -> CompletedPart {
    let builder = CompletedPart::builder()
        .part_number(i32::from(part.part_number.get()))
        .e_tag(part.etag.as_str());
    let checksum = part.checksum.clone();
    match algorithm {
        Some(ChecksumAlgorithm::Crc32) => builder.set_checksum_crc32(checksum),
        Some(ChecksumAlgorithm::Crc32c) => builder.set_checksum_crc32_c(checksum),
        Some(ChecksumAlgorithm::Crc64Nvme) => builder.set_checksum_crc64_nvme(checksum),
        Some(ChecksumAlgorithm::Sha1) => builder.set_checksum_sha1(checksum),
        Some(ChecksumAlgorithm::Sha256) => builder.set_checksum_sha256(checksum),
        None => builder,
    }
    .build()
}

fn listed_part(part: &types::Part) -> Option<ListedPart> {
    Some(ListedPart {
        part_number: u16::try_from(part.part_number()?).ok()?,
        etag: part.e_tag().map(str::to_owned),
        size: u64::try_from(part.size()?).ok()?,
        last_modified: part
            .last_modified()
            .and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos())),
        checksum: [
            part.checksum_sha256(),
            part.checksum_sha1(),
            part.checksum_crc32(),
            part.checksum_crc32_c(),
            part.checksum_crc64_nvme(),
        ]
        .into_iter()
        .flatten()
        .next()
        .map(str::to_owned),
    })
}

impl S3Client {
    /// CreateMultipartUpload with the decided content type, metadata, encryption and
    /// checksum algorithm (built from the decision by [`NewUpload::of`]).
    ///
    /// See <https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateMultipartUpload.html>
    pub async fn create_multipart(&self, upload: &NewUpload) -> Result<UploadId, S3Error> {
        let mut request = self
            .client
            .create_multipart_upload()
            .bucket(upload.bucket.as_str())
            .key(upload.key.as_str())
            .content_type(upload.content_type.as_str());
        for (key, value) in &upload.metadata {
            request = request.metadata(key, value);
        }
        if let Some(sse) = &upload.encryption {
            request = request
                .server_side_encryption(types::ServerSideEncryption::from(sse.algorithm))
                .set_ssekms_key_id(sse.kms_key_id.clone());
        }
        if let Some(algorithm) = upload.checksum_algorithm {
            request =
                request.checksum_algorithm(types::ChecksumAlgorithm::from(algorithm.as_str()));
        }
        let output = self.timed("CreateMultipartUpload", request.send()).await?;
        output
            .upload_id()
            .and_then(|id| UploadId::new(id).ok())
            .ok_or_else(|| S3Error::Refused("CreateMultipartUpload returned no upload id".into()))
    }

    /// Every part S3 holds for the upload, following ListParts pages to the end.
    ///
    /// See <https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListParts.html>
    pub async fn list_parts(&self, upload: UploadRef<'_>) -> Result<Vec<ListedPart>, S3Error> {
        let mut parts = Vec::new();
        let mut marker: Option<String> = None;
        for _ in 0..MAX_LIST_PAGES {
            let page = self
                .client
                .list_parts()
                .bucket(upload.bucket.as_str())
                .key(upload.key.as_str())
                .upload_id(upload.upload_id.as_str())
                .max_parts(LIST_PAGE)
                .set_part_number_marker(marker.take())
                .send();
            let output = self.timed("ListParts", page).await?;
            for part in output.parts() {
                // A part without a valid number or size would slip past the size checks.
                parts.push(listed_part(part).ok_or_else(|| {
                    S3Error::Refused("ListParts returned a part without a number or size".into())
                })?);
            }
            match (output.is_truncated(), output.next_part_number_marker()) {
                (Some(true), Some(next)) if !next.is_empty() => marker = Some(next.to_owned()),
                _ => {
                    // Some servers (s3s-fs) list parts in no particular order.
                    parts.sort_by_key(|p: &ListedPart| p.part_number);
                    return Ok(parts);
                }
            }
        }
        Err(S3Error::Refused(
            "ListParts did not end after 10,000 parts".into(),
        ))
    }

    /// CompleteMultipartUpload with `parts`; with `if_none_match`, S3 refuses (412) to replace
    /// an existing object.
    ///
    /// See <https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html>
    pub async fn complete_multipart(
        &self,
        upload: UploadRef<'_>,
        parts: &[PartToComplete],
        checksum_algorithm: Option<ChecksumAlgorithm>,
        if_none_match: bool,
    ) -> Result<CompletedObject, S3Error> {
        let completed = CompletedMultipartUpload::builder()
            .set_parts(Some(
                parts
                    .iter()
                    .map(|p| completed_part(p, checksum_algorithm))
                    .collect(),
            ))
            .build();
        let request = self
            .client
            .complete_multipart_upload()
            .bucket(upload.bucket.as_str())
            .key(upload.key.as_str())
            .upload_id(upload.upload_id.as_str())
            .multipart_upload(completed)
            .set_if_none_match(if_none_match.then(|| "*".to_owned()))
            .customize()
            .config_override(
                aws_sdk_s3::config::Builder::default().timeout_config(
                    TimeoutConfig::builder()
                        .connect_timeout(Duration::from_secs(3))
                        .read_timeout(self.operation_timeout)
                        .operation_timeout(COMPLETE_TIMEOUT.max(self.operation_timeout))
                        .build(),
                ),
            )
            .send();
        let output = self.timed("CompleteMultipartUpload", request).await?;
        Ok(CompletedObject {
            etag: output.e_tag().filter(|e| !e.is_empty()).map(str::to_owned),
            location: output.location().map(str::to_owned),
        })
    }

    /// AbortMultipartUpload: S3 drops every part.
    ///
    /// See <https://docs.aws.amazon.com/AmazonS3/latest/API/API_AbortMultipartUpload.html>
    pub async fn abort_multipart(&self, upload: UploadRef<'_>) -> Result<(), S3Error> {
        let request = self
            .client
            .abort_multipart_upload()
            .bucket(upload.bucket.as_str())
            .key(upload.key.as_str())
            .upload_id(upload.upload_id.as_str())
            .send();
        self.timed("AbortMultipartUpload", request).await?;
        Ok(())
    }
}
