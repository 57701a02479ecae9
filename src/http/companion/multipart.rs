//! Companion's multipart routes (`/s3/multipart...`), used by `@uppy/aws-s3` with its
//! `endpoint` (v5) or `companionEndpoint` (v6) option. Uppy does not declare the file size,
//! so part URLs cannot sign a length; instead the broker, which completes the upload itself,
//! checks the total size of the parts S3 holds against the profile before completing.

use super::owned::{
    OnUpload, OwnedUpload, UploadQuery, content_type_or_default, new_upload, uppy_metadata,
};
use crate::domain::{GrantId, NamespaceSegment, PartNumber, UploadId};
use crate::grants::{GrantKind, NewUpload};
use crate::http::grant::{
    JsonItems, grant_response, granted, signing_now, signing_window, streamed_grant_response,
};
use crate::http::verify::{ExpectedObject, Outcome, check_object};
use crate::http::{ApiError, AppState, GrantAdmission, Grantee};
use crate::limits::Opening;
use crate::multipart::{
    DeclaredFile, Expected, PartRange, PartSigning, PartToComplete, Receipt, UnsizedParts,
    check_receipts, match_held,
};
use crate::policy::{MultipartDecision, MultipartIntent, Profile};
use crate::s3::UploadRef;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use uuid::Uuid;

/// `POST /s3/multipart` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CreateBody {
    /// The file's name.
    pub filename: String,
    /// The file's type (may be empty).
    #[serde(rename = "type")]
    pub content_type: Option<String>,
    /// `x-amz-meta-*` values.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// The upload profile (an s3-broker addition; default: the configured one).
    pub profile: Option<String>,
}

/// `POST /s3/multipart`: decides the key in the caller's namespace and creates the upload.
/// The `uploadId` answered is the sealed one (`owned.rs`), never S3's.
pub(super) async fn create(
    state: web::Data<AppState>,
    Grantee(principal, admission): Grantee,
    body: web::Json<CreateBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let profile = state.profiles.profile(body.profile.as_deref())?;
    let intent = MultipartIntent {
        filename: body.filename,
        content_type: content_type_or_default(body.content_type.as_deref()),
        metadata: uppy_metadata(profile, body.metadata),
        ..MultipartIntent::default()
    };
    let decision = profile.decide_multipart(
        &principal,
        &intent,
        state.backend,
        Uuid::new_v4(),
        signing_now(),
    )?;
    let upload_id = create_counted(&state, &principal.segment, &admission, &decision).await?;
    let sealed = state.tickets.seal_uppy_upload(&new_upload(
        &state,
        &principal,
        profile,
        decision.key.clone(),
        upload_id,
        DeclaredFile::new(decision.content_type.clone(), &intent.filename),
    ));
    Ok(grant_response(&json!({
        "key": decision.key.as_str(),
        "uploadId": sealed,
        "bucket": decision.bucket.as_str(),
    })))
}

/// Creates the upload of `decision` in S3, counted against the caller's limits: Uppy declares
/// no size, so the upload counts as a grant and as an open upload (released at complete or
/// abort, or after `multipart.ticket_ttl_secs`), both in one check of the limits, all or
/// none. Both Uppy create paths (`POST /s3/multipart` and `/s3/sign` for
/// CreateMultipartUpload) go through here.
pub(super) async fn create_counted(
    state: &AppState,
    who: &NamespaceSegment,
    admission: &GrantAdmission,
    decision: &MultipartDecision,
) -> Result<UploadId, ApiError> {
    let key = decision.key.as_str();
    let limits = &state.limits;
    let expires_at = signing_now() + state.ticket_ttl;
    let opening = Opening { key, expires_at };
    admission
        .grant_opening(limits, who, &decision.profile, None, Some(opening))
        .await?;
    match state.s3.create_multipart(&NewUpload::of(decision)).await {
        Ok(upload_id) => {
            let upload = UploadRef {
                bucket: &decision.bucket,
                key: &decision.key,
                upload_id: &upload_id,
            };
            let kind = GrantKind::CreateMultipartUpload;
            state
                .audit
                .upload_grant(who, &decision.profile, upload, kind, 0, expires_at);
            Ok(upload_id)
        }
        Err(error) => {
            limits.close_upload(who, &decision.profile, key).await;
            Err(error.into())
        }
    }
}

/// `GET /s3/multipart/{uploadId}/batch` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct BatchQuery {
    /// The object key.
    pub key: String,
    /// Comma-separated part numbers.
    pub part_numbers: String,
}

