//! `POST /v1/multipart/complete` and `POST /v1/multipart/abort`: the broker finishes the
//! upload in S3 itself, after checking the parts list against the plan in the ticket, then
//! verifies the assembled object as `POST /v1/uploads/verify` does and answers its receipt
//! (or 422 `upload_mismatch`, the object deleted or quarantined).

use super::ticket::open_ticket;
use crate::domain::ChecksumAlgorithm;
use crate::grants::GrantKind;
use crate::http::grant::signing_now;
use crate::http::verify::{ExpectedObject, Outcome, Verified, check_object};
use crate::http::{ApiError, AppState, Caller};
use crate::multipart::{
    Expected, PartToComplete, Receipt, check_planned, check_receipts, match_held,
};
use actix_web::http::header::CACHE_CONTROL;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

/// One uploaded part, as the client saw it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartReceipt {
    /// The part number.
    pub part_number: u64,
    /// The `ETag` the part's upload returned (quoted or not).
    pub etag: String,
    /// The part's checksum, for uploads with a checksum algorithm.
    pub checksum: Option<String>,
}

/// The body of a complete request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CompleteRequest {
    /// The ticket from `POST /v1/multipart`.
    pub upload: String,
    /// Every part of the plan, in order.
    pub parts: Vec<PartReceipt>,
}

/// The body of an abort request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AbortRequest {
    /// The ticket from `POST /v1/multipart`.
    pub upload: String,
}

/// The completed object.
#[derive(Debug, Serialize)]
pub(super) struct Completed {
    /// The object key.
    pub key: String,
    /// The bucket.
    pub bucket: String,
    /// The object's ETag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// The object's size.
    pub size: u64,
    /// The receipt of the assembled object, and the object it names.
    #[serde(flatten)]
    pub verified: Verified,
}

impl From<PartReceipt> for Receipt {
    fn from(part: PartReceipt) -> Self {
        Receipt {
            part_number: part.part_number,
            etag: part.etag,
            checksum: part.checksum,
        }
    }
}

/// Checks that `parts` are exactly the plan's parts 1..=`count`, in order, each with an ETag
/// (and a checksum when the upload has an algorithm).
fn checked_parts(
    parts: Vec<PartReceipt>,
    count: u64,
    algorithm: Option<ChecksumAlgorithm>,
) -> Result<Vec<PartToComplete>, ApiError> {
    let receipts = parts.into_iter().map(Receipt::from).collect();
    Ok(check_receipts(
        receipts,
        Expected::Plan { count, algorithm },
    )?)
}

/// The handler of `POST /v1/multipart/complete`. With no-overwrite profiles S3 gets
/// `If-None-Match: *` and refuses (412 `object_exists`) to replace an existing object.
pub(super) async fn complete_multipart(
    state: web::Data<AppState>,
    Caller(principal): Caller,
    body: web::Json<CompleteRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = body.into_inner();
    let open = open_ticket(&state, &principal, &request.upload, signing_now()).await?;
    let ticket = &open.ticket;
    let parts = checked_parts(
        request.parts,
        ticket.plan.part_count(),
        ticket.checksum_algorithm,
    )?;
    // Only this broker's part URLs sign the planned length; check what S3 really holds.
    let held = state.s3.list_parts(open.upload()).await?;
    check_planned(&match_held(&parts, &held)?, &ticket.plan)?;
    let object = state
        .s3
        .complete_multipart(
            open.upload(),
            &parts,
            ticket.checksum_algorithm,
            // Where the backend does not document a conditional complete, the profile's keys
            // are unique instead (checked at startup).
            ticket.no_overwrite && state.backend.conditional_complete(),
            ticket.plan.size(),
        )
        .await?;
    release(&state, ticket).await;
    let kind = GrantKind::CompleteMultipartUpload;
    open.audit(&state, &principal, kind, 0, ticket.upload.expires_at);
    let grant_id = ticket.upload.grant_id();
    let size = ticket.plan.size();
    let rules = open.profile.verification();
    let expected = ExpectedObject::of_upload(&ticket.upload, Some(size), grant_id.as_str(), rules);
    let who = (&principal.segment, &*principal.subject);
    let verified = match check_object(&state, who, expected, signing_now()).await? {
        Outcome::Verified(verified) => verified,
        Outcome::Mismatch(answer) => return Ok(answer),
    };
    Ok(HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "no-store"))
        .json(Completed {
            key: ticket.upload.key.as_str().to_owned(),
            bucket: ticket.upload.bucket.as_str().to_owned(),
            etag: object.etag,
            size,
            verified,
        }))
}

/// The handler of `POST /v1/multipart/abort`: S3 drops every part; 204.
pub(super) async fn abort_multipart(
    state: web::Data<AppState>,
    Caller(principal): Caller,
    body: web::Json<AbortRequest>,
) -> Result<HttpResponse, ApiError> {
    let open = open_ticket(&state, &principal, &body.upload, signing_now()).await?;
    state.s3.abort_multipart(open.upload()).await?;
    let upload = &open.ticket.upload;
    let (who, profile) = (&upload.principal, upload.profile.as_str());
    state.aborted(who, profile, open.upload(), None).await;
    Ok(HttpResponse::NoContent().finish())
}

/// Frees the upload's place among its principal's open uploads (`concurrent_multipart`).
async fn release(state: &AppState, ticket: &crate::multipart::UploadTicket) {
    let upload = &ticket.upload;
    state
        .limits
        .close_upload(&upload.principal, &upload.profile, upload.key.as_str())
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Checksum;
    use crate::http::Code;

    fn receipt(n: u64) -> PartReceipt {
        PartReceipt {
            part_number: n,
            etag: format!("etag{n}"),
            checksum: None,
        }
    }

    fn detail(parts: &[u64], count: u64) -> String {
        let err =
            checked_parts(parts.iter().map(|&n| receipt(n)).collect(), count, None).unwrap_err();
        assert_eq!(err.code(), Code::PartsMismatch);
        err.detail().to_owned()
    }

    #[test]
    fn accepts_exactly_the_plan() {
        let parts = checked_parts(vec![receipt(1), receipt(2)], 2, None).unwrap();
        assert_eq!(parts[1].etag.as_str(), "\"etag2\"");
    }

    #[test]
    fn names_what_is_wrong() {
        assert!(detail(&[1, 3], 3).contains("part 2 is missing"));
        assert!(detail(&[1, 2], 3).contains("part 3 is missing"));
        assert!(detail(&[2, 1], 2).contains("ascending"));
        assert!(detail(&[1, 1], 2).contains("ascending"));
        assert!(detail(&[1, 2, 3], 2).contains("not in the plan"));
        assert!(detail(&[], 1).contains("part 1 is missing"));
    }

    #[test]
    fn checksums_follow_the_algorithm() {
        let sha = Checksum::sha256_of(b"x").value().to_owned();
        let with = |c: Option<&str>| PartReceipt {
            checksum: c.map(str::to_owned),
            ..receipt(1)
        };
        let algo = Some(ChecksumAlgorithm::Sha256);
        assert!(checked_parts(vec![with(Some(&sha))], 1, algo).is_ok());
        assert!(checked_parts(vec![with(None)], 1, algo).is_err());
        assert!(checked_parts(vec![with(Some("bad"))], 1, algo).is_err());
        assert!(checked_parts(vec![with(Some(&sha))], 1, None).is_err());
    }
}
