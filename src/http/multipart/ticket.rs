//! Opening the `upload` ticket of a multipart call: genuine, unexpired, and the caller's.

use crate::domain::Principal;
use crate::grants::GrantKind;
use crate::http::{ApiError, AppState};
use crate::multipart::{TicketError, UploadTicket};
use crate::policy::{PolicyError, Profile};
use crate::s3::UploadRef;
use chrono::{DateTime, Utc};

/// A ticket the caller may act on, with the profile that issued it.
pub(super) struct OpenTicket<'a> {
    /// The ticket's fields.
    pub ticket: UploadTicket,
    /// The profile named in the ticket.
    pub profile: &'a Profile,
}

impl OpenTicket<'_> {
    /// The upload the ticket names, for S3 calls.
    pub(super) fn upload(&self) -> UploadRef<'_> {
        UploadRef::from(&self.ticket.upload)
    }

    /// Audits a grant of `count` signed `kind` requests on this upload, valid until
    /// `expires_at`, under the upload's grant id.
    pub(super) fn audit(
        &self,
        state: &AppState,
        principal: &Principal,
        kind: GrantKind,
        count: usize,
        expires_at: DateTime<Utc>,
    ) {
        state.audit.upload_grant(
            &principal.segment,
            &self.ticket.upload.profile,
            self.upload(),
            kind,
            count,
            expires_at,
        );
    }
}

/// Opens `text` for `principal`: 403 `invalid_ticket` when forged or altered, 403
/// `ticket_expired`, 403 `not_owner` when another principal created it, 403
/// `insufficient_scope` without the upload scope, 401 `revoked` when sealed before a
/// revocation of its principal (its issue time is its expiry less `multipart.ticket_ttl_secs`).
/// Nothing reaches S3 before this passes.
pub(super) async fn open_ticket<'a>(
    state: &'a AppState,
    principal: &Principal,
    text: &str,
    now: DateTime<Utc>,
) -> Result<OpenTicket<'a>, ApiError> {
    let ticket = state.tickets.open(text, now)?;
    if ticket.upload.principal != principal.segment {
        return Err(PolicyError::NotOwner.into());
    }
    let profile = state
        .profiles
        .get(&ticket.upload.profile)
        .map_err(|_| ApiError::from(TicketError::Invalid))?;
    profile.check_multipart(principal)?;
    let issued_at = (ticket.upload.expires_at - state.ticket_ttl).timestamp();
    state
        .limits
        .check_sealed(&ticket.upload.principal, issued_at)
        .await?;
    Ok(OpenTicket { ticket, profile })
}
