//! A POST policy request from a form decision: the no-JavaScript upload of the demo page
//! (and Uppy's `/s3/params`). Key and content type may be prefixes, since the browser picks
//! the file after the form is rendered.

use super::grant::bound_fields;
use crate::domain::Expiry;
use crate::policy::{FormContentType, FormKey, FormUploadDecision};
use crate::sigv4::{ContentTypeRule, KeyRule, PostPolicyRequest};

/// Binds every limit of `decision` as a policy condition; `extra` adds exact-match fields
/// (e.g. `success_action_redirect`).
pub fn form_policy_request(
    decision: &FormUploadDecision,
    expires: Expiry,
    extra: Vec<(String, String)>,
) -> PostPolicyRequest {
    let mut fields = bound_fields(decision.server_side_encryption.as_ref(), &decision.metadata);
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
