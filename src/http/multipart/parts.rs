//! `POST /v1/multipart/parts` (presigned UploadPart URLs, batched) and
//! `GET /v1/multipart/parts?upload=` (the parts S3 holds).

use super::ticket::open_ticket;
use crate::domain::Checksum;
use crate::grants::GrantKind;
use crate::http::grant::{
    JsonItems, grant_response, granted, requested_expiry, signing_now, signing_window,
    streamed_grant_response,
};
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

/// The handler of `POST /v1/multipart/parts`.
pub(super) async fn sign_parts(
    state: web::Data<AppState>,
    Caller(principal): Caller,
    body: web::Json<SignPartsRequest>,
) -> Result<HttpResponse, ApiError> {
    let now = signing_now();
    let request = body.into_inner();
    let requested = requested_expiry(request.expires_in)?;
    let open = open_ticket(&state, &principal, &request.upload, now).await?;
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
    // Each URL is signed as the answer is written (`grant/streamed.rs`): the first of
    // 10,000 parts leave long before the last one is signed.
    let expires_at = now + chrono::Duration::seconds(i64::from(expires.as_secs()));
    let parts = PartSigning {
        signer: &state.signer,
        credentials: &credentials,
        bucket: &open.ticket.upload.bucket,
        key: &open.ticket.upload.key,
        upload_id: &open.ticket.upload.upload_id,
        expires,
        now,
    }
    .planned(plan, numbers, checksums)?;
    let count = parts.len();
    open.audit(&state, &principal, GrantKind::UploadPart, count, expires_at);
    let body = part_grants(parts, expires_at, now).map_err(|err| {
        tracing::error!(error = %err, "a part grant did not serialize");
        ApiError::internal()
    })?;
    Ok(granted(
        streamed_grant_response(body),
        GrantKind::UploadPart,
        count,
    ))
}

/// The answer of `POST /v1/multipart/parts`: `{"parts":[...],"expires_at":..,"server_time":..}`
/// (one grant per requested part, in request order; when the URLs stop working; the server's
/// clock), the parts signed as they are written.
fn part_grants<I>(
    parts: I,
    expires_at: DateTime<Utc>,
    server_time: DateTime<Utc>,
) -> serde_json::Result<JsonItems<I, PartGrant>> {
    let mut tail = br#"],"expires_at":"#.to_vec();
    serde_json::to_writer(&mut tail, &expires_at)?;
    tail.extend_from_slice(br#","server_time":"#);
    serde_json::to_writer(&mut tail, &server_time)?;
    tail.push(b'}');
    Ok(JsonItems::new(
        br#"{"parts":["#.to_vec(),
        parts,
        |out, grant| serde_json::to_writer(out, &grant),
        tail,
    ))
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
    let open = open_ticket(&state, &principal, &query.upload, signing_now()).await?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{BucketName, Expiry, ObjectKey, PartNumber, UploadId};
    use crate::http::grant::collect;
    use crate::multipart::PartPlan;

    /// The answer as it was written before streaming: the whole document at once.
    #[derive(Serialize)]
    struct Whole {
        parts: Vec<PartGrant>,
        expires_at: DateTime<Utc>,
        server_time: DateTime<Utc>,
    }

    #[test]
    fn a_streamed_batch_of_10000_parts_is_the_whole_document_byte_for_byte() {
        let (signer, credentials) = crate::multipart::example_signer("eu-central-1");
        let (bucket, key) = (
            BucketName::new("acme-uploads").unwrap(),
            ObjectKey::new("users/alice/a b/video \"1\".bin").unwrap(),
        );
        let upload_id = UploadId::new("2~tGn4WjL7Q0sPxYvE1mK9bD3cR8aZ5uF").unwrap();
        let now = DateTime::from_timestamp(1_777_636_800, 0).unwrap();
        let expires = Expiry::from_secs(900).unwrap();
        let signing = PartSigning {
            signer: &signer,
            credentials: &credentials,
            bucket: &bucket,
            key: &key,
            upload_id: &upload_id,
            expires,
            now,
        };
        let plan = PartPlan::new(10_000 * 5 * 1024 * 1024 - 123, Some(5 * 1024 * 1024)).unwrap();
        // Request order, not part order.
        let mut numbers: Vec<PartNumber> = plan.part_numbers().collect();
        numbers.reverse();
        let planned = || {
            signing
                .planned(plan, numbers.clone(), BTreeMap::new())
                .unwrap()
        };
        let expires_at = now + chrono::Duration::seconds(900);

        let whole = serde_json::to_vec(&Whole {
            parts: planned().collect::<Result<_, _>>().unwrap(),
            expires_at,
            server_time: now,
        })
        .unwrap();
        let (streamed, chunks) = collect(part_grants(planned(), expires_at, now).unwrap()).unwrap();
        assert!(
            streamed == whole,
            "the streamed answer differs from the whole document"
        );
        assert!(chunks > 100, "{chunks} chunks");
        let parsed: serde_json::Value = serde_json::from_slice(&streamed).unwrap();
        assert_eq!(parsed["parts"].as_array().unwrap().len(), 10_000);
        assert_eq!(parsed["parts"][0]["part_number"], 10_000);
        assert_eq!(parsed["parts"][0]["size"], 5 * 1024 * 1024 - 123);
    }
}
