//! A signed POST policy from a form decision: the no-JavaScript upload of the demo page,
//! `POST /v1/forms` and Uppy's `/s3/params`. Key and content type may be prefixes, since the
//! browser picks the file after the form is rendered.

use super::grant::signing_window;
use super::{ApiError, AppState, GrantAdmission, GrantAudit, Grantee};
use crate::domain::{Expiry, GrantId, Principal};
use crate::grants::{GrantKind, form_grant_id, form_policy_request};
use crate::multipart::{UploadTokenFields, extension_of};
use crate::policy::{FormContentType, FormIntent, FormKey, FormUploadDecision, Profile};
use crate::sigv4::PostForm;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Decides `intent` under `profile` (a fresh `{uuid}`) and signs its POST policy at `now`, for
/// the decided lifetime capped by the credentials; `extra` as in [`form_policy_request`]. The
/// form carries a fresh grant id ([`crate::grants::form_grant_id`] reads it back), and the
/// grant is audited. Its one caller is the demo page of `s3-broker dev`, whose embedded store
/// takes POST Object forms: that page neither authenticates nor admits a request (no route
/// class's rate); it signs as the dev user it was started for, under the grant's own limits
/// only (the profile's rate and the quotas, when configured).
pub async fn signed_form(
    state: &AppState,
    principal: &Principal,
    profile: &Profile,
    intent: &FormIntent,
    now: DateTime<Utc>,
    extra: Vec<(String, String)>,
) -> Result<PostForm, ApiError> {
    let grantee = Grantee(principal.clone(), GrantAdmission::made());
    let (_, form) = decided_form(state, &grantee, profile, intent, now, None, extra).await?;
    Ok(form)
}

/// The sealed `upload` token of a form for one exact key and type (Uppy's `/s3/params` and
/// `/s3/sign` PutObject), for `POST /v1/uploads/verify`: its size is not declared (the
/// policy's `content-length-range` bounds it). `None` when the key or the type is a prefix,
/// which the browser completes with the file it picks. Its grant id is the form's.
pub(super) fn form_upload_token(
    state: &AppState,
    principal: &Principal,
    (decision, form): (&FormUploadDecision, &PostForm),
    now: DateTime<Utc>,
) -> Option<String> {
    let (FormKey::Exact(key), FormContentType::Exact(content_type)) =
        (&decision.key, &decision.content_type)
    else {
        return None;
    };
    let name = key.as_str().rsplit('/').next().unwrap_or_default();
    let extension = extension_of(name);
    Some(state.tickets.seal_upload(&UploadTokenFields {
        principal: &principal.segment,
        profile: &decision.profile,
        bucket: &decision.bucket,
        key,
        size: None,
        content_type,
        checksum: None,
        extension: extension.as_deref(),
        grant_id: form_grant_id(form)?.as_str(),
        expires_at: now + state.ticket_ttl,
    }))
}

/// As [`signed_form`], for the `requested` lifetime, with the decision the form was signed
/// from, and the request's admission if it was left to the grant.
pub(super) async fn decided_form(
    state: &AppState,
    Grantee(principal, admission): &Grantee,
    profile: &Profile,
    intent: &FormIntent,
    now: DateTime<Utc>,
    requested: Option<Expiry>,
    extra: Vec<(String, String)>,
) -> Result<(FormUploadDecision, PostForm), ApiError> {
    let decision = profile.decide_form_upload(principal, intent, Uuid::new_v4(), now, requested)?;
    // The size is not known before the file is chosen: the most the form accepts is debited.
    let (who, size) = (&principal.segment, Some(decision.size.max));
    admission
        .grant(&state.limits, who, &decision.profile, size)
        .await?;
    let (credentials, expires) = signing_window(state, decision.lifetime, None, now).await?;
    let grant_id = GrantId::new();
    let request = form_policy_request(&decision, expires, &grant_id, extra);
    let form = state.signer.post_policy(&credentials, &request, now)?;
    let (key, key_is_prefix) = match &decision.key {
        FormKey::Exact(key) => (key.as_str(), false),
        FormKey::Prefix(prefix) => (prefix.as_str(), true),
    };
    state.audit.grant(
        &principal.segment,
        &GrantAudit {
            kind: GrantKind::PostObject,
            profile: &decision.profile,
            bucket: &decision.bucket,
            key,
            key_is_prefix,
            grant_id: &grant_id,
            count: 1,
            expires_at: form.expires_at,
        },
    );
    Ok((decision, form))
}
