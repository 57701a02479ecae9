//! A decided form upload → a POST policy for a page rendered before the file is chosen (the
//! demo page, Uppy's `/s3/params`): key and content type may be prefixes.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html>

use super::{attribution_field, bound_fields};
use crate::domain::{Expiry, GrantId};
use crate::policy::{FormContentType, FormKey, FormUploadDecision};
use crate::sigv4::{ContentTypeRule, KeyRule, PostPolicyRequest};

/// Binds every limit of `decision` and the `grant` id as policy conditions, valid for
/// `expires`; `extra` adds exact-match fields (e.g. `success_action_redirect`).
pub fn form_policy_request(
    decision: &FormUploadDecision,
    expires: Expiry,
    grant: &GrantId,
    extra: Vec<(String, String)>,
) -> PostPolicyRequest {
    let mut fields = bound_fields(decision.server_side_encryption.as_ref(), &decision.metadata);
    fields.push(attribution_field(grant));
    fields.extend(extra);
    PostPolicyRequest {
        bucket: decision.bucket.clone(),
        key: match &decision.key {
            FormKey::Exact(key) => KeyRule::Exact(key.clone()),
            FormKey::Prefix(prefix) => KeyRule::Prefix(prefix.clone()),
        },
        content_type: Some(match &decision.content_type {
            FormContentType::Exact(ct) => ContentTypeRule::Exact(ct.clone()),
            FormContentType::Prefix(prefix) => ContentTypeRule::Prefix(prefix.clone()),
        }),
        size: Some((decision.size.min, decision.size.max)),
        fields,
        expires,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grants::test_support::{alice, now, post_profile};
    use crate::policy::FormIntent;
    use uuid::Uuid;

    #[test]
    fn a_form_binds_the_key_prefix_type_size_range_and_extra_fields() {
        let profile = post_profile("server_side_encryption = \"AES256\"");
        let decision = profile
            .decide_form_upload(
                &alice(),
                &FormIntent {
                    content_type: Some("text/plain".into()),
                    ..FormIntent::default()
                },
                Uuid::nil(),
                now(),
                None,
            )
            .unwrap();
        let redirect = (
            "success_action_redirect".to_owned(),
            "https://a.test/".to_owned(),
        );
        let grant = GrantId::new();
        let post = form_policy_request(
            &decision,
            Expiry::from_secs(30).unwrap(),
            &grant,
            vec![redirect.clone()],
        );
        let FormKey::Prefix(prefix) = &decision.key else {
            panic!("{{filename}} makes the key a prefix")
        };
        assert_eq!(post.key, KeyRule::Prefix(prefix.clone()));
        let FormContentType::Exact(content_type) = &decision.content_type else {
            panic!("the type was named")
        };
        assert_eq!(
            post.content_type,
            Some(ContentTypeRule::Exact(content_type.clone()))
        );
        assert_eq!(post.size, Some((decision.size.min, 100)));
        assert_eq!(
            post.fields,
            [
                (
                    "x-amz-server-side-encryption".to_owned(),
                    "AES256".to_owned()
                ),
                (
                    "x-amz-meta-broker-grant".to_owned(),
                    grant.as_str().to_owned()
                ),
                redirect,
            ]
        );
    }
}
