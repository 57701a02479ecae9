//! The check itself, shared by `POST /v1/uploads/verify` and every multipart completion the
//! broker performs: read what S3 holds (HeadObject with checksums, the first 64 KiB), compare
//! it with what was declared and the profile's rules, and answer a signed receipt, or 422
//! `upload_mismatch` after deleting (or quarantining, per `on_mismatch`) the object.

use crate::domain::{BucketName, Checksum, NamespaceSegment, ObjectKey};
use crate::http::{ApiError, AppState, Code, ProblemCode, VerificationAudit};
use crate::multipart::{DeclaredFile, NamedUpload};
use crate::policy::{
    Declared, Mismatch, OnMismatch, Stored, VERIFY_HEAD_BYTES, VerificationRules, verify_object,
};
use crate::receipt::{ReceiptClaims, ReceiptObject};
use actix_web::HttpResponse;
use actix_web::http::header;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// What an object is checked against: where it is, what the client declared, and the grant
/// and profile it was uploaded under.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ExpectedObject<'a> {
    /// The profile that decided the grant (named in the receipt).
    pub profile: &'a str,
    /// Its verification rules.
    pub rules: &'a VerificationRules,
    /// The bucket.
    pub bucket: &'a BucketName,
    /// The key.
    pub key: &'a ObjectKey,
    /// The declared size; `None` where the protocol declares none (Uppy): the broker checked
    /// the size against the profile when it completed the upload.
    pub size: Option<u64>,
    /// The declared type; `None` only for records sealed before it was sealed: the stored
    /// type (which the broker set when it created the upload) stands in for it.
    pub content_type: Option<&'a str>,
    /// The declared checksum.
    pub checksum: Option<&'a Checksum>,
    /// The file name's extension (lower case).
    pub extension: Option<&'a str>,
    /// The grant id, the receipt's `jti`.
    pub grant_id: &'a str,
    /// When the token (or sealed record) the check was made for expires, for the audit event.
    pub expires_at: DateTime<Utc>,
}

impl<'a> ExpectedObject<'a> {
    /// What the multipart `upload` is checked against: its declared file, and `size` when
    /// one was declared; `grant_id` is [`NamedUpload::grant_id`].
    pub(crate) fn of_upload(
        upload: &'a NamedUpload,
        size: Option<u64>,
        grant_id: &'a str,
        rules: &'a VerificationRules,
    ) -> Self {
        let place = (&upload.bucket, &upload.key);
        let (file, when) = (&upload.file, (size, upload.expires_at));
        Self::multipart(&upload.profile, place, file, when, grant_id, rules)
    }

    /// What the multipart upload of `profile` at `(bucket, key)` is checked against: `size`
    /// when one was declared; its record expires at `expires_at`.
    pub(crate) fn multipart(
        profile: &'a str,
        (bucket, key): (&'a BucketName, &'a ObjectKey),
        file: &'a DeclaredFile,
        (size, expires_at): (Option<u64>, DateTime<Utc>),
        grant_id: &'a str,
        rules: &'a VerificationRules,
    ) -> Self {
        Self {
            profile,
            rules,
            bucket,
            key,
            size,
            content_type: file.content_type.as_ref().map(|t| t.as_str()),
            // A multipart upload declares no whole-object checksum; S3's, if it reports one,
            // is named in the receipt.
            checksum: None,
            extension: file.extension.as_deref(),
            grant_id,
            expires_at,
        }
    }
}

/// A match: the receipt and the object it vouches for (the answer of verify, and part of
/// every completion's answer).
#[derive(Debug, Serialize)]
pub(crate) struct Verified {
    /// The compact JWS.
    pub receipt: String,
    /// Its `object` claim.
    pub object: ReceiptObject,
}

/// The outcome of a check.
pub(crate) enum Outcome {
    /// The object is what was declared.
    Verified(Verified),
    /// It is not: the 422 `upload_mismatch` answer (the object is already deleted or
    /// quarantined).
    Mismatch(HttpResponse),
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

/// Checks the object `expected` names for the principal of namespace segment `who.0` and
/// subject `who.1` (the receipt's `sub`) at `now`, and writes the verification's audit event:
/// 404 `upload_not_found` when S3 holds none.
pub(crate) async fn check_object(
    state: &AppState,
    who: (&NamespaceSegment, &str),
    expected: ExpectedObject<'_>,
    now: DateTime<Utc>,
) -> Result<Outcome, ApiError> {
    let (segment, subject) = who;
    let stored = state
        .s3
        .stored_object(expected.bucket, expected.key, VERIFY_HEAD_BYTES)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                Code::UploadNotFound,
                "the grant's key holds no object: upload the file first (or it was deleted)",
            )
        })?;
    let declared = Declared {
        size: expected.size.unwrap_or(stored.size),
        content_type: expected
            .content_type
            .or(stored.content_type.as_deref())
            .unwrap_or_default(),
        checksum: expected.checksum,
        extension: expected.extension,
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
    let verdict = verify_object(&declared, &seen, expected.rules);
    if verdict.mismatches.is_empty() {
        let claims = ReceiptClaims {
            iss: state.receipts.issuer().to_owned(),
            sub: subject.to_owned(),
            iat: now.timestamp(),
            jti: expected.grant_id.to_owned(),
            profile: expected.profile.to_owned(),
            object: ReceiptObject {
                bucket: expected.bucket.as_str().to_owned(),
                key: expected.key.as_str().to_owned(),
                size: stored.size,
                content_type: stored.content_type.unwrap_or_default(),
                etag: stored.etag,
                version_id: stored.version_id,
                checksum: verdict.checksum,
            },
        };
        let receipt = state.receipts.sign(&claims);
        audit(state, segment, &expected, "verified", Some(&receipt));
        return Ok(Outcome::Verified(Verified {
            receipt,
            object: claims.object,
        }));
    }
    let action = match expected.rules.on_mismatch {
        OnMismatch::Delete => {
            state
                .s3
                .delete_object(expected.bucket, expected.key)
                .await?;
            "deleted"
        }
        OnMismatch::Quarantine => {
            state
                .s3
                .quarantine_object(expected.bucket, expected.key)
                .await?;
            "quarantined"
        }
    };
    // What a scan-gated download cached of the object no longer holds.
    state
        .scan_tags
        .forget(expected.bucket.as_str(), expected.key.as_str());
    audit(state, segment, &expected, action, None);
    Ok(Outcome::Mismatch(mismatch(&verdict.mismatches, action)))
}

/// The audit event of a check of `expected` by the principal of `segment`: `outcome` and, on
/// a match, the receipt (recorded by digest).
fn audit(
    state: &AppState,
    segment: &NamespaceSegment,
    expected: &ExpectedObject<'_>,
    outcome: &'static str,
    receipt: Option<&str>,
) {
    state.audit.verification(
        segment,
        &VerificationAudit {
            profile: expected.profile,
            bucket: expected.bucket,
            key: expected.key.as_str(),
            grant_id: expected.grant_id,
            expires_at: expected.expires_at,
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
