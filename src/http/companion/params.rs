//! `GET /s3/params?filename=&type=&metadata[k]=v`: Companion's single-upload parameters, a
//! POST policy for an exact key in the caller's namespace, binding the type, the profile's
//! size range and every other limit as conditions.
//!
//! On a backend without POST Object (R2, GCS: see [`crate::backend`]) the answer is
//! `400 method_not_supported`: Uppy declares no size and a PUT could not bound one; Uppy's
//! multipart uploads, whose size the broker checks before it completes, work there.

use super::owned::{content_type_or_default, single_upload_needs_post_object, uppy_metadata};
use crate::grants::GrantKind;
use crate::http::form_grant::{decided_form, form_upload_token};
use crate::http::grant::{form_fields_json, grant_response, granted, signing_now};
use crate::http::{ApiError, AppState, Code, Grantee};
use crate::policy::FormIntent;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use std::collections::BTreeMap;

/// Companion's answer.
#[derive(Debug, Serialize)]
pub(super) struct UploadParams {
    /// Always `POST`: only a POST policy can bound a size Uppy does not declare.
    pub method: &'static str,
    /// The bucket URL.
    pub url: String,
    /// Form fields to send before the file.
    pub fields: serde_json::Map<String, serde_json::Value>,
    /// Lifetime in seconds (Uppy uses it as its upload timeout).
    pub expires: i64,
    /// The sealed token for `POST /v1/uploads/verify` (an s3-broker addition, which Uppy
    /// ignores: an application's own `getUploadParameters` can keep it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload: Option<String>,
}

/// The parsed query.
#[derive(Debug, Default)]
struct ParamsQuery {
    filename: Option<String>,
    content_type: Option<String>,
    profile: Option<String>,
    metadata: BTreeMap<String, String>,
}

fn parse_query(query: &str) -> Result<ParamsQuery, ApiError> {
    let mut out = ParamsQuery::default();
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        let value = value.into_owned();
        match name.as_ref() {
            "filename" => out.filename = Some(value),
            "type" => out.content_type = Some(value),
            "profile" => out.profile = Some(value),
            other => match other
                .strip_prefix("metadata[")
                .and_then(|k| k.strip_suffix(']'))
            {
                Some(key) => {
                    out.metadata.insert(key.to_owned(), value);
                }
                None => {
                    return Err(ApiError::new(
                        Code::UnknownParameter,
                        format!("unknown query parameter {other:?}"),
                    ));
                }
            },
        }
    }
    Ok(out)
}

/// The handler.
pub(super) async fn upload_params(
    state: web::Data<AppState>,
    grantee: Grantee,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let now = signing_now();
    let query = parse_query(req.query_string())?;
    let filename = query
        .filename
        .ok_or_else(|| ApiError::new(Code::InvalidQuery, "filename is required"))?;
    if !state.backend.supports_post_object() {
        return Err(single_upload_needs_post_object());
    }
    let profile = state.profiles.profile(query.profile.as_deref())?;
    let intent = FormIntent {
        content_type: Some(content_type_or_default(query.content_type.as_deref())),
        path: None,
        metadata: uppy_metadata(profile, query.metadata),
        filename: Some(filename),
    };
    let (decision, form) =
        decided_form(&state, &grantee, profile, &intent, now, None, Vec::new()).await?;
    let upload = form_upload_token(&state, &grantee.0, (&decision, &form), now);
    let params = grant_response(&UploadParams {
        method: "POST",
        url: form.url,
        fields: form_fields_json(form.fields),
        expires: (form.expires_at - now).num_seconds(),
        upload,
    });
    Ok(granted(params, GrantKind::PostObject, 1))
}
