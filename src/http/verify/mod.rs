//! `POST /v1/uploads/verify`: once the bytes are sent, the caller presents the grant's
//! `upload` token (or the ticket, or Uppy's sealed upload id, of a multipart upload); the
//! broker reads what S3 holds (HeadObject with checksums, the first 64 KiB), compares it with
//! the token and the profile's rules, and answers a signed receipt, or 422 `upload_mismatch`
//! after deleting (or quarantining) the object. Every multipart completion runs the same
//! check ([`check_object`]).

mod check;
mod presented;

pub(crate) use check::{ExpectedObject, Outcome, Verified, check_object};

use super::{ApiError, AppState, Caller};
use crate::multipart::TicketError;
use crate::policy::PolicyError;
use actix_web::http::header;
use actix_web::{HttpResponse, web};
use chrono::Utc;
use presented::Presented;
use serde::Deserialize;

/// The body: the `upload` token of an upload grant.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct VerifyRequest {
    upload: String,
}

/// The handler. Token checks (genuine, unexpired, the caller's, upload scope) come before any
/// S3 call.
pub(super) async fn verify_upload(
    state: web::Data<AppState>,
    Caller(principal): Caller,
    body: web::Json<VerifyRequest>,
) -> Result<HttpResponse, ApiError> {
    let now = Utc::now();
    let presented = Presented::open(&state.tickets, &body.upload, now)?;
    if *presented.principal() != principal.segment {
        return Err(PolicyError::NotOwner.into());
    }
    if !principal.may(crate::domain::Scope::Upload) {
        return Err(PolicyError::InsufficientScope(crate::domain::Scope::Upload).into());
    }
    let profile = state
        .profiles
        .get(presented.profile())
        .map_err(|_| ApiError::from(TicketError::Invalid))?;
    let expected = presented.expected(profile.verification());
    Ok(
        match check_object(
            &state,
            (&principal.segment, &principal.subject),
            expected,
            now,
        )
        .await?
        {
            Outcome::Verified(verified) => HttpResponse::Ok()
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .json(verified),
            Outcome::Mismatch(answer) => answer,
        },
    )
}
