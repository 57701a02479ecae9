//! What verifying an upload reads from S3 and does to a mismatching object: HeadObject with
//! checksums, a ranged GET of the first bytes of that very version, DeleteObject, and
//! PutObjectTagging for quarantine. Each call is bounded like the others (operation timeout,
//! the body read within the same bound).

use super::{S3Client, S3Error};
use crate::domain::{BucketName, ChecksumAlgorithm, ObjectKey};
use aws_sdk_s3::types::{ChecksumMode, Tag, Tagging};

/// What HeadObject and the ranged GET report about an object.
#[derive(Debug, Clone)]
pub struct StoredObject {
    /// Size in bytes.
    pub size: u64,
    /// The stored `Content-Type`.
    pub content_type: Option<String>,
    /// The ETag without quotes.
    pub etag: String,
    /// The version id on a versioned bucket.
    pub version_id: Option<String>,
    /// The full-object checksum S3 reports (composite multipart checksums are left out).
    pub checksum: Option<(ChecksumAlgorithm, String)>,
    /// The first bytes, at most the requested count.
    pub head: Vec<u8>,
}

/// The tag a quarantined object carries.
pub const QUARANTINE_TAG: (&str, &str) = ("s3-broker-verification", "mismatch");

impl S3Client {
    /// HeadObject with `x-amz-checksum-mode: ENABLED`, then a GET of the first `head_bytes`
    /// bytes with `If-Match` on the ETag just read (an object replaced in between is read
    /// again by the next verify, never mixed). `None`: no such object.
    ///
    /// See <https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html> and
    /// <https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html>
    pub async fn stored_object(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        head_bytes: u64,
    ) -> Result<Option<StoredObject>, S3Error> {
        let request = self
            .client
            .head_object()
            .bucket(bucket.as_str())
            .key(key.as_str())
            .checksum_mode(ChecksumMode::Enabled)
            .send();
        let head = match self.timed("HeadObject", request).await {
            Ok(head) => head,
            Err(S3Error::NoSuchKey | S3Error::NoSuchUpload) => return Ok(None),
            Err(err) => return Err(err),
        };
        let size = head
            .content_length()
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0);
        let raw_etag = head.e_tag().unwrap_or_default().to_owned();
        let checksum = [
            (ChecksumAlgorithm::Sha256, head.checksum_sha256()),
            (ChecksumAlgorithm::Sha1, head.checksum_sha1()),
            (ChecksumAlgorithm::Crc32, head.checksum_crc32()),
            (ChecksumAlgorithm::Crc32c, head.checksum_crc32_c()),
            (ChecksumAlgorithm::Crc64Nvme, head.checksum_crc64_nvme()),
        ]
        .into_iter()
        .find_map(|(algorithm, value)| {
            value
                .filter(|v| !v.is_empty() && !v.contains('-'))
                .map(|v| (algorithm, v.to_owned()))
        });
        let mut object = StoredObject {
            size,
            content_type: head.content_type().map(str::to_owned),
            etag: raw_etag.trim_matches('"').to_owned(),
            version_id: head
                .version_id()
                .filter(|v| *v != "null")
                .map(str::to_owned),
            checksum,
            head: Vec::new(),
        };
        let wanted = head_bytes.min(size);
        if wanted == 0 {
            return Ok(Some(object));
        }
        let mut get = self
            .client
            .get_object()
            .bucket(bucket.as_str())
            .key(key.as_str())
            .range(format!("bytes=0-{}", wanted - 1));
        if !raw_etag.is_empty() {
            get = get.if_match(raw_etag);
        }
        let read = async {
            let output = self.timed("GetObject", get.send()).await?;
            let mut body = output.body;
            let mut bytes = Vec::with_capacity(usize::try_from(wanted).unwrap_or(0));
            while let Some(chunk) = body
                .try_next()
                .await
                .map_err(|e| S3Error::Unavailable(e.to_string()))?
            {
                let room = usize::try_from(wanted).unwrap_or(usize::MAX) - bytes.len();
                bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if bytes.len() as u64 >= wanted {
                    break;
                }
            }
            Ok::<_, S3Error>(bytes)
        };
        object.head = tokio::time::timeout(self.operation_timeout, read)
            .await
            .map_err(|_| S3Error::Unavailable("GetObject: the body did not arrive in time".into()))?
            .map_err(|err| match err {
                // Replaced between HEAD and GET: S3 says 412.
                S3Error::PreconditionFailed => S3Error::Conflict,
                other => other,
            })?;
        Ok(Some(object))
    }

    /// DeleteObject.
    ///
    /// See <https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObject.html>
    pub async fn delete_object(&self, bucket: &BucketName, key: &ObjectKey) -> Result<(), S3Error> {
        let request = self
            .client
            .delete_object()
            .bucket(bucket.as_str())
            .key(key.as_str())
            .send();
        self.timed("DeleteObject", request).await.map(|_| ())
    }

    /// PutObjectTagging with [`QUARANTINE_TAG`] (it replaces the object's tag set).
    ///
    /// See <https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectTagging.html>
    pub async fn quarantine_object(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
    ) -> Result<(), S3Error> {
        let tag = Tag::builder()
            .key(QUARANTINE_TAG.0)
            .value(QUARANTINE_TAG.1)
            .build()
            .map_err(|e| S3Error::Refused(e.to_string()))?;
        let tagging = Tagging::builder()
            .tag_set(tag)
            .build()
            .map_err(|e| S3Error::Refused(e.to_string()))?;
        let request = self
            .client
            .put_object_tagging()
            .bucket(bucket.as_str())
            .key(key.as_str())
            .tagging(tagging)
            .send();
        self.timed("PutObjectTagging", request).await.map(|_| ())
    }
}
