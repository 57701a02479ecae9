//! `POST /v1/downloads`: a GET grant for a key the caller owns, served with a safe
//! `Content-Disposition` (`attachment` by default, always for active content, which is also
//! served as `application/octet-stream`).

use super::grant::{
    grant_response, granted, requested_expiry, sign_decided, signing_now, signing_window,
};
use super::{ApiError, AppState, Caller};
use crate::policy::{Disposition, DownloadIntent, SSE_C_KEY_HEADER};
use crate::sigv4::{PresignRequest, S3Operation};
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The request body. Unknown fields are refused.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DownloadRequest {
    /// The object key.
    pub key: String,
    /// `attachment` (default) or `inline`.
    pub disposition: Option<Disposition>,
    /// The file name the browser should save as (default: the key's last segment).
    pub filename: Option<String>,
    /// Upload profile the key belongs to (default: found from the key).
    pub profile: Option<String>,
    /// Wished lifetime in seconds.
    pub expires_in: Option<u64>,
    /// SSE-C profiles: base64 MD5 of the key the object was uploaded with.
    pub sse_customer_key_md5: Option<String>,
}

/// A GET grant.
#[derive(Debug, Serialize)]
pub struct DownloadGrant {
    /// Always `GET`.
    pub method: &'static str,
    /// The presigned URL.
    pub url: String,
    /// SSE-C: headers to send with exactly these values (the algorithm and the key's MD5).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, String>>,
    /// SSE-C: headers the client adds with values only it knows
    /// (`x-amz-server-side-encryption-customer-key`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_headers: Option<Vec<&'static str>>,
    /// The key.
    pub key: String,
    /// How the browser will be told to treat the file: `attachment` for active content
    /// (HTML, SVG, XML, JavaScript) even when `inline` was asked for.
    pub disposition: Disposition,
    /// When the URL stops working.
    pub expires_at: DateTime<Utc>,
    /// The server's clock.
    pub server_time: DateTime<Utc>,
}

/// The handler.
pub async fn create_download(
    state: web::Data<AppState>,
    Caller(principal): Caller,
    body: web::Json<DownloadRequest>,
) -> Result<HttpResponse, ApiError> {
    let now = signing_now();
    let request = body.into_inner();
    let requested = requested_expiry(request.expires_in)?;
    let intent = DownloadIntent {
        key: request.key,
        disposition: request.disposition,
        filename: request.filename,
        sse_customer_key_md5: request.sse_customer_key_md5,
    };
    let decision = state.profiles.decide_download(
        &principal,
        request.profile.as_deref(),
        &intent,
        requested,
    )?;
    let (credentials, expires) = signing_window(&state, decision.expires, now).await?;
    let mut get = PresignRequest::new(
        S3Operation::GetObject,
        decision.bucket.clone(),
        decision.key.clone(),
        expires,
    );
    get.query.insert(
        "response-content-disposition",
        &decision.content_disposition,
    )?;
    if let Some(content_type) = &decision.response_content_type {
        get.query.insert("response-content-type", content_type)?;
    }
    sign_decided(
        &mut get.headers,
        decision.encryption_headers.iter().map(|(n, v)| (n, v)),
    )?;
    let presigned = state.signer.presign(&credentials, &get, now)?;
    let sse_c = !decision.encryption_headers.is_empty();
    let grant = grant_response(&DownloadGrant {
        method: "GET",
        url: presigned.url,
        headers: sse_c.then(|| presigned.headers.into_iter().collect()),
        client_headers: sse_c.then(|| vec![SSE_C_KEY_HEADER]),
        key: decision.key.as_str().to_owned(),
        disposition: decision.disposition,
        expires_at: presigned.expires_at,
        server_time: now,
    });
    Ok(granted(grant, "GetObject", 1))
}
