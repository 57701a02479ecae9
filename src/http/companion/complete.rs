//! `POST /s3/complete?grant=`: where Uppy 6 sends its CompleteMultipartUpload request when
//! `POST /s3/sign` answered with a completion grant instead of a presigned S3 URL. Uppy posts
//! the same XML it would send to S3; the broker checks each part (ETag and size, as S3 holds
//! them) and the total against the profile, completes the upload, verifies the assembled
//! object as `POST /v1/uploads/verify` does, and answers with S3's
//! `CompleteMultipartUploadResult` XML plus a `Receipt` element (Uppy reads `Location` and
//! `Key` and ignores the rest), or 422 `upload_mismatch`. No `Authorization` header: the
//! sealed grant in the query (short-lived, one upload of one principal) is the credential.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html>.

use super::multipart::{CompanionReceipt, complete_checked, receipts};
use super::xml_answer::xml_answer;
use crate::http::extractors::MAX_PARTS_JSON_BODY;
use crate::http::grant::signing_now;
use crate::http::verify::{ExpectedObject, Outcome, check_object};
use crate::http::{ApiError, AppState, Code};
use crate::multipart::parts_digest;
use crate::s3::UploadRef;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

/// How long a completion grant lives: Uppy uses it at once.
pub(super) const COMPLETE_URL_SECS: i64 = 300;

/// The query: the sealed completion grant.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CompleteQuery {
    /// From `POST /s3/sign`.
    pub grant: String,
}

/// The XML body S3 takes (and Uppy sends).
#[derive(Debug, Deserialize)]
#[serde(rename = "CompleteMultipartUpload")]
struct CompleteXml {
    #[serde(rename = "Part", default)]
    parts: Vec<CompanionReceipt>,
}

/// S3's answer, which Uppy reads `Location` and `Key` from.
#[derive(Debug, Serialize)]
#[serde(rename = "CompleteMultipartUploadResult", rename_all = "PascalCase")]
struct CompleteResultXml<'a> {
    location: &'a str,
    bucket: &'a str,
    key: &'a str,
    #[serde(rename = "ETag", skip_serializing_if = "Option::is_none")]
    etag: Option<&'a str>,
    /// The receipt of the assembled object (an s3-broker addition).
    receipt: &'a str,
}

/// The digest a completion grant binds: [`parts_digest`] of the part numbers, with their
/// quoted ETags when `etags_bound` (else empty: a store that lists no ETags).
pub(super) fn bound_digest<'a>(
    parts: impl IntoIterator<Item = (u16, &'a str)>,
    etags_bound: bool,
) -> String {
    parts_digest(
        parts
            .into_iter()
            .map(|(number, etag)| (number, if etags_bound { etag } else { "" })),
    )
}

/// The handler.
pub(super) async fn complete(
    state: web::Data<AppState>,
    query: web::Query<CompleteQuery>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    // The grant is checked before a byte of the body is read: this route has no other
    // authentication.
    let grant = state.tickets.open_completion(&query.grant, signing_now())?;
    // Sealed COMPLETE_URL_SECS before it expires: refused after a revocation of its principal.
    let issued_at = grant.upload.expires_at - chrono::Duration::seconds(COMPLETE_URL_SECS);
    let limits = &state.limits;
    limits
        .check_sealed(&grant.upload.principal, issued_at.timestamp())
        .await?;
    let profile = state
        .profiles
        .get(&grant.upload.profile)
        .map_err(|_| ApiError::from(crate::multipart::TicketError::Invalid))?;
    let body = payload
        .to_bytes_limited(MAX_PARTS_JSON_BODY)
        .await
        .map_err(|_| {
            ApiError::new(
                Code::BodyTooLarge,
                format!("the parts list is limited to {MAX_PARTS_JSON_BODY} bytes"),
            )
        })?;
    let body =
        body.map_err(|_| ApiError::new(Code::MalformedBody, "the request body could not be read"))?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::new(Code::MalformedBody, "the parts list is not UTF-8"))?;
    let xml: CompleteXml = quick_xml::de::from_str(text).map_err(|e| {
        ApiError::new(
            Code::MalformedBody,
            format!("the body is not a CompleteMultipartUpload document: {e}"),
        )
    })?;
    let parts = receipts(xml.parts)?;
    let named = bound_digest(
        parts.iter().map(|p| (p.part_number.get(), p.etag.as_str())),
        grant.etags_bound,
    );
    if named != grant.parts_digest {
        return Err(ApiError::new(
            Code::PartsMismatch,
            "the parts differ from those S3 held when this completion was granted: ask \
             POST /s3/sign for a new one",
        ));
    }
    let upload = &grant.upload;
    let (who, named) = (&upload.principal, UploadRef::from(upload));
    let done = complete_checked(&state, who, profile, named, &parts).await?;
    limits
        .close_upload(&upload.principal, &upload.profile, upload.key.as_str())
        .await;
    let kind = crate::grants::GrantKind::CompleteMultipartUpload;
    let (who, at) = (&upload.principal, upload.expires_at);
    state
        .audit
        .upload_grant(who, &upload.profile, UploadRef::from(upload), kind, 0, at);
    let grant_id = upload.grant_id();
    let rules = profile.verification();
    let expected = ExpectedObject::of_upload(upload, Some(done.size), grant_id.as_str(), rules);
    // Grants sealed before receipts name no subject: the namespace segment stands in.
    let subject = grant
        .subject
        .as_deref()
        .unwrap_or(upload.principal.as_str());
    let who = (&upload.principal, subject);
    let verified = match check_object(&state, who, expected, signing_now()).await? {
        Outcome::Verified(verified) => verified,
        Outcome::Mismatch(answer) => return Ok(answer),
    };
    xml_answer(
        &CompleteResultXml {
            location: &done.location,
            bucket: upload.bucket.as_str(),
            key: upload.key.as_str(),
            etag: done.etag.as_deref(),
            receipt: &verified.receipt,
        },
        "completion result",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_binds_etags_only_when_bound() {
        let parts = [(1, "\"a\""), (2, "\"b\"")];
        assert_eq!(bound_digest(parts, true), parts_digest(parts));
        assert_eq!(bound_digest(parts, false), parts_digest([(1, ""), (2, "")]));
        assert_ne!(bound_digest(parts, true), bound_digest(parts, false));
    }
}
