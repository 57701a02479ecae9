//! Multipart calls the broker makes itself: create, list parts, complete and abort. Parts are
//! uploaded by clients with presigned URLs; these calls carry no payload bytes.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html>.

use super::{S3Client, S3Error};
use crate::domain::{BucketName, ObjectKey, UploadId};
use crate::grants::NewUpload;
use crate::multipart::{ListedPart, NamedUpload};
use aws_sdk_s3::types;
use chrono::DateTime;

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
            .client()
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

    /// Every part S3 holds for the upload, following ListParts pages to the end. The whole
    /// listing, every page and every retry, shares one budget of the operation timeout
    /// (`s3.operation_timeout_secs`).
    ///
    /// See <https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListParts.html>
    pub async fn list_parts(&self, upload: UploadRef<'_>) -> Result<Vec<ListedPart>, S3Error> {
        tokio::time::timeout(self.operation_timeout, self.list_all_parts(upload))
            .await
            .unwrap_or_else(|_| {
                Err(S3Error::Unavailable(format!(
                    "ListParts did not finish within {} s",
                    self.operation_timeout.as_secs()
                )))
            })
    }

    /// [`Self::list_parts`] without the overall budget (each page has its own).
    async fn list_all_parts(&self, upload: UploadRef<'_>) -> Result<Vec<ListedPart>, S3Error> {
        let mut parts = Vec::new();
        let mut marker: Option<String> = None;
        for _ in 0..MAX_LIST_PAGES {
            let page = self
                .client()
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

    /// AbortMultipartUpload: S3 drops every part.
    ///
    /// See <https://docs.aws.amazon.com/AmazonS3/latest/API/API_AbortMultipartUpload.html>
    pub async fn abort_multipart(&self, upload: UploadRef<'_>) -> Result<(), S3Error> {
        let request = self
            .client()
            .abort_multipart_upload()
            .bucket(upload.bucket.as_str())
            .key(upload.key.as_str())
            .upload_id(upload.upload_id.as_str())
            .send();
        self.timed("AbortMultipartUpload", request).await?;
        Ok(())
    }
}
