//! The decision for one upload: everything the signer must bind, or the reason to refuse.

use super::backend::{check_checksum, upload_method};
use super::metadata::check_metadata;
use super::profile::{Lifetime, require_scope};
use super::template::RenderInput;
use super::{
    ClientPath, CustomerKeyMd5, Filename, KeyOwnership, MAX_SINGLE_UPLOAD_BYTES, MetadataKey,
    PolicyError, Profile, ServerSideEncryption, UploadMethod,
};
use crate::backend::Backend;
use crate::domain::{
    BucketName, Checksum, ChecksumAlgorithm, ContentMd5, ContentType, DomainError, Expiry,
    ObjectKey, Principal, Scope,
};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;
use uuid::Uuid;

/// What a client asks to upload: the body of `POST /v1/uploads`, deserialized as is (unknown
/// fields are refused). `profile` and `expires_in` choose the profile and the wished
/// lifetime; the decision reads the rest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadIntent {
    /// Upload profile (default: the configured default).
    pub profile: Option<String>,
    /// The file's display name; becomes one key segment.
    pub filename: String,
    /// The file's media type, as the client will send it.
    pub content_type: String,
    /// The exact size in bytes.
    pub size: u64,
    /// Base64 SHA-256 of the file, bound as `x-amz-checksum-sha256`; S3 then refuses other
    /// bytes.
    pub checksum_sha256: Option<String>,
    /// Base64 CRC-32 (`x-amz-checksum-crc32`); at most one `checksum_*` per upload.
    pub checksum_crc32: Option<String>,
    /// Base64 CRC-32C (`x-amz-checksum-crc32c`).
    pub checksum_crc32c: Option<String>,
    /// Base64 CRC-64/NVME (`x-amz-checksum-crc64nvme`).
    pub checksum_crc64nvme: Option<String>,
    /// Base64 SHA-1 (`x-amz-checksum-sha1`).
    pub checksum_sha1: Option<String>,
    /// Base64 MD5 of the file, bound as a signed `Content-MD5` header (PUT only). May
    /// accompany one `checksum_*`.
    pub content_md5: Option<String>,
    /// Base64 MD5 of the client's SSE-C key: required by SSE-C profiles, refused by others
    /// (the key itself never reaches the broker).
    pub sse_customer_key_md5: Option<String>,
    /// Client folders under the caller's namespace, for templates with `{path}`.
    pub path: Option<String>,
    /// `x-amz-meta-*` values, by key (without the prefix), for the keys the profile allows.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// PUT or POST; the profile's default when absent.
    pub method: Option<UploadMethod>,
    /// Wished lifetime in seconds (capped by the profile and the credentials).
    pub expires_in: Option<u64>,
}

/// An accepted upload: every value here must be bound into the signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadDecision {
    /// The profile that decided: its name, shared with the profile (a decision's copy is a
    /// reference count).
    pub profile: Arc<str>,
    /// The bucket.
    pub bucket: BucketName,
    /// The exact key (PUT: the URL path; POST: an exact `key` condition).
    pub key: ObjectKey,
    /// The normalized file name (already part of the key when the template has `{filename}`).
    pub filename: Filename,
    /// The upload method.
    pub method: UploadMethod,
    /// The `Content-Type`, exactly as the client must send it (signed header / exact
    /// condition).
    pub content_type: ContentType,
    /// The exact size: `Content-Length` for PUT; for POST `content-length-range` from this
    /// size to this size (see [`UploadDecision::content_length_range`]). The client declared
    /// it, so nothing is gained by accepting a different size.
    pub size: u64,
    /// What the grant's lifetime is cut from (`crate::grants::grant_lifetime`).
    pub lifetime: Lifetime,
    /// `x-amz-meta-*` headers / fields, sorted by key.
    pub metadata: Vec<(MetadataKey, String)>,
    /// Required encryption headers / fields.
    pub server_side_encryption: Option<ServerSideEncryption>,
    /// SSE-C: the MD5 of the client's key, signed beside the algorithm so the grant works
    /// with that key only (see [`ServerSideEncryption::bound_headers`]).
    pub sse_customer_key_md5: Option<CustomerKeyMd5>,
    /// Whether the PUT signs `If-None-Match: *`: the profile must not overwrite and the
    /// backend honours the header. Elsewhere the key is new anyway: POST has no conditional
    /// write and backends without one get no header, so such profiles must put `{uuid}` in
    /// every key (checked at startup, [`Profile::check_backend`]).
    ///
    /// See <https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html>
    pub if_none_match: bool,
    /// The `x-amz-checksum-<algorithm>` value, when given (at most one algorithm).
    pub checksum: Option<Checksum>,
    /// The `Content-MD5` value, when given (PUT only: see [`check_integrity`]).
    pub content_md5: Option<ContentMd5>,
}

