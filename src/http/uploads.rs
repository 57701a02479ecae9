//! `POST /v1/uploads`: a PUT or POST grant for one file, with key, size, type, checksum,
//! encryption, metadata and no-overwrite bound into the signature. The body is the policy's
//! [`UploadIntent`] itself (unknown fields refused).

use super::grant::{
    form_fields_json, grant_response, granted, requested_expiry, signing_now, signing_window,
};
use super::{ApiError, AppState, Caller};
use crate::grants::{GrantKind, post_request, put_request};
use crate::policy::{
    SSE_C_KEY_FIELD, SSE_C_KEY_HEADER, UploadDecision, UploadIntent, UploadMethod,
};
use crate::sigv4::{PostForm, PresignedRequest};
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use uuid::Uuid;

/// A PUT or POST grant.
#[derive(Debug, Serialize)]
pub(super) struct UploadGrant {
    /// `PUT` or `POST`.
    pub method: UploadMethod,
    /// Where to send the bytes.
    pub url: String,
    /// PUT: headers to send with exactly these values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, String>>,
    /// POST: form fields to send in order, then the file as the last field `file`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<serde_json::Map<String, serde_json::Value>>,
    /// PUT with SSE-C: headers the client adds with values only it knows (the
    /// `x-amz-server-side-encryption-customer-key`). Not in `headers`, which holds exactly
    /// the values to send; not signed, so the broker never needs them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_headers: Option<Vec<&'static str>>,
    /// POST with SSE-C: fields the client adds (after `fields`, before the file) with values
    /// only it knows; the policy covers each with `starts-with ""`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_fields: Option<Vec<&'static str>>,
    /// The object key.
    pub key: String,
    /// The bucket.
    pub bucket: String,
    /// When the grant stops working.
    pub expires_at: DateTime<Utc>,
    /// The server's clock, so clients can detect skew.
    pub server_time: DateTime<Utc>,
}

impl UploadGrant {
    /// A PUT grant: the presigned URL and the headers to send with it.
    fn put(decision: &UploadDecision, presigned: PresignedRequest, now: DateTime<Utc>) -> Self {
        Self {
            method: UploadMethod::Put,
            url: presigned.url,
            headers: Some(presigned.headers.into_iter().collect()),
            fields: None,
            client_headers: decision
                .client_supplies_key()
                .then(|| vec![SSE_C_KEY_HEADER]),
            client_fields: None,
            key: decision.key.as_str().to_owned(),
            bucket: decision.bucket.as_str().to_owned(),
            expires_at: presigned.expires_at,
            server_time: now,
        }
    }

    /// A POST grant: the form's URL and fields, and the fields only the client knows.
    fn post(
        decision: &UploadDecision,
        form: PostForm,
        client_fields: &[&'static str],
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            method: UploadMethod::Post,
            url: form.url,
            headers: None,
            fields: Some(form_fields_json(form.fields)),
            client_headers: None,
            client_fields: (!client_fields.is_empty()).then(|| client_fields.to_vec()),
            key: decision.key.as_str().to_owned(),
            bucket: decision.bucket.as_str().to_owned(),
            expires_at: form.expires_at,
            server_time: now,
        }
    }
}

/// The handler: intent → decide → signing window → build → sign → render.
pub(super) async fn create_upload(
    state: web::Data<AppState>,
    Caller(principal): Caller,
    body: web::Json<UploadIntent>,
) -> Result<HttpResponse, ApiError> {
    let now = signing_now();
    let intent = body.into_inner();
    let requested = requested_expiry(intent.expires_in)?;
    let profile = state.profiles.profile(intent.profile.as_deref())?;
    let decision = profile.decide_upload(
        &principal,
        &intent,
        state.backend,
        Uuid::new_v4(),
        now,
        requested,
    )?;
    state
        .limits
        .grant(&principal.segment, profile.name(), Some(intent.size))
        .await?;
    let (credentials, expires) = signing_window(&state, decision.lifetime, None, now).await?;
    let (grant, kind) = match decision.method {
        UploadMethod::Put => {
            let put = put_request(&decision, expires)?;
            let presigned = state.signer.presign(&credentials, &put, now)?;
            (
                UploadGrant::put(&decision, presigned, now),
                GrantKind::PutObject,
            )
        }
        UploadMethod::Post => {
            let client_fields: &[&'static str] = if decision.client_supplies_key() {
                &[SSE_C_KEY_FIELD]
            } else {
                &[]
            };
            let post = post_request(&decision, expires);
            let form = state.signer.post_policy_with_client_fields(
                &credentials,
                &post,
                client_fields,
                now,
            )?;
            (
                UploadGrant::post(&decision, form, client_fields, now),
                GrantKind::PostObject,
            )
        }
    };
    Ok(granted(grant_response(&grant), kind, 1))
}
