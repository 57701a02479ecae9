//! A decided PUT upload → a presigned PutObject that signs every limit as a header.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html>

use super::{BuildError, attribute_url, encryption_and_metadata, sign_decided};
use crate::domain::{Expiry, GrantId};
use crate::policy::UploadDecision;
use crate::sigv4::{PresignRequest, S3Operation, SignedHeaders};

/// PutObject signing the decision's `Content-Type`, exact `Content-Length`, checksum,
/// `Content-MD5`, `If-None-Match: *` (where the decision binds it: the backend honours it),
/// encryption and `x-amz-meta-*` headers, and the `grant` id, valid for `expires`.
pub fn put_request(
    decision: &UploadDecision,
    expires: Expiry,
    grant: &GrantId,
) -> Result<PresignRequest, BuildError> {
    let mut headers = SignedHeaders::new()
        .content_type(&decision.content_type)
        .content_length(decision.size);
    if let Some(checksum) = &decision.checksum {
        headers = headers.checksum(checksum);
    }
    if let Some(md5) = &decision.content_md5 {
        headers = headers.content_md5(md5);
    }
    if decision.if_none_match {
        headers = headers.if_none_match_any();
    }
    sign_decided(
        &mut headers,
        encryption_and_metadata(decision.encryption_headers(), &decision.metadata),
    )?;
    let mut request = PresignRequest::new(
        S3Operation::PutObject,
        decision.bucket.clone(),
        decision.key.clone(),
        expires,
    );
    request.headers = headers;
    attribute_url(&mut request, grant)?;
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Backend;
    use crate::grants::test_support::{MD5, SHA256, decide, intent, post_profile, profile};
    use crate::policy::{UploadIntent, UploadMethod};

    fn signed(request: &PresignRequest) -> Vec<(String, String)> {
        request
            .headers
            .iter()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect()
    }

    fn header<'a>(request: &'a PresignRequest, name: &str) -> Option<&'a str> {
        request
            .headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
    }

    #[test]
    fn binds_type_length_and_no_overwrite_at_the_decided_key() {
        let decision = decide(&profile(""), Backend::Aws, intent());
        let grant = GrantId::new();
        let request = put_request(&decision, Expiry::from_secs(60).unwrap(), &grant).unwrap();
        assert_eq!(request.operation, S3Operation::PutObject);
        assert_eq!(request.key, decision.key);
        assert!(request.key.as_str().ends_with("/a.txt"));
        assert_eq!(request.bucket.as_str(), "uploads");
        assert_eq!(request.expires.as_secs(), 60);
        assert_eq!(
            signed(&request),
            [
                ("content-length".to_owned(), "12".to_owned()),
                ("content-type".to_owned(), "text/plain".to_owned()),
                ("if-none-match".to_owned(), "*".to_owned()),
            ]
        );
        assert!(request.query.is_empty());
        assert_eq!(request.grant, Some(grant));
    }

    #[test]
    fn if_none_match_only_where_the_backend_honours_it() {
        let fixed = profile("");
        let gcs = decide(&fixed, Backend::Gcs, intent());
        let put = put_request(&gcs, Expiry::MAX, &GrantId::new()).unwrap();
        assert_eq!(header(&put, "if-none-match"), None, "GCS ignores it");
        for backend in [Backend::Aws, Backend::Minio, Backend::Ceph, Backend::R2] {
            let put = put_request(
                &decide(&fixed, backend, intent()),
                Expiry::MAX,
                &GrantId::new(),
            )
            .unwrap();
            assert_eq!(header(&put, "if-none-match"), Some("*"), "{backend}");
        }
        let overwrite = decide(&post_profile(""), Backend::Aws, intent());
        let put = put_request(&overwrite, Expiry::MAX, &GrantId::new()).unwrap();
        assert_eq!(header(&put, "if-none-match"), None);
    }

    #[test]
    fn binds_checksum_md5_encryption_and_metadata() {
        let decision = decide(
            &profile("server_side_encryption = \"aws:kms\"\nkms_key_id = \"alias/k\""),
            Backend::Aws,
            UploadIntent {
                checksum_sha256: Some(SHA256.into()),
                content_md5: Some(MD5.into()),
                metadata: [("project".to_owned(), "apollo".to_owned())].into(),
                method: Some(UploadMethod::Put),
                ..intent()
            },
        );
        let put = put_request(&decision, Expiry::MAX, &GrantId::new()).unwrap();
        assert_eq!(header(&put, "x-amz-checksum-sha256"), Some(SHA256));
        assert_eq!(header(&put, "content-md5"), Some(MD5));
        assert_eq!(
            header(&put, "x-amz-server-side-encryption"),
            Some("aws:kms")
        );
        assert_eq!(
            header(&put, "x-amz-server-side-encryption-aws-kms-key-id"),
            Some("alias/k")
        );
        assert_eq!(header(&put, "x-amz-meta-project"), Some("apollo"));
    }

    #[test]
    fn sse_c_binds_the_algorithm_and_key_md5_but_not_the_key() {
        let decision = decide(
            &profile("server_side_encryption = \"SSE-C\""),
            Backend::Aws,
            UploadIntent {
                sse_customer_key_md5: Some(MD5.into()),
                ..intent()
            },
        );
        let put = put_request(&decision, Expiry::MAX, &GrantId::new()).unwrap();
        assert_eq!(
            header(&put, "x-amz-server-side-encryption-customer-algorithm"),
            Some("AES256")
        );
        assert_eq!(
            header(&put, "x-amz-server-side-encryption-customer-key-md5"),
            Some(MD5)
        );
        assert_eq!(
            header(&put, "x-amz-server-side-encryption-customer-key"),
            None
        );
    }
}
