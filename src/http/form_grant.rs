//! A POST policy request from a form decision: the no-JavaScript upload of the demo page
//! (and Uppy's `/s3/params`). Key and content type may be prefixes, since the browser picks
//! the file after the form is rendered.

use super::ApiError;
use super::grant::{bound_fields, sign_decided};
use crate::backend::Backend;
use crate::domain::Expiry;
use crate::policy::{FormContentType, FormKey, FormUploadDecision};
use crate::sigv4::{
    ContentTypeRule, KeyRule, PostPolicyRequest, PresignRequest, S3Operation, SignedHeaders,
};

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

/// The PUT that stands in for a form on a backend without POST Object (Uppy's single
/// uploads, from [`crate::policy::Profile::decide_unsized_put`]): the exact key, a signed
/// `Content-Type`, encryption and metadata headers, and `If-None-Match: *` for profiles that
/// must not overwrite where the backend honours it. No `Content-Length`: the client did not
/// declare a size, so this grant does not limit it.
pub fn unsized_put_request(
    decision: &FormUploadDecision,
    backend: Backend,
    expires: Expiry,
) -> Result<PresignRequest, ApiError> {
    let (FormKey::Exact(key), FormContentType::Exact(content_type)) =
        (&decision.key, &decision.content_type)
    else {
        tracing::error!("an unsized PUT decision without an exact key and type");
        return Err(ApiError::internal());
    };
    let mut headers = SignedHeaders::new().content_type(content_type);
    if decision.no_overwrite && backend.conditional_put() {
        headers = headers.if_none_match_any();
    }
    sign_decided(
        &mut headers,
        bound_fields(decision.server_side_encryption.as_ref(), &decision.metadata),
    )?;
    let mut request = PresignRequest::new(
        S3Operation::PutObject,
        decision.bucket.clone(),
        key.clone(),
        expires,
    );
    request.headers = headers;
    Ok(request)
}