impl UploadQuery for BatchQuery {
    fn key(&self) -> &str {
        &self.key
    }
}

/// The path of `GET /s3/multipart/{uploadId}/{partNumber}`.
#[derive(Debug, Deserialize)]
pub(super) struct PartPath {
    /// The part number, as text.
    pub part_number: String,
}

/// UploadPart URLs for `numbers` with the profile's default lifetime, each signed when it
/// is read; and that lifetime in seconds.
async fn sign_parts(
    state: &web::Data<AppState>,
    who: &NamespaceSegment,
    owned: &OwnedUpload,
    numbers: Vec<PartNumber>,
) -> Result<(UnsizedParts, i64), ApiError> {
    let now = signing_now();
    let (credentials, expires) =
        signing_window(state, owned.profile.lifetime(None), None, now).await?;
    let expires_at = now + chrono::Duration::seconds(i64::from(expires.as_secs()));
    let (profile, kind, count) = (owned.profile.name(), GrantKind::UploadPart, numbers.len());
    state
        .audit
        .upload_grant(who, profile, owned.upload(), kind, count, expires_at);
    let urls = PartSigning {
        signer: &state.signer,
        credentials: &credentials,
        bucket: owned.profile.bucket(),
        key: &owned.key,
        upload_id: &owned.upload_id,
        expires,
        now,
    }
    .unsized_parts(numbers)?;
    Ok((urls, i64::from(expires.as_secs())))
}

/// `GET /s3/multipart/{uploadId}/{partNumber}?key=` → `{url, expires}`.
pub(super) async fn sign_part(
    state: web::Data<AppState>,
    OnUpload {
        upload, principal, ..
    }: OnUpload,
    path: web::Path<PartPath>,
) -> Result<HttpResponse, ApiError> {
    let number = PartRange::Any.parse(&path.part_number)?;
    let (mut urls, expires) = sign_parts(&state, &principal, &upload, vec![number]).await?;
    let (_, url) = urls.next().ok_or_else(ApiError::internal)??;
    Ok(granted(
        grant_response(&json!({ "url": url, "expires": expires })),
        GrantKind::UploadPart,
        1,
    ))
}

/// `GET /s3/multipart/{uploadId}/batch?key=&partNumbers=1,2` → `{presignedUrls: {"1": url}}`,
/// in the order asked, each URL signed as the answer is written (`grant/streamed.rs`).
pub(super) async fn sign_batch(
    state: web::Data<AppState>,
    OnUpload {
        upload,
        query,
        principal,
        ..
    }: OnUpload<BatchQuery>,
) -> Result<HttpResponse, ApiError> {
    let numbers = PartRange::Any.parse_list(&query.part_numbers)?;
    let (urls, _) = sign_parts(&state, &principal, &upload, numbers).await?;
    let count = urls.len();
    Ok(granted(
        streamed_grant_response(presigned_urls(urls)),
        GrantKind::UploadPart,
        count,
    ))
}

/// `{"presignedUrls":{"1":"url",...}}`, as `serde_json` writes the map (numbers are distinct:
/// `PartRange::parse_list` refuses a number named twice).
fn presigned_urls(urls: UnsizedParts) -> JsonItems<UnsizedParts, (PartNumber, String)> {
    JsonItems::new(
        br#"{"presignedUrls":{"#.to_vec(),
        urls,
        |out, (number, url)| {
            serde_json::to_writer(&mut *out, &number.to_string())?;
            out.push(b':');
            serde_json::to_writer(out, &url)
        },
        b"}}".to_vec(),
    )
}

/// One part as Companion lists it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct CompanionPart {
    /// Its number.
    pub part_number: u16,
    /// Its quoted ETag.
    #[serde(rename = "ETag", skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// Its size.
    pub size: u64,
    /// When it was uploaded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<DateTime<Utc>>,
}

/// `GET /s3/multipart/{uploadId}?key=` → every part S3 holds (all pages).
pub(super) async fn list(
    state: web::Data<AppState>,
    OnUpload { upload, .. }: OnUpload,
) -> Result<HttpResponse, ApiError> {
    let parts = state.s3.list_parts(upload.upload()).await?;
    let parts: Vec<CompanionPart> = parts
        .into_iter()
        .map(|p| CompanionPart {
            part_number: p.part_number,
            etag: p.etag,
            size: p.size,
            last_modified: p.last_modified,
        })
        .collect();
    Ok(grant_response(&parts))
}

