//! Presigned UploadPart URLs, shared by the native multipart API and the Uppy routes.

use super::ApiError;
use crate::domain::{BucketName, Checksum, Credentials, Expiry, ObjectKey, PartNumber, UploadId};
use crate::sigv4::{PresignRequest, PresignedRequest, S3Operation, SignedHeaders, Signer};
use chrono::{DateTime, Utc};

/// The upload a batch of part URLs is for, and their shared lifetime.
pub struct PartSigning<'a> {
    /// The broker's signer.
    pub signer: &'a Signer,
    /// Signing credentials.
    pub credentials: &'a Credentials,
    /// Bucket.
    pub bucket: &'a BucketName,
    /// Key.
    pub key: &'a ObjectKey,
    /// S3's upload id.
    pub upload_id: &'a UploadId,
    /// Lifetime of every URL.
    pub expires: Expiry,
    /// Signing time.
    pub now: DateTime<Utc>,
}

impl PartSigning<'_> {
    /// One UploadPart URL. `length` (the planned size) and `checksum` become signed headers,
    /// so S3 refuses a part of another size or with other bytes.
    ///
    /// See <https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPart.html>
    pub fn sign(
        &self,
        part_number: PartNumber,
        length: Option<u64>,
        checksum: Option<&Checksum>,
    ) -> Result<PresignedRequest, ApiError> {
        let mut headers = SignedHeaders::new();
        if let Some(length) = length {
            headers = headers.content_length(length);
        }
        if let Some(checksum) = checksum {
            headers = headers.checksum(checksum);
        }
        let mut request = PresignRequest::new(
            S3Operation::UploadPart {
                upload_id: self.upload_id.clone(),
                part_number,
            },
            self.bucket.clone(),
            self.key.clone(),
            self.expires,
        );
        request.headers = headers;
        Ok(self.signer.presign(self.credentials, &request, self.now)?)
    }
}
