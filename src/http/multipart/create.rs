//! `POST /v1/multipart`: checks the profile, plans the parts, creates the upload in S3 and
//! returns the sealed ticket that later calls present.

use crate::domain::ChecksumAlgorithm;
use crate::http::grant::{grant_response, signing_now};
use crate::http::{ApiError, AppState, Caller, Code};
use crate::multipart::{NamedUpload, UploadTicket};
use crate::policy::MultipartIntent;
use crate::s3::NewUpload;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

/// The request body. Unknown fields are refused.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateMultipartRequest {
    /// Upload profile (default: the configured default).
    pub profile: Option<String>,
    /// The file's display name; becomes the last key segment.
    pub filename: String,
    /// The object's media type.
    pub content_type: String,
    /// The exact size in bytes: every part URL signs its exact length from it.
    pub size: u64,
    /// Part size in bytes, 5 MiB to 5 GiB (default: 8 MiB, or more to stay within 10,000
    /// parts).
    pub part_size: Option<u64>,
    /// `SHA256`, `SHA1`, `CRC32` or `CRC32C`: every part must then carry that checksum.
    pub checksum_algorithm: Option<String>,
    /// Client folders under the caller's namespace, when the profile allows them.
    pub path: Option<String>,
    /// `x-amz-meta-*` values, for the keys the profile allows.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

/// A created multipart upload.
#[derive(Debug, Serialize)]
pub struct CreatedMultipart {
    /// The opaque ticket to present to every later multipart call.
    pub upload: String,
    /// The object key.
    pub key: String,
    /// The bucket.
    pub bucket: String,
    /// S3's upload id.
    pub upload_id: String,
    /// Size of every part but the last.
    pub part_size: u64,
    /// Number of parts.
    pub part_count: u64,
    /// When the ticket (and so the chance to finish the upload) expires.
    pub expires_at: DateTime<Utc>,
    /// The server's clock.
    pub server_time: DateTime<Utc>,
}

/// Parses a multipart checksum algorithm. CRC64NVME is refused: S3 only offers it as a
/// full-object checksum, which per-part checksums cannot express.
///
/// See <https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html>
fn parse_algorithm(name: Option<&str>) -> Result<Option<ChecksumAlgorithm>, ApiError> {
    let Some(name) = name else { return Ok(None) };
    match name.parse::<ChecksumAlgorithm>() {
        Ok(ChecksumAlgorithm::Crc64Nvme) | Err(_) => Err(ApiError::new(
            Code::InvalidChecksumAlgorithm,
            "checksum_algorithm must be SHA256, SHA1, CRC32 or CRC32C",
        )),
        Ok(algorithm) => Ok(Some(algorithm)),
    }
}

/// The handler.
pub async fn create_multipart(
    state: web::Data<AppState>,
    Caller(principal): Caller,
    body: web::Json<CreateMultipartRequest>,
) -> Result<HttpResponse, ApiError> {
    let now = signing_now();
    let request = body.into_inner();
    let checksum_algorithm = parse_algorithm(request.checksum_algorithm.as_deref())?;
    if let Some(algorithm) = checksum_algorithm {
        state.backend.check_part_checksum(algorithm)?;
    }
    let profile = state.profiles.profile(request.profile.as_deref())?;
    let intent = MultipartIntent {
        filename: request.filename,
        content_type: request.content_type,
        size: Some(request.size),
        part_size: request.part_size,
        checksum_algorithm,
        path: request.path,
        metadata: request.metadata,
    };
    let decision = profile.decide_multipart(&principal, &intent, Uuid::new_v4(), now)?;
    let plan = decision.plan.ok_or_else(ApiError::internal)?;
    let upload_id = state
        .s3
        .create_multipart(&NewUpload::of(&decision, checksum_algorithm))
        .await?;
    let ticket = UploadTicket {
        upload: NamedUpload {
            principal: principal.segment.clone(),
            profile: decision.profile,
            bucket: decision.bucket,
            key: decision.key,
            upload_id,
            expires_at: now + state.ticket_ttl,
        },
        plan,
        checksum_algorithm,
        no_overwrite: decision.no_overwrite,
    };
    let upload = &ticket.upload;
    Ok(grant_response(&CreatedMultipart {
        upload: state.tickets.seal(&ticket),
        key: upload.key.as_str().to_owned(),
        bucket: upload.bucket.as_str().to_owned(),
        upload_id: upload.upload_id.as_str().to_owned(),
        part_size: plan.part_size(),
        part_count: plan.part_count(),
        expires_at: upload.expires_at,
        server_time: now,
    }))
}