impl UploadDecision {
    /// `(min, max)` of a POST policy's `content-length-range`: both the declared size.
    pub fn content_length_range(&self) -> (u64, u64) {
        (self.size, self.size)
    }

    /// The encryption headers a PUT signs (SSE-C: algorithm and key MD5).
    pub fn encryption_headers(&self) -> Vec<(&'static str, String)> {
        self.server_side_encryption
            .as_ref()
            .map(|sse| sse.bound_headers(self.sse_customer_key_md5.as_ref()))
            .unwrap_or_default()
    }

    /// The encryption fields a POST policy binds exactly.
    pub fn encryption_fields(&self) -> Vec<(&'static str, String)> {
        self.server_side_encryption
            .as_ref()
            .map(|sse| sse.bound_fields(self.sse_customer_key_md5.as_ref()))
            .unwrap_or_default()
    }

    /// Whether the client must add the SSE-C key itself (header for PUT, form field for
    /// POST), unsigned and unseen by the broker.
    pub fn client_supplies_key(&self) -> bool {
        self.sse_customer_key_md5.is_some()
    }
}

/// The `checksum_*` fields of an upload, by algorithm, in S3's order.
fn requested_checksums(intent: &UploadIntent) -> [(ChecksumAlgorithm, Option<&String>); 5] {
    [
        (ChecksumAlgorithm::Crc32, intent.checksum_crc32.as_ref()),
        (ChecksumAlgorithm::Crc32c, intent.checksum_crc32c.as_ref()),
        (
            ChecksumAlgorithm::Crc64Nvme,
            intent.checksum_crc64nvme.as_ref(),
        ),
        (ChecksumAlgorithm::Sha1, intent.checksum_sha1.as_ref()),
        (ChecksumAlgorithm::Sha256, intent.checksum_sha256.as_ref()),
    ]
}

/// The JSON field of an algorithm's value, e.g. `checksum_crc32c`.
pub(super) fn checksum_field(algorithm: ChecksumAlgorithm) -> &'static str {
    match algorithm {
        ChecksumAlgorithm::Crc32 => "checksum_crc32",
        ChecksumAlgorithm::Crc32c => "checksum_crc32c",
        ChecksumAlgorithm::Crc64Nvme => "checksum_crc64nvme",
        ChecksumAlgorithm::Sha1 => "checksum_sha1",
        ChecksumAlgorithm::Sha256 => "checksum_sha256",
    }
}

/// Decodes the integrity values of an upload: at most one `x-amz-checksum-*` value (S3
/// verifies one flexible checksum per request) and, besides it or alone, a `Content-MD5`.
/// Each must be standard base64 of its digest's length.
///
/// See <https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html>
pub(super) fn check_integrity(
    intent: &UploadIntent,
) -> Result<(Option<Checksum>, Option<ContentMd5>), PolicyError> {
    // The given values, looked at without collecting them (no allocation per upload).
    let given = || {
        requested_checksums(intent)
            .into_iter()
            .filter_map(|(algorithm, value)| value.map(|v| (algorithm, v)))
    };
    let mut first_two = given();
    let checksum = match (first_two.next(), first_two.next()) {
        (None, _) => None,
        (Some((algorithm, value)), None) => {
            Some(Checksum::new(algorithm, value).map_err(|_| {
                PolicyError::InvalidChecksum(format!(
                    "{} must be standard base64 of {} bytes",
                    checksum_field(algorithm),
                    algorithm.digest_len()
                ))
            })?)
        }
        (Some(_), Some(_)) => {
            let names: Vec<&str> = given().map(|(a, _)| checksum_field(a)).collect();
            return Err(PolicyError::InvalidChecksum(format!(
                "give at most one of checksum_crc32, checksum_crc32c, checksum_crc64nvme, \
                 checksum_sha1 and checksum_sha256 (S3 verifies one per upload); got {}",
                names.join(", ")
            )));
        }
    };
    let content_md5 = intent
        .content_md5
        .as_deref()
        .map(ContentMd5::new)
        .transpose()
        .map_err(|_| {
            PolicyError::InvalidChecksum(
                "content_md5 must be standard base64 of 16 bytes (the file's MD5)".into(),
            )
        })?;
    Ok((checksum, content_md5))
}

