//! What every sealed record of one upload names (the upload ticket and the completion grant),
//! in the short JSON names of the wire form, and its typed reading with the expiry check.

use crate::domain::{BucketName, NamespaceSegment, ObjectKey, UploadId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Why a ticket is refused. The reason is never more specific than needed: a forged
/// ticket learns nothing about the keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TicketError {
    /// Not a ticket of this broker, or altered.
    #[error("the upload ticket is invalid or was altered")]
    Invalid,
    /// Genuine but past its expiry.
    #[error("the upload ticket has expired")]
    Expired,
}

/// The shared fields, flattened into each record's payload.
#[derive(Serialize, Deserialize)]
pub(super) struct SealedUpload {
    p: String,
    pr: String,
    b: String,
    k: String,
    u: String,
    exp: i64,
}

/// The upload a sealed record names: whose it is, under which profile, where, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedUpload {
    /// The namespace segment of the principal the record was sealed for.
    pub principal: NamespaceSegment,
    /// The profile whose rules apply.
    pub profile: String,
    /// The bucket.
    pub bucket: BucketName,
    /// The object key.
    pub key: ObjectKey,
    /// S3's upload id.
    pub upload_id: UploadId,
    /// When the record stops being accepted (whole seconds).
    pub expires_at: DateTime<Utc>,
}

impl SealedUpload {
    /// The wire fields of `upload`.
    pub(super) fn of(upload: &NamedUpload) -> Self {
        Self {
            p: upload.principal.as_str().to_owned(),
            pr: upload.profile.clone(),
            b: upload.bucket.as_str().to_owned(),
            k: upload.key.as_str().to_owned(),
            u: upload.upload_id.as_str().to_owned(),
            exp: upload.expires_at.timestamp(),
        }
    }

    /// The typed fields (a record this broker sealed always has valid ones), refused once
    /// expired at `now`.
    pub(super) fn open(self, now: DateTime<Utc>) -> Result<NamedUpload, TicketError> {
        let upload = (|| {
            Some(NamedUpload {
                principal: NamespaceSegment::from_sealed(self.p)?,
                profile: self.pr,
                bucket: BucketName::new(self.b).ok()?,
                key: ObjectKey::new(self.k).ok()?,
                upload_id: UploadId::new(self.u).ok()?,
                expires_at: DateTime::from_timestamp(self.exp, 0)?,
            })
        })()
        .ok_or(TicketError::Invalid)?;
        if now >= upload.expires_at {
            return Err(TicketError::Expired);
        }
        Ok(upload)
    }
}
