//! `POST /v1/uploads`: a PUT or POST grant for one file, with key, size, type, checksum,
//! encryption, metadata and no-overwrite bound into the signature.

use super::grant::{
    encryption_and_metadata, form_fields_json, grant_response, granted, requested_expiry,
    sign_decided, signing_now, signing_window,
};
use super::{ApiError, AppState, Caller};
use crate::backend::Backend;
use crate::domain::Expiry;
use crate::policy::{
    SSE_C_KEY_FIELD, SSE_C_KEY_HEADER, UploadDecision, UploadIntent, UploadMethod,
};
use crate::sigv4::{KeyRule, PostPolicyRequest, PresignRequest, S3Operation, SignedHeaders};
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

/// The request body. Unknown fields are refused.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadRequest {
    /// Upload profile (default: the configured default).
    pub profile: Option<String>,
    /// The file's display name; becomes the last key segment.
    pub filename: String,
    /// The media type the client will send.
    pub content_type: String,
    /// The exact size in bytes.
    pub size: u64,
    /// Base64 SHA-256 of the bytes; S3 then refuses other bytes.
    pub checksum_sha256: Option<String>,
    /// Base64 CRC-32 of the bytes (at most one `checksum_*` per request).
    pub checksum_crc32: Option<String>,
    /// Base64 CRC-32C of the bytes.
    pub checksum_crc32c: Option<String>,
    /// Base64 CRC-64/NVME of the bytes.
    pub checksum_crc64nvme: Option<String>,
    /// Base64 SHA-1 of the bytes.
    pub checksum_sha1: Option<String>,
    /// Base64 MD5 of the bytes, bound as a signed `Content-MD5` header (PUT only).
    pub content_md5: Option<String>,
    /// SSE-C profiles: base64 MD5 of the client's 256-bit key (the key itself never reaches
    /// the broker).
    pub sse_customer_key_md5: Option<String>,
    /// Client folders under the caller's namespace, when the profile allows them.
    pub path: Option<String>,
    /// `x-amz-meta-*` values, for the keys the profile allows.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// `PUT` or `POST` (default: the profile's).
    pub method: Option<UploadMethod>,
    /// Wished lifetime in seconds (capped by the profile and the credentials).
    pub expires_in: Option<u64>,
}

/// A PUT or POST grant.
#[derive(Debug, Serialize)]
pub struct UploadGrant {
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

/// The handler.
pub async fn create_upload(
    state: web::Data<AppState>,
    Caller(principal): Caller,
    body: web::Json<UploadRequest>,
) -> Result<HttpResponse, ApiError> {
    let now = signing_now();
    let request = body.into_inner();
    let requested = requested_expiry(request.expires_in)?;
    let profile = state.profiles.profile(request.profile.as_deref())?;
    let intent = UploadIntent {
        filename: request.filename,
        content_type: request.content_type,
        size: request.size,
        checksum_sha256: request.checksum_sha256,
        checksum_crc32: request.checksum_crc32,
        checksum_crc32c: request.checksum_crc32c,
        checksum_crc64nvme: request.checksum_crc64nvme,
        checksum_sha1: request.checksum_sha1,
        content_md5: request.content_md5,
        sse_customer_key_md5: request.sse_customer_key_md5,
        path: request.path,
        metadata: request.metadata,
        method: state.backend.upload_method(profile, request.method)?,
    };
    let decision = profile.decide_upload(&principal, &intent, Uuid::new_v4(), now, requested)?;
    if let Some(checksum) = &decision.checksum {
        state.backend.check_checksum(checksum.algorithm())?;
    }
    let (credentials, expires) = signing_window(&state, decision.expires, now).await?;
    let grant = match decision.method {
        UploadMethod::Put => {
            let put = put_request(&decision, state.backend, expires)?;
            let presigned = state.signer.presign(&credentials, &put, now)?;
            UploadGrant {
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
        UploadMethod::Post => {
            let client_fields: &[&'static str] = if decision.client_supplies_key() {
                &[SSE_C_KEY_FIELD]
            } else {
                &[]
            };
            let form = state.signer.post_policy_with_client_fields(
                &credentials,
                &post_request(&decision, expires),
                client_fields,
                now,
            )?;
            UploadGrant {
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
    };
    let operation = match grant.method {
        UploadMethod::Put => "PutObject",
        UploadMethod::Post => "PostObject",
    };
    Ok(granted(grant_response(&grant), operation, 1))
}

/// PutObject signing every limit of the decision as a header (`If-None-Match: *` where the
/// backend honours it; elsewhere the profile's keys are unique, checked at startup).
fn put_request(
    decision: &UploadDecision,
    backend: Backend,
    expires: Expiry,
) -> Result<PresignRequest, ApiError> {
    let mut headers = SignedHeaders::new()
        .content_type(&decision.content_type)
        .content_length(decision.size);
    if let Some(checksum) = &decision.checksum {
        headers = headers.checksum(checksum);
    }
    if let Some(md5) = &decision.content_md5 {
        headers = headers.content_md5(md5);
    }
    if decision.if_none_match() && backend.conditional_put() {
        headers = headers.if_none_match_any();
    }
    sign_decided(
        &mut headers,
        encryption_and_metadata(decision.encryption_headers(), &decision.metadata),
    )?;
    let mut request = PresignRequest::new(
        S3Operation::PutObject,
        decision.bucket.clone(),
        decision.key.clone(),
        expires,
    );
    request.headers = headers;
    Ok(request)
}

/// A POST policy with the exact key and type, the size range and every other limit as an
/// exact-match field.
fn post_request(decision: &UploadDecision, expires: Expiry) -> PostPolicyRequest {
    let mut fields = encryption_and_metadata(decision.encryption_fields(), &decision.metadata);
    if let Some(checksum) = &decision.checksum {
        fields.push((
            "x-amz-checksum-algorithm".into(),
            checksum.algorithm().as_str().into(),
        ));
        fields.push((
            checksum.algorithm().header_name().into(),
            checksum.value().into(),
        ));
    }
    PostPolicyRequest {
        bucket: decision.bucket.clone(),
        key: KeyRule::Exact(decision.key.clone()),
        content_type: Some(crate::sigv4::ContentTypeRule::Exact(
            decision.content_type.clone(),
        )),
        size: Some(decision.content_length_range()),
        fields,
        expires,
    }
}
