//! A signed POST policy from a form decision: the no-JavaScript upload of the demo page,
//! `POST /v1/forms` and Uppy's `/s3/params`. Key and content type may be prefixes, since the
//! browser picks the file after the form is rendered.

use super::grant::signing_window;
use super::{ApiError, AppState, GrantAdmission, Grantee};
use crate::domain::{Expiry, Principal};
use crate::grants::form_policy_request;
use crate::policy::{FormIntent, FormUploadDecision, Profile};
use crate::sigv4::PostForm;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Decides `intent` under `profile` (a fresh `{uuid}`) and signs its POST policy at `now`, for
/// the decided lifetime capped by the credentials; `extra` as in [`form_policy_request`].
/// Callers check first that the backend has POST Object, and admitted the request already.
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
    let request = form_policy_request(&decision, expires, extra);
    let form = state.signer.post_policy(&credentials, &request, now)?;
    Ok((decision, form))
}
