//! A POST policy request from a form decision: the no-JavaScript upload of the demo page
//! (and Uppy's `/s3/params`). Key and content type may be prefixes, since the browser picks
//! the file after the form is rendered.

use super::grant::{bound_fields, signing_window};
use super::{ApiError, AppState};
use crate::domain::{Expiry, Principal};
use crate::policy::{FormContentType, FormIntent, FormKey, FormUploadDecision, Profile};
use crate::sigv4::{ContentTypeRule, KeyRule, PostForm, PostPolicyRequest};
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Decides `intent` under `profile` (a fresh `{uuid}`) and signs its POST policy at `now`, for
/// the decided lifetime capped by the credentials; `extra` as in [`form_policy_request`].
/// Callers check first that the backend has POST Object.
pub async fn signed_form(
    state: &AppState,
    principal: &Principal,
    profile: &Profile,
    intent: &FormIntent,
    now: DateTime<Utc>,
    extra: Vec<(String, String)>,
) -> Result<PostForm, ApiError> {
    let decision = profile.decide_form_upload(principal, intent, Uuid::new_v4(), now, None)?;
    let (credentials, expires) = signing_window(state, decision.expires, now).await?;
    Ok(state.signer.post_policy(
        &credentials,
        &form_policy_request(&decision, expires, extra),
        now,
    )?)
}

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
