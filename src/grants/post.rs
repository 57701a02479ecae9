//! A decided POST upload → a POST policy binding the exact key, type and size, and every
//! other limit as an exact-match field.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html>

use super::{attribution_field, encryption_and_metadata};
use crate::domain::{Expiry, GrantId};
use crate::policy::UploadDecision;
use crate::sigv4::{ContentTypeRule, KeyRule, PostPolicyRequest};

/// A POST policy with the exact key and type, the size range and every other limit
/// (encryption, metadata, checksum algorithm and value, the `grant` id) as an exact-match
/// field, valid for `expires`.
pub fn post_request(
    decision: &UploadDecision,
    expires: Expiry,
    grant: &GrantId,
) -> PostPolicyRequest {
    let mut fields = encryption_and_metadata(decision.encryption_fields(), &decision.metadata);
    if let Some(checksum) = &decision.checksum {
        fields.push((
            "x-amz-checksum-algorithm".into(),
            checksum.algorithm().as_str().into(),
        ));
        fields.push((
            checksum.algorithm().header_name().into(),
            checksum.value().into(),
        ));
    }
    fields.push(attribution_field(grant));
    PostPolicyRequest {
        bucket: decision.bucket.clone(),
        key: KeyRule::Exact(decision.key.clone()),
        content_type: Some(ContentTypeRule::Exact(decision.content_type.clone())),
        size: Some(decision.content_length_range()),
        fields,
        expires,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Backend;
    use crate::grants::test_support::{SHA256, decide, intent, post_profile};
    use crate::policy::{UploadIntent, UploadMethod};

    #[test]
    fn binds_key_type_size_checksum_and_metadata_exactly() {
        let decision = decide(
            &post_profile(""),
            Backend::Aws,
            UploadIntent {
                method: Some(UploadMethod::Post),
                checksum_sha256: Some(SHA256.into()),
                metadata: [("project".to_owned(), "apollo".to_owned())].into(),
                ..intent()
            },
        );
        let grant = GrantId::new();
        let post = post_request(&decision, Expiry::from_secs(90).unwrap(), &grant);
        assert_eq!(post.key, KeyRule::Exact(decision.key.clone()));
        assert_eq!(
            post.content_type,
            Some(ContentTypeRule::Exact(decision.content_type.clone()))
        );
        assert_eq!(post.size, Some((12, 12)));
        assert_eq!(post.expires.as_secs(), 90);
        assert_eq!(
            post.fields,
            [
                ("x-amz-meta-project".to_owned(), "apollo".to_owned()),
                ("x-amz-checksum-algorithm".to_owned(), "SHA256".to_owned()),
                ("x-amz-checksum-sha256".to_owned(), SHA256.to_owned()),
                (
                    "x-amz-meta-broker-grant".to_owned(),
                    grant.as_str().to_owned()
                ),
            ]
        );
    }

    #[test]
    fn a_default_post_becomes_a_put_where_the_backend_has_no_post_object() {
        let post_default = post_profile("default_method = \"POST\"");
        assert_eq!(
            decide(&post_default, Backend::Aws, intent()).method,
            UploadMethod::Post
        );
        assert_eq!(
            decide(&post_default, Backend::R2, intent()).method,
            UploadMethod::Put
        );
    }
}
