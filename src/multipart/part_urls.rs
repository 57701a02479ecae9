//! Presigned UploadPart URLs, one or a whole batch, for the native multipart API and the Uppy
//! routes.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPart.html>.

use super::PartPlan;
use crate::domain::{BucketName, Checksum, Credentials, Expiry, ObjectKey, PartNumber, UploadId};
use crate::sigv4::{
    PresignRequest, PresignedRequest, S3Operation, SignedHeaders, Signer, SigningError,
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// Batches at least this large are signed on several threads.
const PARALLEL_FROM: usize = 256;
/// At most this many signing threads per batch.
const MAX_THREADS: usize = 4;

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

/// One presigned part of a planned upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartGrant {
    /// The part number.
    pub part_number: u16,
    /// Where to PUT the part's bytes.
    pub url: String,
    /// Headers to send with exactly these values (`content-length` is the exact part size;
    /// HTTP clients set it from the body).
    pub headers: BTreeMap<String, String>,
    /// The part's exact size in bytes.
    pub size: u64,
}

/// Why a batch cannot be signed.
#[derive(Debug, thiserror::Error)]
pub enum PartSigningError {
    /// The part is not in the plan.
    #[error("part {0} is not in the plan")]
    NotInPlan(PartNumber),
    /// The signer refused.
    #[error(transparent)]
    Signing(#[from] SigningError),
}

impl PartSigning<'_> {
    /// One UploadPart URL. `length` and `checksum` become signed headers, so S3 refuses a
    /// part of another size or with other bytes.
    pub fn sign(
        &self,
        part_number: PartNumber,
        length: Option<u64>,
        checksum: Option<&Checksum>,
    ) -> Result<PresignedRequest, SigningError> {
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
        self.signer.presign(self.credentials, &request, self.now)
    }

    /// URLs for `numbers` of `plan`, each signing the part's exact length and its checksum
    /// from `checksums` (by part number) when present. Large batches are split across the
    /// machine's cores (10,000 parts is ~10 ms of signing on one core).
    pub fn sign_planned(
        &self,
        plan: &PartPlan,
        numbers: &[PartNumber],
        checksums: &BTreeMap<u16, Checksum>,
    ) -> Result<Vec<PartGrant>, PartSigningError> {
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(MAX_THREADS);
        if threads < 2 || numbers.len() < PARALLEL_FROM {
            return self.sign_sequentially(plan, numbers, checksums);
        }
        let chunk = numbers.len().div_ceil(threads);
        std::thread::scope(|scope| {
            let handles: Vec<_> = numbers
                .chunks(chunk)
                .map(|part| scope.spawn(move || self.sign_sequentially(plan, part, checksums)))
                .collect();
            let mut grants = Vec::with_capacity(numbers.len());
            for handle in handles {
                let signed = handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
                grants.extend(signed);
            }
            Ok(grants)
        })
    }

    fn sign_sequentially(
        &self,
        plan: &PartPlan,
        numbers: &[PartNumber],
        checksums: &BTreeMap<u16, Checksum>,
    ) -> Result<Vec<PartGrant>, PartSigningError> {
        numbers
            .iter()
            .map(|&number| {
                let size = plan
                    .part_length(number)
                    .ok_or(PartSigningError::NotInPlan(number))?;
                let presigned = self.sign(number, Some(size), checksums.get(&number.get()))?;
                Ok(PartGrant {
                    part_number: number.get(),
                    url: presigned.url,
                    headers: presigned.headers.into_iter().collect(),
                    size,
                })
            })
            .collect()
    }
}
