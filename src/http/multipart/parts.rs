//! `POST /v1/multipart/parts` (presigned UploadPart URLs, batched) and
//! `GET /v1/multipart/parts?upload=` (the parts S3 holds).

use super::ticket::open_ticket;
use crate::domain::Checksum;
use crate::grants::GrantKind;
use crate::http::grant::{
    grant_response, granted, large_grant_response, requested_expiry, signing_now, signing_window,
};
use crate::http::part_signing::sign_off_worker;
use crate::http::{ApiError, AppState, Caller, Code};
use crate::multipart::{PartGrant, PartRange, PartSigning};
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The body of a part-signing request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SignPartsRequest {
    /// The ticket from `POST /v1/multipart`.
    pub upload: String,
    /// The parts to sign (default: every part of the plan).
    pub part_numbers: Option<Vec<u64>>,
    /// Base64 checksum of each part, by part number; required for every part when the upload
    /// has a checksum algorithm.
    #[serde(default)]
    pub checksums: BTreeMap<String, String>,
    /// Wished lifetime of the URLs in seconds (capped by the profile, the ticket and the
    /// credentials).
    pub expires_in: Option<u64>,
}

/// The signed parts.
#[derive(Debug, Serialize)]
pub(super) struct PartGrants {
    /// One grant per requested part, in request order.
    pub parts: Vec<PartGrant>,
    /// When the URLs stop working.
    pub expires_at: DateTime<Utc>,
    /// The server's clock.
    pub server_time: DateTime<Utc>,
}

/// The handler of `POST /v1/multipart/parts`.
pub(super) async fn sign_parts(
    state: web::Data<AppState>,
    Caller(principal): Caller,
    body: web::Json<SignPartsRequest>,
) -> Result<HttpResponse, ApiError> {
    let now = signing_now();
    let request = body.into_inner();
    let requested = requested_expiry(request.expires_in)?;
    let open = open_ticket(&state, &principal, &request.upload, now)?;
    let plan = open.ticket.plan;
    // Every part of the plan when none are named.
    let numbers = match request.part_numbers {
        Some(requested) => PartRange::Plan(plan.part_count()).parts(requested)?,
        None => plan.part_numbers().collect(),
    };
    let requested_numbers: std::collections::BTreeSet<u64> =
        numbers.iter().map(|p| u64::from(p.get())).collect();
    let mut checksums = BTreeMap::new();
    for (number, value) in &request.checksums {
        // Canonical decimal only, so `"1"`, `"01"` and `"+1"` cannot name one part twice.
        let part = number
            .parse::<u64>()
            .ok()
            .filter(|n| n.to_string() == *number && requested_numbers.contains(n))
            .ok_or_else(|| {
                ApiError::new(
                    Code::InvalidChecksum,
                    format!("checksums names part {number:?}, which is not requested"),
                )
            })?;
        let algorithm = open.ticket.checksum_algorithm.ok_or_else(|| {
            ApiError::new(
                Code::InvalidChecksum,
                "this upload was created without checksum_algorithm, so parts carry no checksum",
            )
        })?;
        let checksum = Checksum::new(algorithm, value)
            .map_err(|e| ApiError::new(Code::InvalidChecksum, format!("part {part}: {e}")))?;
        checksums.insert(
            u16::try_from(part).map_err(|_| ApiError::internal())?,
            checksum,
        );
    }
    if open.ticket.checksum_algorithm.is_some()
        && let Some(missing) = numbers.iter().find(|p| !checksums.contains_key(&p.get()))
    {
        return Err(ApiError::new(
            Code::ChecksumRequired,
            format!("part {missing} needs its checksum: the upload has a checksum algorithm"),
        ));
    }
    // URLs live no longer than the ticket.
    let (credentials, expires) = signing_window(
        &state,
        open.profile.lifetime(requested),
        Some(open.ticket.upload.expires_at),
        now,
    )
    .await?;
    // Signing 10,000 URLs takes milliseconds of CPU on every core: off the async workers.
    let ticket = open.ticket;
    let signer_state = state.clone();
    let parts = sign_off_worker(numbers.len(), move || {
        PartSigning {
            signer: &signer_state.signer,
            credentials: &credentials,
            bucket: &ticket.upload.bucket,
            key: &ticket.upload.key,
            upload_id: &ticket.upload.upload_id,
            expires,
            now,
        }
        .sign_planned(&plan, &numbers, &checksums)
    })
    .await?;
    let size_hint = parts.iter().map(PartGrant::json_size_hint).sum::<usize>() + 128;
    let count = parts.len();
    let response = large_grant_response(
        &PartGrants {
            parts,
            expires_at: now + chrono::Duration::seconds(i64::from(expires.as_secs())),
            server_time: now,
        },
        size_hint,
    );
    Ok(granted(response, GrantKind::UploadPart, count))
}

/// The query of `GET /v1/multipart/parts`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ListPartsQuery {
    /// The ticket from `POST /v1/multipart`.
    pub upload: String,
}

/// One part S3 holds.
#[derive(Debug, Serialize)]
pub(super) struct UploadedPart {
    /// Its number.
    pub part_number: u16,
    /// Its ETag (quoted, as S3 returns it): pass it to complete.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// Its size in bytes.
    pub size: u64,
    /// When it was uploaded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<DateTime<Utc>>,
    /// Its checksum, for uploads with a checksum algorithm.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
}

/// The parts S3 holds.
#[derive(Debug, Serialize)]
pub(super) struct UploadedParts {
    /// Every part, in part-number order (all of ListParts' pages).
    pub parts: Vec<UploadedPart>,
    /// The plan's number of parts, to see which are missing.
    pub part_count: u64,
}

/// The handler of `GET /v1/multipart/parts`.
pub(super) async fn list_parts(
    state: web::Data<AppState>,
    Caller(principal): Caller,
    query: web::Query<ListPartsQuery>,
) -> Result<HttpResponse, ApiError> {
    let open = open_ticket(&state, &principal, &query.upload, signing_now())?;
    let parts = state.s3.list_parts(open.upload()).await?;
    Ok(grant_response(&UploadedParts {
        parts: parts
            .into_iter()
            .map(|p| UploadedPart {
                part_number: p.part_number,
                etag: p.etag,
                size: p.size,
                last_modified: p.last_modified,
                checksum: p.checksum,
            })
            .collect(),
        part_count: open.ticket.plan.part_count(),
    }))
}
