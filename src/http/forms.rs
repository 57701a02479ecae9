//! `POST /v1/forms`: a POST policy for an HTML form rendered before the file is chosen. The
//! form's `key` field is `prefix${filename}`: S3 puts the browser's file name in place of
//! `${filename}` and checks the policy's `["starts-with", "$key", prefix]` against the result,
//! so the file lands in a fresh folder of the caller's (the prefix holds a new `{uuid}`) and
//! nowhere else. Size and type are policy ranges; an optional `redirect` (an origin the broker
//! is configured for) and `success_action_status` are signed as exact fields.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html>

use super::form_grant::decided_form;
use super::grant::{form_fields_json, grant_response, granted, requested_expiry, signing_now};
use super::{ApiError, AppState, Code, Grantee};
use crate::grants::GrantKind;
use crate::policy::{FormContentType, FormIntent, FormKey, FormRedirect, SuccessStatus};
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The body of `POST /v1/forms` (unknown fields refused).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FormRequest {
    /// Upload profile (default: the configured default). Its key template must end with
    /// `{filename}` (or have none).
    profile: Option<String>,
    /// The `Content-Type` the form sends; absent: the profile's single `type/*`, bound as a
    /// prefix the page completes.
    content_type: Option<String>,
    /// Client folders, for templates with `{path}`.
    path: Option<String>,
    /// `x-amz-meta-*` values, by key.
    #[serde(default)]
    metadata: BTreeMap<String, String>,
    /// Where S3 sends the browser after the upload (`303`, with `bucket`, `key` and `etag`
    /// added to the query): an URL of an origin in `server.cors_origins` or of
    /// `server.public_url`.
    redirect: Option<String>,
    /// 200, 201 or 204: S3's answer when there is no redirect.
    success_action_status: Option<SuccessStatus>,
    /// Wished lifetime in seconds (capped by the profile and the credentials).
    expires_in: Option<u64>,
}

/// A POST policy for a form.
#[derive(Debug, Serialize)]
struct FormGrant {
    /// Always `POST`.
    method: &'static str,
    /// The bucket URL the form is posted to.
    url: String,
    /// Every field, in order; the file goes last, as `file`.
    fields: serde_json::Map<String, serde_json::Value>,
    /// Every key this form can write starts with this; the file's name follows it.
    key_prefix: String,
    /// The bucket.
    bucket: String,
    /// The exact `Content-Type` field, or the prefix the page's value must start with.
    content_type: String,
    /// Whether `content_type` is a prefix the page must complete (e.g. `image/`).
    content_type_is_prefix: bool,
    /// The smallest file S3 accepts with this form, in bytes.
    min_size: u64,
    /// The largest file S3 accepts with this form, in bytes.
    max_size: u64,
    /// When the form stops working.
    expires_at: DateTime<Utc>,
    /// The server's clock, so clients can detect skew.
    server_time: DateTime<Utc>,
}

/// The handler: request → redirect check → decide → sign → render.
pub(super) async fn create_form(
    state: web::Data<AppState>,
    grantee: Grantee,
    body: web::Json<FormRequest>,
) -> Result<HttpResponse, ApiError> {
    let now = signing_now();
    let request = body.into_inner();
    let requested = requested_expiry(request.expires_in)?;
    let profile = state.profiles.profile(request.profile.as_deref())?;
    if !state.backend.supports_post_object() {
        return Err(ApiError::new(
            Code::MethodNotSupported,
            "this storage backend has no POST Object: use POST /v1/uploads with the file's \
             name and size (a PUT grant)",
        ));
    }
    let mut extra = Vec::new();
    if let Some(url) = &request.redirect {
        let redirect = FormRedirect::parse(url, &state.redirect_origins)?;
        extra.push((
            "success_action_redirect".to_owned(),
            redirect.as_str().to_owned(),
        ));
    }
    if let Some(status) = request.success_action_status {
        extra.push(("success_action_status".to_owned(), status.as_field()));
    }
    let intent = FormIntent {
        content_type: request.content_type,
        path: request.path,
        metadata: request.metadata,
        filename: None,
    };
    let (decision, form) =
        decided_form(&state, &grantee, profile, &intent, now, requested, extra).await?;
    let key_prefix = match decision.key {
        FormKey::Prefix(prefix) => prefix,
        FormKey::Exact(key) => key.as_str().to_owned(),
    };
    let (content_type, content_type_is_prefix) = match decision.content_type {
        FormContentType::Exact(ct) => (ct.as_str().to_owned(), false),
        FormContentType::Prefix(prefix) => (prefix, true),
    };
    let grant = FormGrant {
        method: "POST",
        url: form.url,
        fields: form_fields_json(form.fields),
        key_prefix,
        bucket: decision.bucket.as_str().to_owned(),
        content_type,
        content_type_is_prefix,
        min_size: decision.size.min,
        max_size: decision.size.max,
        expires_at: form.expires_at,
        server_time: now,
    };
    Ok(granted(grant_response(&grant), GrantKind::PostObject, 1))
}
