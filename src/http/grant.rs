//! What every grant shares: an honest lifetime and an uncacheable JSON response.

use super::{ApiError, AppState, Code};
use crate::domain::{Credentials, Expiry};
use crate::policy::{MetadataKey, ServerSideEncryption};
use crate::sigv4::SignedHeaders;
use actix_web::HttpResponse;
use actix_web::http::header::CACHE_CONTROL;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::sync::Arc;

/// The signing instant: now, at whole seconds like `X-Amz-Date`, so a grant's `expires_at`
/// minus its `server_time` is exactly its lifetime.
pub fn signing_now() -> DateTime<Utc> {
    use chrono::SubsecRound;
    Utc::now().trunc_subsecs(0)
}

/// Usable credentials and the grant's real lifetime:
/// `min(policy decision (requested, profile max, 7 days), credential expiry − margin)`.
pub async fn signing_window(
    state: &AppState,
    decided: Expiry,
    now: DateTime<Utc>,
) -> Result<(Arc<Credentials>, Expiry), ApiError> {
    let credentials = state.credentials.current(now).await?;
    let mut secs = u64::from(decided.as_secs());
    if let Some(end) = credentials.expires_at {
        let left = (end - state.credentials.margin() - now).num_seconds();
        secs = secs.min(u64::try_from(left).unwrap_or(0));
    }
    let expiry = Expiry::from_secs(secs).map_err(|_| {
        ApiError::new(
            Code::CredentialsUnavailable,
            "the broker's credentials expire too soon to sign",
        )
    })?;
    Ok((credentials, expiry))
}

/// The client's wished lifetime (`expires_in`), validated: 1 s to 7 days.
pub fn requested_expiry(expires_in: Option<u64>) -> Result<Option<Expiry>, ApiError> {
    expires_in
        .map(Expiry::from_secs)
        .transpose()
        .map_err(|e| ApiError::new(Code::InvalidExpiry, e.to_string()))
}

/// The server-side encryption and `x-amz-meta-*` values a grant binds: signed headers for a
/// PUT, exact-match fields for a POST.
pub fn bound_fields(
    sse: Option<&ServerSideEncryption>,
    metadata: &[(MetadataKey, String)],
) -> Vec<(String, String)> {
    encryption_and_metadata(
        sse.map(ServerSideEncryption::headers).unwrap_or_default(),
        metadata,
    )
}

/// Encryption values (as decided, e.g. [`crate::policy::UploadDecision::encryption_headers`])
/// followed by the `x-amz-meta-*` values: what a PUT signs or a POST binds exactly.
pub fn encryption_and_metadata(
    encryption: Vec<(&'static str, String)>,
    metadata: &[(MetadataKey, String)],
) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = encryption
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
    fields.extend(metadata.iter().map(|(k, v)| (k.header_name(), v.clone())));
    fields
}

/// What a response grants: `count` signed requests of one S3 operation (`PostObject` for a
/// POST policy), kept in the response's extensions for `s3_broker_grants_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Granted {
    /// The S3 operation, e.g. `UploadPart`.
    pub operation: &'static str,
    /// How many signed requests (URLs or forms) the response holds.
    pub count: usize,
}

/// Marks `response` as granting `count` signed `operation` requests, unless it is an error
/// (a grant that failed to serialize is answered 500 and grants nothing).
pub fn granted(mut response: HttpResponse, operation: &'static str, count: usize) -> HttpResponse {
    if response.status().is_success() {
        response
            .extensions_mut()
            .insert(Granted { operation, count });
    }
    response
}

/// 200 with a JSON grant and `Cache-Control: no-store` (grants are bearer secrets).
pub fn grant_response(body: &impl Serialize) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "no-store"))
        .json(body)
}

/// As [`grant_response`], serialized into a buffer of about `size_hint` bytes allocated once
/// (a batch of 10,000 part URLs is ~4 MB: growing the buffer by doubling would copy it and
/// fault in its pages several times).
pub fn large_grant_response(body: &impl Serialize, size_hint: usize) -> HttpResponse {
    let mut bytes = Vec::with_capacity(size_hint);
    if let Err(err) = serde_json::to_writer(&mut bytes, body) {
        tracing::error!(error = %err, "a grant did not serialize");
        return actix_web::ResponseError::error_response(&ApiError::internal());
    }
    HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "no-store"))
        .content_type(actix_web::http::header::ContentType::json())
        .body(bytes)
}

/// Adds headers the policy layer decided to `headers`. They were validated there, so a
/// refusal here is a bug: logged, and answered as an internal error.
pub fn sign_decided<N: AsRef<str>, V: AsRef<str>>(
    headers: &mut SignedHeaders,
    decided: impl IntoIterator<Item = (N, V)>,
) -> Result<(), ApiError> {
    for (name, value) in decided {
        headers.insert(name.as_ref(), value.as_ref()).map_err(|e| {
            tracing::error!(error = %e, "policy produced an unsignable header");
            ApiError::internal()
        })?;
    }
    Ok(())
}

/// A POST form's fields as the JSON object of a grant, in order.
pub fn form_fields_json(
    fields: Vec<crate::sigv4::FormField>,
) -> serde_json::Map<String, serde_json::Value> {
    fields
        .into_iter()
        .map(|f| (f.name, serde_json::Value::String(f.value)))
        .collect()
}
