//! The tokens `POST /v1/uploads/verify` accepts: the `upload` token of a single-request
//! grant, the ticket of a native multipart upload (`POST /v1/multipart`'s `upload`), and the
//! sealed upload id of an Uppy multipart upload (`/s3/multipart`, or `/s3/sign`'s `upload`).
//! Each is sealed under its own MAC label, so at most one of them opens a given text.

use super::check::ExpectedObject;
use crate::domain::{GrantId, NamespaceSegment};
use crate::multipart::{NamedUpload, TicketError, TicketKeys, UploadToken};
use crate::policy::VerificationRules;
use chrono::{DateTime, Utc};

/// An opened token.
pub(super) enum Presented {
    /// A single-request upload grant.
    Single(UploadToken),
    /// A multipart upload, with its declared size (`None` for Uppy's, which declare none).
    Multipart {
        upload: NamedUpload,
        size: Option<u64>,
        grant_id: GrantId,
    },
}

impl Presented {
    /// Opens `text` as any of the three; the first kind's error when none opens it
    /// (`invalid_ticket`, or `ticket_expired` for a genuine one past its expiry).
    pub(super) fn open(
        keys: &TicketKeys,
        text: &str,
        now: DateTime<Utc>,
    ) -> Result<Self, TicketError> {
        match keys.open_upload(text, now) {
            Err(TicketError::Invalid) => {}
            other => return other.map(Self::Single),
        }
        let multipart = |upload: NamedUpload, size| Self::Multipart {
            grant_id: upload.grant_id(),
            upload,
            size,
        };
        match keys.open(text, now) {
            Err(TicketError::Invalid) => {}
            other => return other.map(|t| multipart(t.upload, Some(t.plan.size()))),
        }
        keys.open_uppy_upload(text, now)
            .map(|upload| multipart(upload, None))
    }

    /// The principal the token was sealed for.
    pub(super) fn principal(&self) -> &NamespaceSegment {
        match self {
            Self::Single(token) => &token.principal,
            Self::Multipart { upload, .. } => &upload.principal,
        }
    }

    /// The profile that decided the grant.
    pub(super) fn profile(&self) -> &str {
        match self {
            Self::Single(token) => &token.profile,
            Self::Multipart { upload, .. } => &upload.profile,
        }
    }

    /// What the object is checked against, under `rules`.
    pub(super) fn expected<'a>(&'a self, rules: &'a VerificationRules) -> ExpectedObject<'a> {
        match self {
            Self::Single(token) => ExpectedObject {
                profile: &token.profile,
                rules,
                bucket: &token.bucket,
                key: &token.key,
                size: token.size,
                content_type: Some(token.content_type.as_str()),
                checksum: token.checksum.as_ref(),
                extension: token.extension.as_deref(),
                grant_id: &token.grant_id,
                expires_at: token.expires_at,
            },
            Self::Multipart {
                upload,
                size,
                grant_id,
            } => ExpectedObject::of_upload(upload, *size, grant_id.as_str(), rules),
        }
    }
}