/// One part of Companion's complete body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct CompanionReceipt {
    /// Its number.
    pub part_number: u64,
    /// Its ETag, quoted (Uppy 5) or not (Uppy 6).
    #[serde(rename = "ETag")]
    pub etag: String,
}

/// `POST /s3/multipart/{uploadId}/complete?key=` body.
#[derive(Debug, Deserialize)]
pub(super) struct CompleteBody {
    /// The parts, in order.
    pub parts: Vec<CompanionReceipt>,
}

/// Checks Companion's parts list: ascending, each once, valid numbers and ETags.
pub(super) fn receipts(parts: Vec<CompanionReceipt>) -> Result<Vec<PartToComplete>, ApiError> {
    let receipts = parts
        .into_iter()
        .map(|p| Receipt {
            part_number: p.part_number,
            etag: p.etag,
            checksum: None,
        })
        .collect();
    Ok(check_receipts(receipts, Expected::Unplanned)?)
}

/// Refuses an upload whose named parts add up to more (or less) than the profile allows; a
/// too-large upload of `principal` is aborted (the abort audited, the upload's place among its
/// principal's open uploads given back), since it can never be completed. Each named part must be held by S3 with that very ETag, and its size is the one
/// S3 reports, so a part replaced after this check no longer matches and S3 refuses the
/// complete. Returns the total.
async fn check_total_size(
    state: &AppState,
    principal: &NamespaceSegment,
    profile: &Profile,
    upload: UploadRef<'_>,
    parts: &[PartToComplete],
) -> Result<u64, ApiError> {
    let held = state.s3.list_parts(upload).await?;
    let total: u64 = match_held(parts, &held)?.iter().map(|h| h.size).sum();
    let range = profile.size_range();
    if total > range.max {
        match state.s3.abort_multipart(upload).await {
            Ok(()) => {
                let oversized = Some("oversized");
                state
                    .aborted(principal, profile.name(), upload, oversized)
                    .await;
            }
            Err(err) => {
                tracing::warn!(error = %err, "aborting an oversized multipart upload failed");
            }
        }
    }
    range.check(total)?;
    Ok(total)
}

/// `POST /s3/multipart/{uploadId}/complete?key=` → `{location, key, bucket}`.
pub(super) async fn complete(
    state: web::Data<AppState>,
    OnUpload {
        upload,
        principal,
        subject,
        ..
    }: OnUpload,
    body: web::Json<CompleteBody>,
) -> Result<HttpResponse, ApiError> {
    let parts = receipts(body.into_inner().parts)?;
    let done =
        complete_checked(&state, &principal, &upload.profile, upload.upload(), &parts).await?;
    release(&state, &principal, &upload).await;
    let (kind, profile) = (GrantKind::CompleteMultipartUpload, &upload.profile);
    let at = signing_now();
    // As every completion's event: when the upload's sealed id would have expired.
    let expires_at = upload.expires_at;
    state.audit.upload_grant(
        &principal,
        profile.name(),
        upload.upload(),
        kind,
        0,
        expires_at,
    );
    let grant_id = GrantId::of_upload(&upload.upload_id);
    let expected = ExpectedObject::multipart(
        profile.name(),
        (profile.bucket(), &upload.key),
        &upload.file,
        (Some(done.size), upload.expires_at),
        grant_id.as_str(),
        profile.verification(),
    );
    let verified = match check_object(&state, (&principal, &subject), expected, at).await? {
        Outcome::Verified(verified) => verified,
        Outcome::Mismatch(answer) => return Ok(answer),
    };
    // Uppy 5 hands this whole body to `upload-success` (`response.body.receipt`).
    Ok(grant_response(&json!({
        "location": done.location,
        "key": upload.key.as_str(),
        "bucket": profile.bucket().as_str(),
        "receipt": verified.receipt,
        "object": verified.object,
    })))
}

/// A multipart upload the broker completed.
pub(super) struct Done {
    /// The object's URL.
    pub location: String,
    /// The object's ETag.
    pub etag: Option<String>,
    /// Its size: the total of the parts, checked against the profile.
    pub size: u64,
}

/// Completes `principal`'s `upload` with `parts` after checking them against the parts S3
/// holds and their total against `profile` (with `If-None-Match: *` for no-overwrite profiles
/// where the backend honours it).
pub(super) async fn complete_checked(
    state: &AppState,
    principal: &NamespaceSegment,
    profile: &Profile,
    upload: UploadRef<'_>,
    parts: &[PartToComplete],
) -> Result<Done, ApiError> {
    let size = check_total_size(state, principal, profile, upload, parts).await?;
    let object = state
        .s3
        .complete_multipart(
            upload,
            parts,
            None,
            !profile.allow_overwrite() && state.backend.conditional_complete(),
            size,
        )
        .await?;
    Ok(Done {
        location: object
            .location
            .unwrap_or_else(|| state.signer.object_url(upload.bucket, upload.key)),
        etag: object.etag,
        size,
    })
}

