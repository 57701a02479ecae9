//! CompleteMultipartUpload: bounded in total, retries included, and an answer lost on the way
//! back recognised as the success it was.
//!
//! The budget: S3 must start answering (response headers) within the operation timeout
//! (`s3.operation_timeout_secs`), counted over every attempt. One attempt waits at most half of
//! it, so an attempt that hangs leaves time for one retry. Once S3 has started answering it
//! may take up to [`COMPLETE_TIMEOUT`] to assemble the parts, keeping the connection alive
//! with whitespace.
//!
//! The lost answer: when an attempt reached S3 but its answer did not come back (a timeout, a
//! dropped connection), S3 may have completed the upload; the SDK's retry then gets
//! `NoSuchUpload`. Only in that case the object is looked up (HeadObject): when it is there
//! with the expected size, the upload succeeded.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html>
//! ("Note that if CompleteMultipartUpload fails, applications should be prepared to retry any
//! failed requests") and <https://docs.aws.amazon.com/sdkref/latest/guide/feature-timeouts.html>.

use super::{S3Client, S3Error, UploadRef};
use crate::domain::ChecksumAlgorithm;
use crate::multipart::PartToComplete;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_s3::config::interceptors::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_s3::error::{BoxError, SdkError};
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

/// How long a CompleteMultipartUpload may run once S3 has started answering: S3 may take
/// minutes to assemble many parts, keeping the connection alive with whitespace.
pub(crate) const COMPLETE_TIMEOUT: Duration = Duration::from_secs(600);

/// The completed object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletedObject {
    /// The object's ETag.
    pub etag: Option<String>,
    /// The object's URL, as S3 reports it (`None` when the answer was lost and the object
    /// was found with HeadObject instead).
    pub location: Option<String>,
}

/// What the attempts of one call did: how many started, and whether the current one has
/// S3's response headers.
#[derive(Debug, Clone, Default)]
struct Attempts(Arc<AttemptState>);

#[derive(Debug, Default)]
struct AttemptState {
    started: AtomicU32,
    answered: AtomicBool,
}

impl Attempts {
    /// More than one attempt started: an earlier one may have reached S3.
    fn retried(&self) -> bool {
        self.0.started.load(Ordering::SeqCst) > 1
    }

    /// The current attempt has S3's response headers.
    fn answered(&self) -> bool {
        self.0.answered.load(Ordering::SeqCst)
    }
}

impl Intercept for Attempts {
    fn name(&self) -> &'static str {
        "CompleteAttempts"
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.started.fetch_add(1, Ordering::SeqCst);
        self.0.answered.store(false, Ordering::SeqCst);
        Ok(())
    }

    fn read_after_transmit(
        &self,
        _context: &BeforeDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.answered.store(true, Ordering::SeqCst);
        Ok(())
    }
}

/// How long one attempt waits for S3's response headers: half the budget (at least 1 s, at
/// most the budget), so that one retry fits.
fn attempt_timeout(budget: Duration) -> Duration {
    (budget / 2).max(Duration::from_secs(1)).min(budget)
}

/// Awaits `call` until `first_answer` has passed; then keeps waiting only if the current
/// attempt has S3's response headers (the SDK's own operation timeout still bounds it).
/// `None`: S3 did not start answering in time.
async fn within_budget<F: Future>(
    call: F,
    attempts: &Attempts,
    first_answer: Duration,
) -> Option<F::Output> {
    let mut call = std::pin::pin!(call);
    match tokio::time::timeout(first_answer, &mut call).await {
        Ok(output) => Some(output),
        Err(_) if attempts.answered() => Some(call.await),
        Err(_) => None,
    }
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

impl S3Client {
    /// CompleteMultipartUpload with `parts`, whose sizes add up to `expected_size`; with
    /// `if_none_match`, S3 refuses (412) to replace an existing object.
    ///
    /// See <https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html>
    pub async fn complete_multipart(
        &self,
        upload: UploadRef<'_>,
        parts: &[PartToComplete],
        checksum_algorithm: Option<ChecksumAlgorithm>,
        if_none_match: bool,
        expected_size: u64,
    ) -> Result<CompletedObject, S3Error> {
        let completed = CompletedMultipartUpload::builder()
            .set_parts(Some(
                parts
                    .iter()
                    .map(|p| completed_part(p, checksum_algorithm))
                    .collect(),
            ))
            .build();
        let budget = self.operation_timeout;
        let attempts = Attempts::default();
        let request = self
            .client()
            .complete_multipart_upload()
            .bucket(upload.bucket.as_str())
            .key(upload.key.as_str())
            .upload_id(upload.upload_id.as_str())
            .multipart_upload(completed)
            .set_if_none_match(if_none_match.then(|| "*".to_owned()))
            .customize()
            .interceptor(attempts.clone())
            .config_override(
                aws_sdk_s3::config::Builder::default().timeout_config(
                    TimeoutConfig::builder()
                        .connect_timeout(Duration::from_secs(3))
                        .read_timeout(attempt_timeout(budget))
                        .operation_timeout(COMPLETE_TIMEOUT.max(budget))
                        .build(),
                ),
            )
            .send();
        let call = async {
            match within_budget(request, &attempts, budget).await {
                Some(result) => result,
                None => Err(SdkError::timeout_error(format!(
                    "S3 did not start answering within {} s",
                    budget.as_secs()
                ))),
            }
        };
        match self.timed("CompleteMultipartUpload", call).await {
            Ok(output) => Ok(CompletedObject {
                etag: output.e_tag().filter(|e| !e.is_empty()).map(str::to_owned),
                location: output.location().map(str::to_owned),
            }),
            Err(S3Error::NoSuchUpload) if attempts.retried() => {
                self.completed_before(upload, expected_size).await
            }
            Err(err) => Err(err),
        }
    }

    /// After a retried Complete got `NoSuchUpload`: the object, if it is there with
    /// `expected_size` (an earlier attempt completed the upload and its answer was lost);
    /// else `NoSuchUpload` stands.
    async fn completed_before(
        &self,
        upload: UploadRef<'_>,
        expected_size: u64,
    ) -> Result<CompletedObject, S3Error> {
        match self.head_object(upload.bucket, upload.key).await {
            Ok(Some(head)) if head.size == expected_size => {
                tracing::info!(
                    key = upload.key.as_str(),
                    "CompleteMultipartUpload's answer was lost; its retry found the object"
                );
                Ok(CompletedObject {
                    etag: head.etag,
                    location: None,
                })
            }
            Ok(_) => Err(S3Error::NoSuchUpload),
            Err(err) => {
                tracing::warn!(
                    error = %err,
                    "HeadObject after a retried CompleteMultipartUpload failed"
                );
                Err(S3Error::NoSuchUpload)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_retry_fits_in_the_budget() {
        let secs = |s: u64| Duration::from_secs(s);
        assert_eq!(attempt_timeout(secs(10)), secs(5));
        assert_eq!(attempt_timeout(secs(3)), Duration::from_millis(1500));
        assert_eq!(attempt_timeout(secs(1)), secs(1));
    }

    #[tokio::test]
    async fn waits_past_the_budget_only_for_an_answering_attempt() {
        let attempts = Attempts::default();
        let slow = tokio::time::sleep(Duration::from_millis(200));
        let short = Duration::from_millis(20);
        assert!(within_budget(slow, &attempts, short).await.is_none());
        attempts.0.answered.store(true, Ordering::SeqCst);
        let slow = tokio::time::sleep(Duration::from_millis(50));
        assert!(within_budget(slow, &attempts, short).await.is_some());
    }
}
