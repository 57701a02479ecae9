//! `POST /v1/uploads/verify`: once the bytes are sent, the caller presents the grant's
//! `upload` token; the broker reads what S3 holds (HeadObject with checksums, the first
//! 64 KiB), compares it with the token and the profile's rules, and answers a signed receipt,
//! or 422 `upload_mismatch` after deleting (or quarantining) the object.

use super::{ApiError, AppState, Caller, Code, ProblemCode, VerificationAudit};
use crate::domain::Principal;
use crate::multipart::{TicketError, UploadToken};
use crate::policy::{
    Declared, Mismatch, OnMismatch, PolicyError, Stored, VERIFY_HEAD_BYTES, verify_object,
};
use crate::receipt::{ReceiptClaims, ReceiptObject};
use actix_web::http::header;
use actix_web::{HttpResponse, web};
use chrono::Utc;
use serde::{Deserialize, Serialize};

/// The body: the `upload` token of an upload grant.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct VerifyRequest {
    upload: String,
}

/// A match.
#[derive(Serialize)]
struct Verified {
    receipt: String,
    object: ReceiptObject,
}

/// The problem document of a mismatch: RFC 9457 with the reasons as an extension member.
#[derive(Serialize)]
struct MismatchProblem<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'static str,
    status: u16,
    detail: String,
    code: &'static str,
    reasons: &'a [Mismatch],
    /// `deleted` or `quarantined`.
    action: &'static str,
}

/// The handler. Token checks (genuine, unexpired, the caller's, upload scope) come before any
/// S3 call.
pub(super) async fn verify_upload(
    state: web::Data<AppState>,
    Caller(principal): Caller,
    body: web::Json<VerifyRequest>,
) -> Result<HttpResponse, ApiError> {
    let now = Utc::now();
    let token = state.tickets.open_upload(&body.upload, now)?;
    if token.principal != principal.segment {
        return Err(PolicyError::NotOwner.into());
    }
    if !principal.may(crate::domain::Scope::Upload) {
        return Err(PolicyError::InsufficientScope(crate::domain::Scope::Upload).into());
    }
    let profile = state
        .profiles
        .get(&token.profile)
        .map_err(|_| ApiError::from(TicketError::Invalid))?;
    let stored = state
        .s3
        .stored_object(&token.bucket, &token.key, VERIFY_HEAD_BYTES)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                Code::UploadNotFound,
                "the grant's key holds no object: upload the file first (or it was deleted)",
            )
        })?;
    let declared = Declared {
        size: token.size,
        content_type: token.content_type.as_str(),
        checksum: token.checksum.as_ref(),
        extension: token.extension.as_deref(),
    };
    let seen = Stored {
        size: stored.size,
        content_type: stored.content_type.as_deref(),
        checksum: stored
            .checksum
            .as_ref()
            .map(|(algorithm, value)| (*algorithm, value.as_str())),
        head: &stored.head,
    };
    let rules = profile.verification();
    let verdict = verify_object(&declared, &seen, rules);
    if verdict.mismatches.is_empty() {
        let object = ReceiptObject {
            bucket: token.bucket.as_str().to_owned(),
            key: token.key.as_str().to_owned(),
            size: stored.size,
            content_type: stored.content_type.unwrap_or_default(),
            etag: stored.etag,
            version_id: stored.version_id,
            checksum: verdict.checksum,
        };
        let claims = ReceiptClaims {
            iss: state.receipts.issuer().to_owned(),
            sub: principal.subject.clone(),
            iat: now.timestamp(),
            jti: token.grant_id.clone(),
            profile: token.profile.clone(),
            object,
        };
        let receipt = state.receipts.sign(&claims);
        audit_verification(&state, &principal, &token, "verified", Some(&receipt));
        return Ok(HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(Verified {
                receipt,
                object: claims.object,
            }));
    }
    let action = match rules.on_mismatch {
        OnMismatch::Delete => {
            state.s3.delete_object(&token.bucket, &token.key).await?;
            "deleted"
        }
        OnMismatch::Quarantine => {
            state
                .s3
                .quarantine_object(&token.bucket, &token.key)
                .await?;
            "quarantined"
        }
    };
    audit_verification(&state, &principal, &token, action, None);
    Ok(mismatch(&verdict.mismatches, action))
}

/// The audit event of a verification of `token` by `principal`: `outcome` and, on a match,
/// the receipt (recorded by digest).
fn audit_verification(
    state: &AppState,
    principal: &Principal,
    token: &UploadToken,
    outcome: &'static str,
    receipt: Option<&str>,
) {
    state.audit.verification(
        &principal.segment,
        &VerificationAudit {
            profile: &token.profile,
            bucket: &token.bucket,
            key: token.key.as_str(),
            grant_id: &token.grant_id,
            expires_at: token.expires_at,
            outcome,
            receipt,
        },
    );
}

/// 422 `upload_mismatch` with every reason.
fn mismatch(reasons: &[Mismatch], action: &'static str) -> HttpResponse {
    let code = Code::UploadMismatch;
    let words: Vec<String> = reasons.iter().map(ToString::to_string).collect();
    let problem = MismatchProblem {
        kind: format!("urn:s3-broker:problem:{code}"),
        title: code.title(),
        status: code.status().as_u16(),
        detail: format!(
            "the object does not match its grant ({action}): {}",
            words.join("; ")
        ),
        code: code.as_str(),
        reasons,
        action,
    };
    let mut response = HttpResponse::build(code.status())
        .content_type("application/problem+json")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(problem);
    response.extensions_mut().insert(ProblemCode(code));
    response
}
