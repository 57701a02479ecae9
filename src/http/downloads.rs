//! `POST /v1/downloads`: a GET grant for a key the caller owns, served with a safe
//! `Content-Disposition` (`attachment` by default, always for active content, which is also
//! served as `application/octet-stream`), for an object that exists (404 `object_not_found`
//! otherwise, unless the profile turns the check off). An inline download whose name gives no
//! passive type asks S3 for the stored type first (one HeadObject, which also answers the
//! existence check): only a known passive type is shown inline. A profile with `scan` first
//! reads the object's scan tag (`scan_gate`: 409 `scan_pending`, 403 `quarantined`), which
//! answers the existence check too.

use super::grant::{grant_response, granted, requested_expiry, signing_now, signing_window};
use super::{ApiError, AppState, GrantAudit, Grantee};
use crate::domain::GrantId;
use crate::grants::{GrantKind, get_request};
use crate::policy::{Disposition, DownloadIntent, SSE_C_KEY_HEADER};
use crate::s3::{S3Error, StoredType};
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// A GET grant.
#[derive(Debug, Serialize)]
pub(super) struct DownloadGrant {
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

/// The handler: intent → decide → the object exists → signing window → build → sign →
/// render.
pub(super) async fn create_download(
    state: web::Data<AppState>,
    Grantee(principal, admission): Grantee,
    body: web::Json<DownloadIntent>,
) -> Result<HttpResponse, ApiError> {
    let now = signing_now();
    let intent = body.into_inner();
    let requested = requested_expiry(intent.expires_in)?;
    let mut decision = state.profiles.decide_download(
        &principal,
        intent.profile.as_deref(),
        &intent,
        requested,
    )?;
    // The scan tag first (GetObjectTagging, or the cache): it also says the object exists.
    let scanned = match &decision.scan {
        Some(rule) => {
            admission.make().await?; // before S3 is asked anything
            super::scan_gate::require_clean(&state, &decision.bucket, &decision.key, rule).await?;
            true
        }
        None => false,
    };
    // One HeadObject answers both questions; the listing only when S3 refused it.
    if decision.needs_stored_type || (decision.check_exists && !scanned) {
        admission.make().await?; // before S3 is asked anything
        let (bucket, key) = (&decision.bucket, &decision.key);
        let stored = state.s3.stored_content_type(bucket, key).await?;
        if decision.check_exists {
            let exists = match &stored {
                StoredType::Found(_) => true,
                StoredType::Missing => false,
                StoredType::Unknown => state.s3.key_listed(bucket, key).await?,
            };
            if !exists {
                return Err(S3Error::NoSuchKey.into());
            }
        }
        if decision.needs_stored_type {
            let content_type = match stored {
                StoredType::Found(content_type) => content_type,
                StoredType::Missing | StoredType::Unknown => None,
            };
            decision = decision.with_stored_type(content_type.as_deref());
        }
    }
    let who = &principal.segment;
    admission
        .grant(&state.limits, who, &decision.profile, None)
        .await?;
    let (credentials, expires) = signing_window(&state, decision.lifetime, None, now).await?;
    let grant_id = GrantId::new();
    let get = get_request(&decision, expires, &grant_id)?;
    let presigned = state.signer.presign(&credentials, &get, now)?;
    let kind = GrantKind::from(&get.operation);
    state.audit.grant(
        &principal.segment,
        &GrantAudit::one(
            kind,
            &decision.profile,
            &decision.bucket,
            decision.key.as_str(),
            &grant_id,
            presigned.expires_at,
        ),
    );
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
    Ok(granted(grant, kind, 1))
}
