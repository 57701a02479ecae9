//! The POST policy both Uppy single-upload routes hand out (`GET /s3/params` and a `PUT`
//! through `POST /s3/sign`): a key the broker chooses in the caller's namespace, bound with
//! the type, the profile's size range and every other limit as conditions.

use crate::domain::Principal;
use crate::http::grant::signing_window;
use crate::http::{ApiError, AppState, form_policy_request};
use crate::policy::{FormIntent, Profile};
use crate::sigv4::PostForm;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Decides `intent` under `profile` and signs its POST policy at `now`, for the decided
/// lifetime capped by the credentials. The caller checks first that the backend has POST
/// Object ([`super::owned::single_upload_needs_post_object`]).
pub async fn signed_form(
    state: &AppState,
    principal: &Principal,
    profile: &Profile,
    intent: &FormIntent,
    now: DateTime<Utc>,
) -> Result<PostForm, ApiError> {
    let decision = profile.decide_form_upload(principal, intent, Uuid::new_v4(), now, None)?;
    let (credentials, expires) = signing_window(state, decision.expires, now).await?;
    Ok(state.signer.post_policy(
        &credentials,
        &form_policy_request(&decision, expires, Vec::new()),
        now,
    )?)
}