/// An upload's file name and content type, borrowed from its intent or taken out of it.
struct UploadTexts<'a> {
    filename: Cow<'a, str>,
    content_type: Cow<'a, str>,
}

/// Parses the client's media type; errors name the rule without echoing the value.
pub(crate) fn parse_content_type(value: impl Into<String>) -> Result<ContentType, PolicyError> {
    ContentType::new(value).map_err(|e| match e {
        DomainError::ContentType { reason, .. } => PolicyError::InvalidContentType(reason.into()),
        other => PolicyError::InvalidContentType(other.to_string()),
    })
}

/// Checks that the profile accepts `content_type`.
pub(crate) fn check_content_type(profile: &Profile, ct: &ContentType) -> Result<(), PolicyError> {
    if profile.content_types.allows(ct) {
        Ok(())
    } else {
        Err(PolicyError::ContentTypeNotAllowed {
            content_type: ct.essence().to_owned(),
            allowed: profile.content_types.to_string(),
        })
    }
}

/// Parses `path` when given, refusing it for profiles without `{path}`.
pub(crate) fn parse_path(
    profile: &Profile,
    path: Option<&str>,
) -> Result<Option<ClientPath>, PolicyError> {
    match path {
        None => Ok(None),
        Some(_) if !profile.allows_client_path() => {
            Err(PolicyError::PathNotAllowed(String::from(&*profile.name)))
        }
        Some(raw) => ClientPath::parse(raw).map(Some),
    }
}

/// Parses a client's object key; errors name the rule.
pub(crate) fn parse_key(key: &str) -> Result<ObjectKey, PolicyError> {
    ObjectKey::new(key).map_err(|e| match e {
        DomainError::ObjectKey(reason) => PolicyError::InvalidKey(reason.into()),
        other => PolicyError::InvalidKey(other.to_string()),
    })
}

/// Refuses a method the profile does not allow.
pub(crate) fn check_method(profile: &Profile, method: UploadMethod) -> Result<(), PolicyError> {
    if profile.methods.contains(&method) {
        return Ok(());
    }
    let allowed: Vec<&str> = profile.methods.iter().map(|m| m.as_str()).collect();
    Err(PolicyError::MethodNotAllowed(format!(
        "the profile {:?} does not allow {method} uploads; allowed: {}",
        profile.name,
        allowed.join(", ")
    )))
}

/// Turns a rendered key into an [`ObjectKey`] and re-checks that it lies in the namespace.
pub(crate) fn checked_key(
    profile: &Profile,
    principal: &Principal,
    key: String,
) -> Result<ObjectKey, PolicyError> {
    let len = key.len();
    let key = ObjectKey::new(key).map_err(|_| {
        PolicyError::InvalidKey(format!(
            "the key would be {len} bytes; S3 allows at most 1024 (use a shorter path or file name)"
        ))
    })?;
    match profile.check_key(principal, key.as_str()) {
        KeyOwnership::Owned => Ok(key),
        KeyOwnership::Malformed(reason) => Err(PolicyError::InvalidKey(reason)),
        KeyOwnership::Outside => Err(PolicyError::NotOwner),
    }
}

