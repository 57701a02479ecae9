//! A signed POST policy from a form decision: the no-JavaScript upload of the demo page,
//! `POST /v1/forms` and Uppy's `/s3/params`. Key and content type may be prefixes, since the
//! browser picks the file after the form is rendered.

use super::grant::signing_window;
use super::{ApiError, AppState};
use crate::domain::{Expiry, Principal};
use crate::grants::form_policy_request;
use crate::multipart::{UploadToken, extension_of};
use crate::policy::{FormContentType, FormIntent, FormKey, FormUploadDecision, Profile};
use crate::sigv4::PostForm;
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
    let (_, form) = decided_form(state, principal, profile, intent, now, None, extra).await?;
    Ok(form)
}

/// The sealed `upload` token of a form for one exact key and type (Uppy's `/s3/params` and
/// `/s3/sign` PutObject), for `POST /v1/uploads/verify`: its size is not declared (the
/// policy's `content-length-range` bounds it). `None` when the key or the type is a prefix,
/// which the browser completes with the file it picks.
pub(super) fn form_upload_token(
    state: &AppState,
    principal: &Principal,
    decision: &FormUploadDecision,
    now: DateTime<Utc>,
) -> Option<String> {
    let (FormKey::Exact(key), FormContentType::Exact(content_type)) =
        (&decision.key, &decision.content_type)
    else {
        return None;
    };
    let name = key.as_str().rsplit('/').next().unwrap_or_default();
    Some(state.tickets.seal_upload(&UploadToken {
        principal: principal.segment.clone(),
        profile: decision.profile.clone(),
        bucket: decision.bucket.clone(),
        key: key.clone(),
        size: None,
        content_type: content_type.clone(),
        checksum: None,
        extension: extension_of(name),
        grant_id: Uuid::new_v4().to_string(),
        expires_at: now + state.ticket_ttl,
    }))
}

/// As [`signed_form`], for the `requested` lifetime, with the decision the form was signed
/// from.
pub(super) async fn decided_form(
    state: &AppState,
    principal: &Principal,
    profile: &Profile,
    intent: &FormIntent,
    now: DateTime<Utc>,
    requested: Option<Expiry>,
    extra: Vec<(String, String)>,
) -> Result<(FormUploadDecision, PostForm), ApiError> {
    let decision = profile.decide_form_upload(principal, intent, Uuid::new_v4(), now, requested)?;
    // The size is not known before the file is chosen: the most the form accepts is debited.
    state
        .limits
        .grant(
            &principal.segment,
            &decision.profile,
            Some(decision.size.max),
        )
        .await?;
    let (credentials, expires) = signing_window(state, decision.lifetime, None, now).await?;
    let request = form_policy_request(&decision, expires, extra);
    let form = state.signer.post_policy(&credentials, &request, now)?;
    Ok((decision, form))
}
