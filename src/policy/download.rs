//! The decision for one download: the caller must own the key.

use super::disposition::content_disposition;
use super::profile::require_scope;
use super::upload::parse_key;
use super::{Disposition, Filename, KeyOwnership, PolicyError, Profile};
use crate::domain::{BucketName, Expiry, ObjectKey, Principal, Scope};

/// What a client asks to download (the body of `POST /v1/downloads`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DownloadIntent {
    /// The full object key.
    pub key: String,
    /// `attachment` or `inline`; the profile's default when absent.
    pub disposition: Option<Disposition>,
    /// The name the browser should save the file as; the key's last segment when absent.
    pub filename: Option<String>,
}

/// An accepted download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadDecision {
    /// The profile whose namespace holds the key.
    pub profile: String,
    /// The bucket.
    pub bucket: BucketName,
    /// The key, checked to lie in the caller's namespace.
    pub key: ObjectKey,
    /// The chosen disposition.
    pub disposition: Disposition,
    /// The value for the signed `response-content-disposition` query parameter: visible
    /// ASCII, the file name quoted and RFC 8187-encoded.
    pub content_disposition: String,
    /// The grant's lifetime: `min(requested or profile default, profile max, 7 days)`.
    pub expires: Expiry,
}

impl Profile {
    /// Decides a download of `intent.key` for `principal`: 403 `not_owner` unless the key
    /// lies in the principal's namespace of this profile (on whole segments).
    pub fn decide_download(
        &self,
        principal: &Principal,
        intent: &DownloadIntent,
        requested_expiry: Option<Expiry>,
    ) -> Result<DownloadDecision, PolicyError> {
        require_scope(principal, Scope::Download)?;
        let key = parse_key(&intent.key)?;
        match self.namespace(principal).check_key(key.as_str()) {
            KeyOwnership::Owned => {}
            KeyOwnership::Outside => return Err(PolicyError::NotOwner),
            KeyOwnership::Malformed(reason) => return Err(PolicyError::InvalidKey(reason)),
        }
        let disposition = intent.disposition.unwrap_or(self.download_disposition);
        if disposition == Disposition::Inline && !self.allow_inline {
            return Err(PolicyError::DispositionNotAllowed(format!(
                "the profile {:?} serves downloads as attachments only",
                self.name
            )));
        }
        let filename = match &intent.filename {
            Some(raw) => Some(Filename::parse(raw)?),
            // A last segment that is not a valid file name (e.g. longer than 255 bytes) is
            // simply not suggested.
            None => key
                .as_str()
                .rsplit('/')
                .next()
                .and_then(|s| Filename::parse(s).ok()),
        };
        let content_disposition = match &filename {
            Some(name) => content_disposition(disposition, name),
            None => disposition.as_str().to_owned(),
        };
        Ok(DownloadDecision {
            profile: self.name.clone(),
            bucket: self.bucket.clone(),
            key,
            disposition,
            content_disposition,
            expires: self.grant_expiry(requested_expiry),
        })
    }
}