impl Profile {
    /// Decides an upload for `principal`: checks every input against the profile and
    /// returns the exact values the grant must bind.
    ///
    /// `backend` is the store's capability table: the method falls back to PUT where it has
    /// no POST Object, a checksum it would not verify is refused, and `If-None-Match: *` is
    /// bound only where it honours it. `uuid` fills `{uuid}` (pass `Uuid::new_v4()`), `now`
    /// fills `{date}`, and `requested_expiry` is the client's wish for the grant's lifetime.
    pub fn decide_upload(
        &self,
        principal: &Principal,
        intent: &UploadIntent,
        backend: Backend,
        uuid: Uuid,
        now: DateTime<Utc>,
        requested_expiry: Option<Expiry>,
    ) -> Result<UploadDecision, PolicyError> {
        let texts = UploadTexts {
            filename: Cow::Borrowed(&intent.filename),
            content_type: Cow::Borrowed(&intent.content_type),
        };
        self.decide_upload_with(
            principal,
            intent,
            texts,
            backend,
            uuid,
            now,
            requested_expiry,
        )
    }

    /// As [`Profile::decide_upload`], with the file name and the content type taken out of
    /// `intent` (left empty there) rather than copied: the decision keeps their buffers. For
    /// a caller that drops the intent after deciding (the upload handler).
    pub fn decide_upload_taking(
        &self,
        principal: &Principal,
        intent: &mut UploadIntent,
        backend: Backend,
        uuid: Uuid,
        now: DateTime<Utc>,
        requested_expiry: Option<Expiry>,
    ) -> Result<UploadDecision, PolicyError> {
        let texts = UploadTexts {
            filename: Cow::Owned(std::mem::take(&mut intent.filename)),
            content_type: Cow::Owned(std::mem::take(&mut intent.content_type)),
        };
        self.decide_upload_with(
            principal,
            intent,
            texts,
            backend,
            uuid,
            now,
            requested_expiry,
        )
    }