/// `DELETE /s3/multipart/{uploadId}?key=` → `{}`.
pub(super) async fn abort(
    state: web::Data<AppState>,
    OnUpload {
        upload, principal, ..
    }: OnUpload,
) -> Result<HttpResponse, ApiError> {
    state.s3.abort_multipart(upload.upload()).await?;
    let profile = upload.profile.name();
    state
        .aborted(&principal, profile, upload.upload(), None)
        .await;
    Ok(grant_response(&json!({})))
}

/// Gives the upload's place among its principal's open uploads back (`concurrent_multipart`).
async fn release(state: &AppState, principal: &NamespaceSegment, upload: &OwnedUpload) {
    let profile = upload.profile.name();
    let key = upload.key.as_str();
    state.limits.close_upload(principal, profile, key).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Code;

    fn receipt(part_number: u64, etag: &str) -> CompanionReceipt {
        CompanionReceipt {
            part_number,
            etag: etag.to_owned(),
        }
    }

    fn refusal(parts: Vec<CompanionReceipt>) -> (Code, String) {
        let err = receipts(parts).expect_err("a refusal");
        (err.code(), err.detail().to_owned())
    }

    #[test]
    fn receipts_quote_etags_and_may_skip_numbers() {
        let parts = receipts(vec![receipt(1, "a"), receipt(3, "\"b\"")]).unwrap();
        let listed: Vec<(u16, &str)> = parts
            .iter()
            .map(|p| (p.part_number.get(), p.etag.as_str()))
            .collect();
        assert_eq!(listed, [(1, "\"a\""), (3, "\"b\"")]);
    }

    #[test]
    fn receipts_refuse_what_s3_would() {
        assert_eq!(refusal(vec![]).0, Code::PartsMismatch);
        let (code, detail) = refusal(vec![receipt(2, "a"), receipt(1, "b")]);
        assert_eq!(code, Code::PartsMismatch);
        assert!(detail.contains("part 1 follows part 2"), "{detail}");
        assert_eq!(
            refusal(vec![receipt(1, "a"), receipt(1, "a")]).0,
            Code::PartsMismatch
        );
        assert_eq!(refusal(vec![receipt(0, "a")]).0, Code::PartsMismatch);
        assert_eq!(
            refusal(vec![receipt(10_001, "a")]).0,
            Code::InvalidPartNumbers
        );
        assert_eq!(refusal(vec![receipt(1, "")]).0, Code::PartsMismatch);
    }

    #[test]
    fn a_streamed_batch_is_the_map_serde_json_writes() {
        use crate::domain::{BucketName, Expiry, ObjectKey, UploadId};
        let (signer, credentials) = crate::multipart::example_signer("us-east-1");
        let (bucket, key) = (
            BucketName::new("uploads").unwrap(),
            ObjectKey::new("users/bob/x y.bin").unwrap(),
        );
        let upload_id = UploadId::new("abc~123").unwrap();
        let signing = PartSigning {
            signer: &signer,
            credentials: &credentials,
            bucket: &bucket,
            key: &key,
            upload_id: &upload_id,
            expires: Expiry::from_secs(600).unwrap(),
            now: chrono::DateTime::from_timestamp(1_777_636_800, 0).unwrap(),
        };
        // Not in part order: the answer keeps the order asked.
        let numbers = PartRange::Any
            .parse_list(
                &(1..=300)
                    .rev()
                    .map(|n| n.to_string())
                    .collect::<Vec<_>>()
                    .join(","),
            )
            .unwrap();
        let map: serde_json::Map<String, serde_json::Value> = signing
            .unsized_parts(numbers.clone())
            .unwrap()
            .map(|signed| {
                let (number, url) = signed.unwrap();
                (number.to_string(), serde_json::Value::String(url))
            })
            .collect();
        let whole = serde_json::to_vec(&json!({ "presignedUrls": map })).unwrap();
        let urls = signing.unsized_parts(numbers).unwrap();
        let (streamed, chunks) = crate::http::grant::collect(presigned_urls(urls)).unwrap();
        assert!(
            streamed == whole,
            "the streamed answer differs from the whole document"
        );
        assert!(chunks > 1, "{chunks} chunks");
    }
}
