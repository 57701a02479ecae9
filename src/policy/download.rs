//! The decision for one download: the caller must own the key, and active content is never
//! shown inline.
//!
//! An inline download always signs a passive `response-content-type`, so what the browser
//! renders never depends on the type stored with the object (which an administrator, another
//! tool or an older allowlist may have set to `text/html`):
//!
//! - a name with an active extension (`.html`, `.svg`, `.xml`, `.js`...): `attachment`, served
//!   as `application/octet-stream`, whatever was asked;
//! - `inline` (asked for, or the profile's default, and allowed) when the display name's
//!   extension is a known passive type: `inline`, served with that type (so an HTML file
//!   stored as `photo.png` is shown as a broken image, never run);
//! - `inline` for any other name: the stored type decides
//!   ([`DownloadDecision::needs_stored_type`], one HeadObject by the HTTP layer, then
//!   [`DownloadDecision::with_stored_type`]): a known passive type is served inline with that
//!   type; anything else (an active type, an unknown one, none, or an object S3 will not
//!   describe) as `attachment` with `application/octet-stream`;
//! - `attachment`: `attachment`, the stored type (browsers save attachments, they do not
//!   render them).

use super::disposition::{
    NEUTRAL_CONTENT_TYPE, content_disposition, is_active_name, passive_type, passive_type_of_name,
};
use super::profile::{Lifetime, require_scope};
use super::upload::parse_key;
use super::{Disposition, Filename, KeyOwnership, PolicyError, Profile};
use crate::domain::{BucketName, Expiry, ObjectKey, Principal, Scope};
use serde::Deserialize;

/// What a client asks to download: the body of `POST /v1/downloads`, deserialized as is
/// (unknown fields are refused). `profile` and `expires_in` choose the profile and the wished
/// lifetime; the decision reads the rest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DownloadIntent {
    /// The full object key.
    pub key: String,
    /// `attachment` or `inline`; the profile's default when absent. Active content is served
    /// as `attachment` even when `inline` is asked for.
    pub disposition: Option<Disposition>,
    /// The name the browser should save the file as; when absent, the name the file was
    /// uploaded with (the key's last segment without what the key template added to it).
    pub filename: Option<String>,
    /// Upload profile the key belongs to (default: found from the key).
    pub profile: Option<String>,
    /// Wished lifetime in seconds.
    pub expires_in: Option<u64>,
    /// Base64 MD5 of the SSE-C key the object was uploaded with (SSE-C profiles only).
    pub sse_customer_key_md5: Option<String>,
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
    /// The disposition the grant is served with (`attachment` for active content, whatever
    /// was asked).
    pub disposition: Disposition,
    /// The value for the signed `response-content-disposition` query parameter: visible
    /// ASCII, always with one quoted ASCII `filename` and one RFC 8187 `filename*`.
    pub content_disposition: String,
    /// The value for the signed `response-content-type` query parameter, when the stored
    /// type must not be trusted: `application/octet-stream` for active content, the passive
    /// type of the name for inline downloads from profiles that could store active content.
    pub response_content_type: Option<String>,
    /// What the grant's lifetime is cut from (`crate::grants::grant_lifetime`).
    pub lifetime: Lifetime,
    /// SSE-C: the headers the GET signs (algorithm and key MD5); the client adds the key.
    pub encryption_headers: Vec<(&'static str, String)>,
    /// Whether the grant may only be given once S3 shows the object exists (the profile's
    /// `download_existence_check`).
    pub check_exists: bool,
    /// An inline download whose name gives no passive type: the stored `Content-Type` must be
    /// read (HeadObject) and passed to [`DownloadDecision::with_stored_type`] before signing.
    pub needs_stored_type: bool,
    /// The scan tag that must say clean before the grant (the profile's `scan`): the HTTP
    /// layer reads it (GetObjectTagging) and asks [`super::ScanRule::verdict`].
    pub scan: Option<super::ScanRule>,
    /// The name the browser is told to save the file as.
    filename: Filename,
}

impl DownloadDecision {
    /// Settles an inline download that [needs the stored type](Self::needs_stored_type):
    /// `stored` is the object's `Content-Type` as S3 keeps it (`None`: none, no object, or S3
    /// would not say). A known passive type stays inline, served with that type (signed, so
    /// S3 sends exactly it); anything else becomes an attachment served as
    /// `application/octet-stream`. Other decisions are returned as they are.
    pub fn with_stored_type(mut self, stored: Option<&str>) -> Self {
        if !self.needs_stored_type {
            return self;
        }
        self.needs_stored_type = false;
        match stored.and_then(passive_type) {
            Some(passive) => self.response_content_type = Some(passive.to_owned()),
            None => {
                self.disposition = Disposition::Attachment;
                self.response_content_type = Some(NEUTRAL_CONTENT_TYPE.to_owned());
                self.content_disposition =
                    content_disposition(Disposition::Attachment, &self.filename);
            }
        }
        self
    }
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
        let key_md5 = self.customer_key_md5(intent.sse_customer_key_md5.as_deref())?;
        match self.check_key(principal, key.as_str()) {
            KeyOwnership::Owned => {}
            KeyOwnership::Outside => return Err(PolicyError::NotOwner),
            KeyOwnership::Malformed(reason) => return Err(PolicyError::InvalidKey(reason)),
        }
        let wanted = intent.disposition.unwrap_or(self.download_disposition);
        if wanted == Disposition::Inline && !self.allow_inline {
            return Err(PolicyError::DispositionNotAllowed(format!(
                "the profile {:?} serves downloads as attachments only",
                self.name
            )));
        }
        let last_segment = key.as_str().rsplit('/').next().unwrap_or_default();
        let filename = match &intent.filename {
            Some(raw) => Filename::parse(raw)?,
            // The name the uploader gave (without the key's `{uuid}-`). One that is not a
            // valid file name (e.g. longer than 255 bytes) is not suggested; the browser
            // still gets a name, never an empty one.
            None => Filename::parse(self.key_template.display_name(key.as_str()))
                .unwrap_or_else(|_| fallback_filename()),
        };
        let active = is_active_name(last_segment) || is_active_name(filename.as_str());
        let (disposition, response_content_type) = match wanted {
            _ if active => (Disposition::Attachment, Some(NEUTRAL_CONTENT_TYPE)),
            Disposition::Attachment => (Disposition::Attachment, None),
            Disposition::Inline => (Disposition::Inline, passive_type_of_name(filename.as_str())),
        };
        let needs_stored_type =
            disposition == Disposition::Inline && response_content_type.is_none();
        let content_disposition = content_disposition(disposition, &filename);
        Ok(DownloadDecision {
            profile: String::from(&*self.name),
            bucket: self.bucket.clone(),
            key,
            disposition,
            content_disposition,
            response_content_type: response_content_type.map(str::to_owned),
            lifetime: self.lifetime(requested_expiry),
            encryption_headers: match (&self.server_side_encryption, &key_md5) {
                (Some(sse), Some(md5)) => sse.bound_headers(Some(md5)),
                _ => Vec::new(),
            },
            check_exists: self.download_existence_check,
            needs_stored_type,
            scan: self.scan.clone(),
            filename,
        })
    }
}

/// The name suggested when the key's last segment is not a valid file name.
fn fallback_filename() -> Filename {
    Filename::parse("download").expect("a valid file name")
}
