//! What every Uppy route checks before touching S3: the key is the caller's (a whole-segment
//! match inside one of its namespaces), its profile allows multipart uploads, and the upload
//! id is a sealed one this broker handed out for that very key, principal and profile
//! (`crate::multipart::TicketKeys::open_uppy_upload`), not expired. Companion itself trusts
//! the client's key (uppy #3527) and S3's upload id; the broker trusts neither, so no store
//! that does not tie upload ids to keys lets a caller reach another caller's upload. The
//! routes on one upload (`/s3/multipart/{uploadId}...?key=`) take [`OnUpload`], which checks
//! all of it before the handler runs; `POST /s3/sign` calls [`OwnedUpload::check`].

use crate::domain::{ObjectKey, Principal, UploadId};
use crate::http::grant::signing_now;
use crate::http::{ApiError, AppState, Caller, Code};
use crate::multipart::{DeclaredFile, NamedUpload, TicketError};
use crate::policy::{PolicyError, Profile};
use crate::s3::UploadRef;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;

/// A multipart upload the caller may act on: its key is the caller's, its profile allows
/// multipart uploads without checksums, and its id is well-formed.
pub(super) struct OwnedUpload {
    /// The key's profile (a copy: an extractor cannot borrow from the shared state).
    pub profile: Profile,
    /// The key.
    pub key: ObjectKey,
    /// S3's upload id, from the sealed one the client presented.
    pub upload_id: UploadId,
    /// What was declared of the file at create (sealed in the upload id).
    pub file: DeclaredFile,
    /// When the sealed upload id expires.
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// The [`NamedUpload`] of a new upload of `principal` with S3's `upload_id`, expiring with
/// the ticket lifetime: what the sealed upload id handed to Uppy wraps.
pub(super) fn new_upload(
    state: &AppState,
    principal: &Principal,
    profile: &Profile,
    key: ObjectKey,
    upload_id: UploadId,
    file: DeclaredFile,
) -> NamedUpload {
    NamedUpload {
        principal: principal.segment.clone(),
        profile: profile.name().to_owned(),
        bucket: profile.bucket().clone(),
        key,
        upload_id,
        expires_at: signing_now() + state.ticket_ttl,
        file,
    }
}

impl OwnedUpload {
    /// Checks `key` (as the client sent it) and `raw_upload_id` for `principal`.
    pub(super) fn check(
        state: &AppState,
        principal: &Principal,
        key: &str,
        raw_upload_id: &str,
    ) -> Result<Self, ApiError> {
        let object_key = ObjectKey::new(key)
            .map_err(|e| ApiError::new(Code::InvalidKey, format!("invalid key: {e}")))?;
        let profile = state.profiles.profile_for_key(principal, key)?;
        profile.check_multipart(principal)?;
        // Uppy sends no checksums, so these routes must not continue or finish an upload of
        // a profile that requires them (a native upload with a checksum algorithm, say).
        if profile.require_checksum() {
            return Err(PolicyError::ChecksumRequired(profile.name().to_owned()).into());
        }
        let named = state
            .tickets
            .open_uppy_upload(raw_upload_id, signing_now())
            .map_err(|err| match err {
                TicketError::Invalid => ApiError::new(
                    Code::InvalidUploadId,
                    "the uploadId is not one this broker handed out, or was altered",
                ),
                TicketError::Expired => ApiError::new(
                    Code::TicketExpired,
                    "the uploadId has expired (multipart.ticket_ttl_secs)",
                ),
            })?;
        if named.principal != principal.segment
            || named.key != object_key
            || named.bucket != *profile.bucket()
            || named.profile != profile.name()
        {
            return Err(ApiError::new(
                Code::NotOwner,
                "the uploadId belongs to another key or caller",
            ));
        }
        Ok(Self {
            profile: profile.clone(),
            key: object_key,
            upload_id: named.upload_id,
            file: named.file,
            expires_at: named.expires_at,
        })
    }

    /// The upload in S3.
    pub(super) fn upload(&self) -> UploadRef<'_> {
        UploadRef {
            bucket: self.profile.bucket(),
            key: &self.key,
            upload_id: &self.upload_id,
        }
    }
}

/// The query of a route on one upload: `?key=` and whatever else the route reads.
pub(super) trait UploadQuery: DeserializeOwned + 'static {
    /// The object key, as `POST /s3/multipart` returned it.
    fn key(&self) -> &str;
}

/// The `?key=` of most routes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct KeyQuery {
    /// The object key, as `POST /s3/multipart` returned it.
    pub key: String,
}

impl UploadQuery for KeyQuery {
    fn key(&self) -> &str {
        &self.key
    }
}

/// The extractor of the routes on one upload (`/s3/multipart/{upload_id}...?key=`): it
/// authenticates the caller, reads the query `Q` and checks the `{upload_id}` of the path and
/// the query's key as [`OwnedUpload::check`] does, in that order, before the handler runs.
pub(super) struct OnUpload<Q = KeyQuery> {
    /// The checked upload.
    pub upload: OwnedUpload,
    /// The route's query.
    pub query: Q,
    /// The caller's namespace segment (whose open uploads `concurrent_multipart` counts).
    pub principal: crate::domain::NamespaceSegment,
    /// The caller's subject (the `sub` of a receipt).
    pub subject: String,
}

impl<Q: UploadQuery> FromRequest for OnUpload<Q> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let caller = Caller::from_request(req, payload);
        let query = web::Query::<Q>::from_request(req, payload);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let upload_id = req.match_info().get("upload_id").map(str::to_owned);
        Box::pin(async move {
            let Caller(principal) = caller.await?;
            let query = query.await?.into_inner();
            let state = state.ok_or_else(ApiError::internal)?;
            let upload_id = upload_id.ok_or_else(ApiError::internal)?;
            let upload = OwnedUpload::check(&state, &principal, query.key(), &upload_id)?;
            Ok(Self {
                upload,
                query,
                principal: principal.segment,
                subject: principal.subject.to_string(),
            })
        })
    }
}

/// The file name of a client-chosen key: its last `/` segment.
pub(super) fn last_segment(key: &str) -> &str {
    key.rsplit('/').next().unwrap_or(key)
}

/// Uppy's metadata without the entries it adds to every file by default (`name` and `type`,
/// which repeat `filename` and `type`, and `relativePath` for files of a dropped folder),
/// unless the profile allows them as metadata keys. Every other key is still checked.
pub(super) fn uppy_metadata(
    profile: &Profile,
    mut metadata: BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    for implicit in ["name", "type", "relativePath"] {
        if !profile
            .metadata_keys()
            .iter()
            .any(|k| k.as_str().eq_ignore_ascii_case(implicit))
        {
            metadata.remove(implicit);
        }
    }
    metadata
}

/// The content type Uppy reports for a file, `application/octet-stream` when it has none.
pub(super) fn content_type_or_default(value: Option<&str>) -> String {
    match value.map(str::trim) {
        Some(t) if !t.is_empty() => t.to_owned(),
        _ => "application/octet-stream".to_owned(),
    }
}

/// Uppy's single uploads declare no size, so only a POST policy (`content-length-range`) can
/// bound them; a backend without POST Object gets a clear refusal instead of a PUT that
/// would accept any size up to 5 GB.
pub(super) fn single_upload_needs_post_object() -> ApiError {
    ApiError::new(
        Code::MethodNotSupported,
        "this storage backend has no POST Object, so a single upload of undeclared size \
         cannot be bounded: configure Uppy with `shouldUseMultipart: true` (the broker checks \
         the size before it completes the upload), or use POST /v1/uploads with the size",
    )
}
