//! Presigned UploadPart URLs, one or a whole batch, for the native multipart API and the Uppy
//! routes.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPart.html>.

use super::PartPlan;
use crate::domain::{BucketName, Checksum, Credentials, Expiry, ObjectKey, PartNumber, UploadId};
use crate::sigv4::{PartBatchError, PartHeaderShape, PartUrlBatch, Signer, SigningError};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// Batches at least this large are signed on several threads.
const PARALLEL_FROM: usize = 256;
/// At most this many signing threads per batch.
const MAX_THREADS: usize = 4;

/// Threads for a large batch: the cores available to the process (at most [`MAX_THREADS`]),
/// read once; `available_parallelism` reads cgroup files on Linux, which a request should
/// not pay for.
fn signing_threads() -> usize {
    static THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *THREADS.get_or_init(|| {
        std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(MAX_THREADS)
    })
}

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

impl PartGrant {
    /// About the length of this grant in JSON, to size a response buffer once.
    pub fn json_size_hint(&self) -> usize {
        self.url.len()
            + self
                .headers
                .iter()
                .map(|(n, v)| n.len() + v.len() + 6)
                .sum::<usize>()
            + 64
    }
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
    /// A part's length or checksum does not fit the batch.
    #[error(transparent)]
    Shape(#[from] PartBatchError),
}

impl PartSigning<'_> {
    /// The batch signer of this upload for URLs signing `shape`'s headers.
    fn batch(&self, shape: PartHeaderShape) -> Result<PartUrlBatch, SigningError> {
        self.signer.part_url_batch(
            self.credentials,
            self.bucket,
            self.key,
            self.upload_id,
            self.expires,
            self.now,
            shape,
        )
    }

    /// URLs for `numbers` that sign no length (Uppy's parts: their sizes are unknown).
    pub fn sign_unsized(&self, numbers: &[PartNumber]) -> Result<Vec<String>, PartSigningError> {
        let batch = self.batch(PartHeaderShape {
            content_length: false,
            checksum: None,
        })?;
        numbers
            .iter()
            .map(|&n| Ok(batch.sign(n, None, None)?.url))
            .collect()
    }

    /// URLs for `numbers` of `plan`, each signing the part's exact length, and its checksum
    /// from `checksums` (by part number) when the batch has checksums: then every part needs
    /// one, of one algorithm. Large batches are split across the machine's cores.
    pub fn sign_planned(
        &self,
        plan: &PartPlan,
        numbers: &[PartNumber],
        checksums: &BTreeMap<u16, Checksum>,
    ) -> Result<Vec<PartGrant>, PartSigningError> {
        let batch = self.batch(PartHeaderShape {
            content_length: true,
            checksum: checksums.values().next().map(Checksum::algorithm),
        })?;
        let threads = signing_threads();
        if threads < 2 || numbers.len() < PARALLEL_FROM {
            return sign_sequentially(&batch, plan, numbers, checksums);
        }
        let chunk = numbers.len().div_ceil(threads);
        let batch = &batch;
        std::thread::scope(|scope| {
            let handles: Vec<_> = numbers
                .chunks(chunk)
                .map(|part| scope.spawn(move || sign_sequentially(batch, plan, part, checksums)))
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
}

fn sign_sequentially(
    batch: &PartUrlBatch,
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
            let signed = batch.sign(number, Some(size), checksums.get(&number.get()))?;
            Ok(PartGrant {
                part_number: number.get(),
                url: signed.url,
                headers: signed
                    .headers
                    .into_iter()
                    .map(|(name, value)| (name.to_owned(), value))
                    .collect(),
                size,
            })
        })
        .collect()
}