    /// [`Profile::decide_upload`] of `intent`, whose file name and content type are `texts`.
    #[allow(
        clippy::too_many_arguments,
        reason = "decide_upload's arguments and the intent's two texts"
    )]
    fn decide_upload_with(
        &self,
        principal: &Principal,
        intent: &UploadIntent,
        texts: UploadTexts<'_>,
        backend: Backend,
        uuid: Uuid,
        now: DateTime<Utc>,
        requested_expiry: Option<Expiry>,
    ) -> Result<UploadDecision, PolicyError> {
        let method = upload_method(backend, self, intent.method)?;
        require_scope(principal, Scope::Upload)?;
        check_method(self, method)?;
        let filename = Filename::parse_text(texts.filename)?;
        let path = parse_path(self, intent.path.as_deref())?;
        let content_type = parse_content_type(texts.content_type)?;
        check_content_type(self, &content_type)?;
        self.size.check(intent.size)?;
        if intent.size > MAX_SINGLE_UPLOAD_BYTES {
            return Err(PolicyError::MultipartRequired(intent.size));
        }
        let sse_customer_key_md5 = self.customer_key_md5(intent.sse_customer_key_md5.as_deref())?;
        let (checksum, content_md5) = check_integrity(intent)?;
        if checksum.is_none() && content_md5.is_none() && self.require_checksum {
            return Err(PolicyError::ChecksumRequired(String::from(&*self.name)));
        }
        if content_md5.is_some() && method == UploadMethod::Post {
            return Err(PolicyError::ChecksumNotSupported(
                "content_md5 is bound as a signed Content-MD5 header, which only PUT has: the \
                 POST policy conditions S3 documents do not include Content-MD5; upload with \
                 \"method\": \"PUT\" or send an x-amz-checksum (checksum_sha256, ...) instead"
                    .into(),
            ));
        }
        let metadata = check_metadata(&self.metadata_keys, &intent.metadata)?;
        let rendered = self.key_template.render(&RenderInput {
            principal: &principal.segment,
            uuid,
            filename: Some(&filename),
            path: path.as_ref(),
            now,
        });
        let key = checked_key(self, principal, rendered)?;
        if let Some(checksum) = &checksum {
            check_checksum(backend, checksum.algorithm())?;
        }
        Ok(UploadDecision {
            profile: self.name.clone(),
            bucket: self.bucket.clone(),
            key,
            filename,
            method,
            content_type,
            size: intent.size,
            lifetime: self.lifetime(requested_expiry),
            metadata,
            server_side_encryption: self.server_side_encryption.clone(),
            sse_customer_key_md5,
            if_none_match: !self.allow_overwrite
                && method == UploadMethod::Put
                && backend.conditional_put(),
            checksum,
            content_md5,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA256: &str = "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=";
    const MD5: &str = "XUFAKrxLKna5cZ2REBfFkg==";

    fn with(change: impl FnOnce(&mut UploadIntent)) -> UploadIntent {
        let mut intent = UploadIntent::default();
        change(&mut intent);
        intent
    }

    #[test]
    fn one_checksum_of_any_algorithm() {
        for (algorithm, value) in [
            (ChecksumAlgorithm::Crc32, "AAAAAA=="),
            (ChecksumAlgorithm::Crc32c, "yZRlqg=="),
            (ChecksumAlgorithm::Crc64Nvme, "AAAAAAAAAAA="),
            (ChecksumAlgorithm::Sha1, "qvTGHdzF6KLavt4PO0gs2a6pQ00="),
            (ChecksumAlgorithm::Sha256, SHA256),
        ] {
            let intent = with(|i| match algorithm {
                ChecksumAlgorithm::Crc32 => i.checksum_crc32 = Some(value.into()),
                ChecksumAlgorithm::Crc32c => i.checksum_crc32c = Some(value.into()),
                ChecksumAlgorithm::Crc64Nvme => i.checksum_crc64nvme = Some(value.into()),
                ChecksumAlgorithm::Sha1 => i.checksum_sha1 = Some(value.into()),
                ChecksumAlgorithm::Sha256 => i.checksum_sha256 = Some(value.into()),
            });
            let (checksum, md5) = check_integrity(&intent).unwrap();
            let checksum = checksum.unwrap();
            assert_eq!((checksum.algorithm(), checksum.value()), (algorithm, value));
            assert!(md5.is_none());
            assert!(checksum_field(algorithm).ends_with(&algorithm.as_str().to_lowercase()));
        }
        assert_eq!(
            check_integrity(&UploadIntent::default()).unwrap(),
            (None, None)
        );
    }

    #[test]
    fn several_checksums_are_refused() {
        let err = check_integrity(&with(|i| {
            i.checksum_sha256 = Some(SHA256.into());
            i.checksum_crc32 = Some("AAAAAA==".into());
        }))
        .unwrap_err();
        assert!(matches!(err, PolicyError::InvalidChecksum(_)), "{err}");
        assert!(
            err.to_string().contains("checksum_crc32, checksum_sha256"),
            "{err}"
        );
    }

    #[test]
    fn values_must_have_the_digest_length() {
        for intent in [
            with(|i| i.checksum_crc32 = Some(SHA256.into())),
            with(|i| i.checksum_crc64nvme = Some("AAAAAA==".into())),
            with(|i| i.checksum_sha1 = Some("not base64".into())),
            with(|i| i.checksum_crc32c = Some("yZRlqg".into())),
            with(|i| i.content_md5 = Some(SHA256.into())),
            with(|i| i.content_md5 = Some("XUFAKrxLKna5cZ2REBfFkg".into())),
        ] {
            let err = check_integrity(&intent).unwrap_err();
            assert!(matches!(err, PolicyError::InvalidChecksum(_)), "{intent:?}");
        }
    }

    #[test]
    fn content_md5_alone_or_beside_one_checksum() {
        let (checksum, md5) = check_integrity(&with(|i| i.content_md5 = Some(MD5.into()))).unwrap();
        assert!(checksum.is_none());
        assert_eq!(md5.unwrap().as_str(), MD5);
        let (checksum, md5) = check_integrity(&with(|i| {
            i.content_md5 = Some(MD5.into());
            i.checksum_sha256 = Some(SHA256.into());
        }))
        .unwrap();
        assert!(checksum.is_some() && md5.is_some());
    }
}
