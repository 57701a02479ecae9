//! `POST /v1/multipart`: checks the profile, plans the parts, creates the upload in S3 and
//! returns the sealed ticket that later calls present.

use crate::grants::{GrantKind, NewUpload};
use crate::http::grant::{grant_response, signing_now};
use crate::http::{ApiError, AppState, Grantee};
use crate::limits::Opening;
use crate::multipart::{DeclaredFile, NamedUpload, UploadTicket};
use crate::policy::MultipartIntent;
use crate::s3::UploadRef;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

/// A created multipart upload.
#[derive(Debug, Serialize)]
pub(super) struct CreatedMultipart {
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

/// The handler.
pub(super) async fn create_multipart(
    state: web::Data<AppState>,
    Grantee(principal, admission): Grantee,
    body: web::Json<MultipartIntent>,
) -> Result<HttpResponse, ApiError> {
    let now = signing_now();
    let intent = body.into_inner();
    let profile = state.profiles.profile(intent.profile.as_deref())?;
    let decision =
        profile.decide_multipart(&principal, &intent, state.backend, Uuid::new_v4(), now)?;
    let plan = decision.plan.ok_or_else(ApiError::internal)?;
    let who = &principal.segment;
    let expires_at = now + state.ticket_ttl;
    let limits = &state.limits;
    let opening = Opening {
        key: decision.key.as_str(),
        expires_at,
    };
    admission
        .grant_opening(limits, who, &decision.profile, intent.size, Some(opening))
        .await?;
    let upload_id = match state.s3.create_multipart(&NewUpload::of(&decision)).await {
        Ok(upload_id) => upload_id,
        Err(error) => {
            limits
                .close_upload(who, &decision.profile, decision.key.as_str())
                .await;
            return Err(error.into());
        }
    };
    let ticket = UploadTicket {
        upload: NamedUpload {
            principal: principal.segment.clone(),
            profile: decision.profile,
            bucket: decision.bucket,
            key: decision.key,
            upload_id,
            expires_at,
            file: DeclaredFile::new(decision.content_type, &intent.filename),
        },
        plan,
        checksum_algorithm: decision.checksum_algorithm,
        no_overwrite: decision.no_overwrite,
    };
    let upload = &ticket.upload;
    state.audit.upload_grant(
        &principal.segment,
        &upload.profile,
        UploadRef::from(upload),
        GrantKind::CreateMultipartUpload,
        0,
        upload.expires_at,
    );
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
