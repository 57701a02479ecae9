//! A decided multipart upload → what CreateMultipartUpload sets on the future object: as a
//! plain value for the S3 adapter (the `/v1` and Companion routes create the upload
//! themselves), or as the headers of a presigned request (Uppy's `signRequest`, where the
//! browser creates it).
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateMultipartUpload.html>

use super::{BuildError, bound_fields, sign_decided};
use crate::domain::{BucketName, ChecksumAlgorithm, ContentType, ObjectKey};
use crate::policy::MultipartDecision;
use crate::sigv4::SignedHeaders;

/// What CreateMultipartUpload sets on the future object, in plain values: the S3 adapter
/// takes it without knowing the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUpload {
    /// Bucket.
    pub bucket: BucketName,
    /// Key.
    pub key: ObjectKey,
    /// The object's `Content-Type`.
    pub content_type: ContentType,
    /// `x-amz-meta-*` values by key without the prefix, sorted by key.
    pub metadata: Vec<(String, String)>,
    /// Server-side encryption.
    pub encryption: Option<NewEncryption>,
    /// The checksum algorithm every part must carry.
    pub checksum_algorithm: Option<ChecksumAlgorithm>,
}

/// Server-side encryption set at create time (`x-amz-server-side-encryption` and
/// `x-amz-server-side-encryption-aws-kms-key-id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEncryption {
    /// `AES256`, `aws:kms` or `aws:kms:dsse`.
    pub algorithm: &'static str,
    /// The KMS key, if the profile names one.
    pub kms_key_id: Option<String>,
}

impl NewUpload {
    /// What `decision` sets at create time.
    pub fn of(decision: &MultipartDecision) -> Self {
        Self {
            bucket: decision.bucket.clone(),
            key: decision.key.clone(),
            content_type: decision.content_type.clone(),
            metadata: decision
                .metadata
                .iter()
                .map(|(key, value)| (key.as_str().to_owned(), value.clone()))
                .collect(),
            encryption: decision
                .server_side_encryption
                .as_ref()
                .map(|sse| NewEncryption {
                    algorithm: sse.algorithm(),
                    kms_key_id: sse.kms_key_id().map(str::to_owned),
                }),
            checksum_algorithm: decision.checksum_algorithm,
        }
    }
}

/// The headers a presigned CreateMultipartUpload signs for `decision`: its `Content-Type`,
/// encryption, `x-amz-meta-*` and, when decided, `x-amz-checksum-algorithm`.
pub fn create_multipart_headers(decision: &MultipartDecision) -> Result<SignedHeaders, BuildError> {
    let mut headers = SignedHeaders::new().content_type(&decision.content_type);
    sign_decided(
        &mut headers,
        bound_fields(decision.server_side_encryption.as_ref(), &decision.metadata),
    )?;
    if let Some(algorithm) = decision.checksum_algorithm {
        headers.insert("x-amz-checksum-algorithm", algorithm.as_str())?;
    }
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Backend;
    use crate::grants::test_support::{alice, now, profile};
    use crate::policy::MultipartIntent;
    use uuid::Uuid;

    fn decision(extra: &str, checksum_algorithm: Option<&str>) -> MultipartDecision {
        profile(&format!("multipart = true\n{extra}"))
            .decide_multipart(
                &alice(),
                &MultipartIntent {
                    filename: "a.txt".into(),
                    content_type: "text/plain".into(),
                    size: Some(12),
                    checksum_algorithm: checksum_algorithm.map(str::to_owned),
                    metadata: [("project".to_owned(), "apollo".to_owned())].into(),
                    ..MultipartIntent::default()
                },
                Backend::Aws,
                Uuid::nil(),
                now(),
            )
            .unwrap()
    }

    #[test]
    fn the_sdk_value_and_the_signed_headers_carry_the_same_settings() {
        let decision = decision(
            "server_side_encryption = \"aws:kms\"\nkms_key_id = \"alias/k\"",
            Some("CRC32C"),
        );
        let new = NewUpload::of(&decision);
        assert_eq!((&new.bucket, &new.key), (&decision.bucket, &decision.key));
        assert_eq!(new.content_type.as_str(), "text/plain");
        assert_eq!(new.metadata, [("project".to_owned(), "apollo".to_owned())]);
        assert_eq!(
            new.encryption,
            Some(NewEncryption {
                algorithm: "aws:kms",
                kms_key_id: Some("alias/k".into()),
            })
        );
        assert_eq!(new.checksum_algorithm, Some(ChecksumAlgorithm::Crc32c));

        let headers = create_multipart_headers(&decision).unwrap();
        let headers: Vec<(&str, &str)> = headers.iter().collect();
        assert_eq!(
            headers,
            [
                ("content-type", "text/plain"),
                ("x-amz-checksum-algorithm", "CRC32C"),
                ("x-amz-meta-project", "apollo"),
                ("x-amz-server-side-encryption", "aws:kms"),
                ("x-amz-server-side-encryption-aws-kms-key-id", "alias/k"),
            ]
        );
    }

    #[test]
    fn without_encryption_or_checksum_only_type_and_metadata() {
        let decision = decision("", None);
        assert_eq!(NewUpload::of(&decision).encryption, None);
        let headers = create_multipart_headers(&decision).unwrap();
        let names: Vec<&str> = headers.iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["content-type", "x-amz-meta-project"]);
    }
}
