//! What every sealed record of one upload names (the upload ticket, the sealed Uppy upload id
//! and the completion grant), in the short JSON names of the wire form, and its typed reading
//! with the expiry check.

use crate::domain::{BucketName, ContentType, GrantId, NamespaceSegment, ObjectKey, UploadId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

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
    /// The declared type; absent in records sealed before verification existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ct: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    x: Option<String>,
}

/// What the client declared of the file when the upload was created: what the broker checks
/// the assembled object against (`POST /v1/uploads/verify`, and every completion).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeclaredFile {
    /// The declared `Content-Type` (the one the upload was created with); `None` only in
    /// records sealed by a version that did not seal it: the stored type stands in for it.
    pub content_type: Option<ContentType>,
    /// The file name's extension (lower case), when it has one.
    pub extension: Option<String>,
}

impl DeclaredFile {
    /// `content_type` and the lower-case extension of `filename`.
    pub fn new(content_type: ContentType, filename: &str) -> Self {
        Self {
            content_type: Some(content_type),
            extension: extension_of(filename).map(Cow::into_owned),
        }
    }
}

/// The lower-case extension of `filename` (what follows its last dot), if any: borrowed when
/// it has no upper-case letter.
pub fn extension_of(filename: &str) -> Option<Cow<'_, str>> {
    filename.rsplit_once('.').map(|(_, ext)| {
        if ext.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(ext.to_ascii_lowercase())
        } else {
            Cow::Borrowed(ext)
        }
    })
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
    /// What was declared of the file.
    pub file: DeclaredFile,
}

impl NamedUpload {
    /// The grant id of the upload (the `jti` of its receipts): [`GrantId::of_upload`], so
    /// every record of one upload (ticket, Uppy id, completion grant), every URL signed for it
    /// and every verification of it name the same grant without storing one.
    pub fn grant_id(&self) -> GrantId {
        GrantId::of_upload(&self.upload_id)
    }
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
            ct: upload
                .file
                .content_type
                .as_ref()
                .map(|t| t.as_str().to_owned()),
            x: upload.file.extension.clone(),
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
                file: DeclaredFile {
                    content_type: match self.ct {
                        Some(ct) => Some(ContentType::new(&ct).ok()?),
                        None => None,
                    },
                    extension: self.x,
                },
            })
        })()
        .ok_or(TicketError::Invalid)?;
        if now >= upload.expires_at {
            return Err(TicketError::Expired);
        }
        Ok(upload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_are_lower_case_and_borrowed_when_they_are_already() {
        assert!(matches!(
            extension_of("a.b.txt"),
            Some(Cow::Borrowed("txt"))
        ));
        assert_eq!(extension_of("A.PnG").as_deref(), Some("png"));
        assert_eq!(extension_of("README"), None);
        assert_eq!(extension_of("dot.").as_deref(), Some(""));
    }
}
