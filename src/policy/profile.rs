//! An upload profile: where a principal's files go and which limits bind every grant.

use super::PolicyError;
use super::namespace::check_key_rest;
use super::spec::ProfileSpec;
use super::{
    ContentTypePattern, ContentTypes, CustomerKeyMd5, Disposition, KeyOwnership, KeyTemplate,
    MAX_SINGLE_UPLOAD_BYTES, MetadataKey, Namespace, Placeholder, ProfileError,
    ServerSideEncryption, SizeRange, UploadMethod,
};
use crate::domain::{BucketName, Expiry, Principal, Scope};
use crate::multipart::MAX_OBJECT_SIZE;
use std::collections::BTreeSet;
use std::sync::Arc;

/// `max_expiry_secs` when a profile does not set it: one hour.
pub const DEFAULT_MAX_EXPIRY_SECS: u64 = 3600;
/// `default_expiry_secs` when a profile does not set it (capped at the maximum): 15 minutes.
pub const DEFAULT_EXPIRY_SECS: u64 = 900;

/// A validated upload profile (see `policies/default.toml` for the file format).
///
/// Every field is checked when the file is loaded, so a profile that exists can be trusted:
/// the template keeps keys inside the principal's namespace, sizes fit a single upload,
/// lifetimes fit SigV4's 7 days, and every limit can be enforced by S3 for every allowed
/// method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub(crate) name: Arc<str>,
    pub(crate) description: Option<String>,
    pub(crate) bucket: BucketName,
    pub(crate) key_template: KeyTemplate,
    pub(crate) content_types: ContentTypes,
    pub(crate) size: SizeRange,
    pub(crate) default_expiry: Expiry,
    pub(crate) max_expiry: Expiry,
    pub(crate) methods: Vec<UploadMethod>,
    pub(crate) default_method: UploadMethod,
    pub(crate) server_side_encryption: Option<ServerSideEncryption>,
    pub(crate) metadata_keys: BTreeSet<MetadataKey>,
    pub(crate) allow_overwrite: bool,
    pub(crate) require_checksum: bool,
    pub(crate) download_disposition: Disposition,
    pub(crate) allow_inline: bool,
    pub(crate) download_existence_check: bool,
    pub(crate) multipart: bool,
    pub(crate) verification: super::VerificationRules,
    pub(crate) scan: Option<super::ScanRule>,
}

/// Checks a profile name: 1 to 64 of lowercase letters, digits, `-` and `_`, starting with a
/// letter or digit.
pub(crate) fn check_profile_name(name: &str) -> Result<(), String> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && name.as_bytes()[0].is_ascii_alphanumeric();
    if ok {
        Ok(())
    } else {
        Err(format!(
            "profile name {name:?} must be 1 to 64 lowercase letters, digits, `-` or `_`, \
             starting with a letter or digit"
        ))
    }
}

/// Refuses a principal that lacks `scope`.
pub(crate) fn require_scope(principal: &Principal, scope: Scope) -> Result<(), PolicyError> {
    if principal.may(scope) {
        Ok(())
    } else {
        Err(PolicyError::InsufficientScope(scope))
    }
}

fn expiry(key: &str, secs: u64) -> Result<Expiry, ProfileError> {
    Expiry::from_secs(secs)
        .map_err(|_| ProfileError::at(key, format!("{secs} is not between 1 and 604800 (7 days)")))
}

fn parse_size_range(spec: &ProfileSpec, multipart: bool) -> Result<SizeRange, ProfileError> {
    let min = spec.min_size.map_or(0, |s| s.0);
    let max = spec.max_size.0;
    if !multipart && max > MAX_SINGLE_UPLOAD_BYTES {
        return Err(ProfileError::at(
            "max_size",
            format!(
                "{max} bytes is more than a single upload may carry (5 GiB); larger files \
                 need multipart = true"
            ),
        ));
    }
    if max > MAX_OBJECT_SIZE {
        return Err(ProfileError::at(
            "max_size",
            format!("{max} bytes is more than an S3 object may hold (5 TiB)"),
        ));
    }
    if min > max {
        return Err(ProfileError::at("min_size", "must not exceed max_size"));
    }
    Ok(SizeRange { min, max })
}

fn parse_methods(spec: &ProfileSpec) -> Result<(Vec<UploadMethod>, UploadMethod), ProfileError> {
    let mut methods = Vec::new();
    for m in spec
        .methods
        .clone()
        .unwrap_or_else(|| vec![UploadMethod::Put, UploadMethod::Post])
    {
        if !methods.contains(&m) {
            methods.push(m);
        }
    }
    let Some(&first) = methods.first() else {
        return Err(ProfileError::at(
            "methods",
            "must allow \"PUT\", \"POST\" or both",
        ));
    };
    let default = match spec.default_method {
        Some(m) if !methods.contains(&m) => {
            return Err(ProfileError::at(
                "default_method",
                format!("{m} is not one of the allowed methods"),
            ));
        }
        Some(m) => m,
        None if methods.contains(&UploadMethod::Put) => UploadMethod::Put,
        None => first,
    };
    Ok((methods, default))
}

impl Profile {
    /// Parses and validates one profile file's text. `name` is the file stem, used unless the
    /// file sets `name`; `default_bucket` is used when the file has no `bucket`.
    pub fn from_toml(
        name: &str,
        text: &str,
        default_bucket: Option<&BucketName>,
    ) -> Result<Self, ProfileError> {
        let spec: ProfileSpec =
            toml::from_str(text).map_err(|e| ProfileError::from_toml(&e, text))?;
        Self::from_spec(name, spec, default_bucket)
    }

    fn from_spec(
        stem: &str,
        spec: ProfileSpec,
        default_bucket: Option<&BucketName>,
    ) -> Result<Self, ProfileError> {
        let name = spec.name.clone().unwrap_or_else(|| stem.to_owned());
        check_profile_name(&name).map_err(|e| ProfileError::at("name", e))?;
        let bucket = match (&spec.bucket, default_bucket) {
            (Some(bucket), _) => BucketName::new(bucket.as_str())
                .map_err(|e| ProfileError::at("bucket", e.to_string()))?,
            (None, Some(default)) => default.clone(),
            (None, None) => {
                return Err(ProfileError::at(
                    "bucket",
                    "missing, and no default bucket is configured for the service",
                ));
            }
        };
        let key_template = KeyTemplate::parse(&spec.key_template)
            .map_err(|e| ProfileError::at("key_template", e))?;
        let patterns = spec
            .content_types
            .iter()
            .map(|p| ContentTypePattern::parse(p))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ProfileError::at("content_types", e))?;
        let content_types = ContentTypes::new(patterns)
            .ok_or_else(|| ProfileError::at("content_types", "must list at least one type"))?;
        let multipart = spec.multipart.unwrap_or(false);
        let size = parse_size_range(&spec, multipart)?;
        let max_expiry = expiry(
            "max_expiry_secs",
            spec.max_expiry_secs.unwrap_or(DEFAULT_MAX_EXPIRY_SECS),
        )?;
        let default_expiry = match spec.default_expiry_secs {
            Some(secs) => expiry("default_expiry_secs", secs)?,
            None => expiry("default_expiry_secs", DEFAULT_EXPIRY_SECS)?.min(max_expiry),
        };
        if default_expiry > max_expiry {
            return Err(ProfileError::at(
                "default_expiry_secs",
                "must not exceed max_expiry_secs",
            ));
        }
        let (methods, default_method) = parse_methods(&spec)?;
        let server_side_encryption = match (&spec.server_side_encryption, &spec.kms_key_id) {
            (Some(algorithm), key_id) => Some(
                ServerSideEncryption::from_profile(algorithm, key_id.as_deref())
                    .map_err(|e| ProfileError::at("server_side_encryption", e))?,
            ),
            (None, Some(_)) => {
                return Err(ProfileError::at(
                    "kms_key_id",
                    "needs server_side_encryption = \"aws:kms\" (or \"aws:kms:dsse\")",
                ));
            }
            (None, None) => None,
        };
        let mut metadata_keys = BTreeSet::new();
        for key in &spec.metadata_keys {
            let key = MetadataKey::new(key).map_err(|e| ProfileError::at("metadata_keys", e))?;
            if !metadata_keys.insert(key.clone()) {
                return Err(ProfileError::at(
                    "metadata_keys",
                    format!("{key:?} is listed twice"),
                ));
            }
        }
        if methods.contains(&UploadMethod::Post)
            && !spec.allow_overwrite
            && !key_template.uses(Placeholder::Uuid)
        {
            return Err(ProfileError::at(
                "methods",
                "POST uploads cannot be made conditional (S3 has no If-None-Match for POST), so \
                 with allow_overwrite = false the key_template needs {uuid} to make every key \
                 new; add {uuid}, allow only \"PUT\", or set allow_overwrite = true",
            ));
        }
        let download_disposition = spec.download_disposition.unwrap_or(Disposition::Attachment);
        if download_disposition == Disposition::Inline && spec.allow_inline == Some(false) {
            return Err(ProfileError::at(
                "allow_inline",
                "is false but download_disposition is \"inline\"",
            ));
        }
        let scan = match spec.scan {
            Some(scan) => {
                Some(super::ScanRule::from_spec(scan).map_err(|e| ProfileError::at("scan", e))?)
            }
            None => None,
        };
        Ok(Self {
            name: name.into(),
            description: spec.description,
            bucket,
            key_template,
            content_types,
            size,
            default_expiry,
            max_expiry,
            methods,
            default_method,
            server_side_encryption,
            metadata_keys,
            allow_overwrite: spec.allow_overwrite,
            require_checksum: spec.require_checksum,
            allow_inline: spec
                .allow_inline
                .unwrap_or(download_disposition == Disposition::Inline),
            download_disposition,
            download_existence_check: spec.download_existence_check.unwrap_or(true),
            multipart,
            verification: super::VerificationRules {
                content_checks: spec.content_checks.unwrap_or(true),
                on_mismatch: spec.on_mismatch.unwrap_or_default(),
                max_width: spec.max_width,
                max_height: spec.max_height,
                max_pixels: spec.max_pixels,
            },
            scan,
        })
    }

    /// How uploads of this profile are verified (`POST /v1/uploads/verify`).
    pub fn verification(&self) -> &super::VerificationRules {
        &self.verification
    }

    /// The scan a download waits for (`scan`), if any.
    pub fn scan(&self) -> Option<&super::ScanRule> {
        self.scan.as_ref()
    }

    /// Whether multipart uploads (and the Uppy routes that use them) are allowed.
    pub fn allows_multipart(&self) -> bool {
        self.multipart
    }

    /// The size range of a single PUT or POST: the profile's, capped at 5 GiB.
    pub fn single_upload_size(&self) -> SizeRange {
        SizeRange {
            min: self.size.min,
            max: self.size.max.min(MAX_SINGLE_UPLOAD_BYTES),
        }
    }

    /// The profile's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The operator's description, if any.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The bucket.
    pub fn bucket(&self) -> &BucketName {
        &self.bucket
    }

    /// The key template.
    pub fn key_template(&self) -> &KeyTemplate {
        &self.key_template
    }

    /// The accepted media types.
    pub fn content_types(&self) -> &ContentTypes {
        &self.content_types
    }

    /// The accepted object sizes.
    pub fn size_range(&self) -> SizeRange {
        self.size
    }

    /// The lifetime of a grant when the client does not ask for one.
    pub fn default_expiry(&self) -> Expiry {
        self.default_expiry
    }

    /// The longest lifetime of a grant.
    pub fn max_expiry(&self) -> Expiry {
        self.max_expiry
    }

    /// The allowed upload methods.
    pub fn methods(&self) -> &[UploadMethod] {
        &self.methods
    }

    /// The method used when the client does not choose.
    pub fn default_method(&self) -> UploadMethod {
        self.default_method
    }

    /// The required server-side encryption, if any.
    pub fn server_side_encryption(&self) -> Option<&ServerSideEncryption> {
        self.server_side_encryption.as_ref()
    }

    /// Whether objects are encrypted with a key each client provides (SSE-C).
    pub fn uses_customer_key(&self) -> bool {
        self.server_side_encryption
            .as_ref()
            .is_some_and(ServerSideEncryption::is_customer_key)
    }

    /// Checks a request's `sse_customer_key_md5` against the profile: required (and valid)
    /// for SSE-C profiles, refused for the others.
    pub fn customer_key_md5(
        &self,
        given: Option<&str>,
    ) -> Result<Option<CustomerKeyMd5>, PolicyError> {
        match (self.uses_customer_key(), given) {
            (true, Some(md5)) => CustomerKeyMd5::new(md5)
                .map(Some)
                .map_err(|_| PolicyError::InvalidSseCustomerKeyMd5),
            (true, None) => Err(PolicyError::SseCustomerKeyRequired(String::from(
                &*self.name,
            ))),
            (false, Some(_)) => Err(PolicyError::SseCustomerKeyNotAllowed(String::from(
                &*self.name,
            ))),
            (false, None) => Ok(None),
        }
    }

    /// The allowed `x-amz-meta-*` keys.
    pub fn metadata_keys(&self) -> &BTreeSet<MetadataKey> {
        &self.metadata_keys
    }

    /// Whether an upload may replace an existing object.
    pub fn allow_overwrite(&self) -> bool {
        self.allow_overwrite
    }

    /// Whether uploads must carry a checksum (`checksum_*` or `content_md5`).
    pub fn require_checksum(&self) -> bool {
        self.require_checksum
    }

    /// The disposition of downloads when the client does not choose.
    pub fn download_disposition(&self) -> Disposition {
        self.download_disposition
    }

    /// Whether clients may ask for `inline` downloads.
    pub fn allow_inline(&self) -> bool {
        self.allow_inline
    }

    /// Whether a download grant is only given for an object that exists
    /// (`download_existence_check`, default true: one S3 call per download grant).
    pub fn download_existence_check(&self) -> bool {
        self.download_existence_check
    }

    /// Whether clients may choose folders (the template has `{path}`).
    pub fn allows_client_path(&self) -> bool {
        self.key_template.uses(Placeholder::Path)
    }

    /// `self.namespace(principal).check_key(key)`, without building the namespace (a copy
    /// of the bucket name and of the prefix): the prefix is matched where it lies.
    pub fn check_key(&self, principal: &Principal, key: &str) -> KeyOwnership {
        match self.key_template.strip_namespace(&principal.segment, key) {
            Some(rest) => check_key_rest(key, rest),
            None => KeyOwnership::Outside,
        }
    }

    /// The bucket and prefix that hold `principal`'s objects of this profile.
    pub fn namespace(&self, principal: &Principal) -> Namespace {
        Namespace::new(
            self.bucket.clone(),
            self.key_template.namespace_prefix(&principal.segment),
        )
    }

    /// What a grant's lifetime is cut from: `requested` (the client's wish) and this
    /// profile's default and maximum. The one cut is `crate::grants::grant_lifetime`.
    pub fn lifetime(&self, requested: Option<Expiry>) -> Lifetime {
        Lifetime {
            requested,
            default: self.default_expiry,
            max: self.max_expiry,
        }
    }
}

/// The policy's part of a grant's lifetime: what the client asked for and what the profile
/// allows. Cut, with the SigV4 cap, the credentials' expiry and a ticket's end, in
/// `crate::grants::grant_lifetime`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime {
    /// The client's wish (`expires_in`), if any.
    pub requested: Option<Expiry>,
    /// The profile's `default_expiry_secs`, used when nothing is requested.
    pub default: Expiry,
    /// The profile's `max_expiry_secs`.
    pub max: Expiry,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket() -> BucketName {
        BucketName::new("uploads").unwrap()
    }

    fn load(text: &str) -> Result<Profile, ProfileError> {
        Profile::from_toml("test", text, Some(&bucket()))
    }

    const MINIMAL: &str = r#"
        key_template = "users/{principal}/{uuid}/{filename}"
        content_types = ["text/plain"]
        max_size = "1 MiB"
    "#;

    #[test]
    fn defaults() {
        let p = load(MINIMAL).unwrap();
        assert_eq!(p.name(), "test");
        assert_eq!(p.bucket(), &bucket());
        assert_eq!(
            p.size_range(),
            SizeRange {
                min: 0,
                max: 1 << 20
            }
        );
        assert_eq!(p.methods(), [UploadMethod::Put, UploadMethod::Post]);
        assert_eq!(p.default_method(), UploadMethod::Put);
        assert_eq!(p.max_expiry().as_secs(), 3600);
        assert_eq!(p.default_expiry().as_secs(), 900);
        assert!(!p.allow_overwrite() && !p.require_checksum() && !p.allow_inline());
        assert!(
            p.download_existence_check(),
            "on unless a profile turns it off"
        );
        assert!(!p.allows_client_path());
        assert_eq!(p.download_disposition(), Disposition::Attachment);
    }

    #[test]
    fn default_expiry_is_capped_by_the_maximum() {
        let p = load(&format!("{MINIMAL}\nmax_expiry_secs = 600")).unwrap();
        assert_eq!(p.default_expiry().as_secs(), 600);
        let sixty = Some(Expiry::from_secs(60).unwrap());
        assert_eq!(
            p.lifetime(sixty),
            Lifetime {
                requested: sixty,
                default: p.default_expiry(),
                max: p.max_expiry(),
            }
        );
    }

    fn error_key(extra: &str) -> Option<String> {
        load(&format!("{MINIMAL}\n{extra}")).unwrap_err().key
    }

    #[test]
    fn invalid_settings_name_their_key() {
        for (extra, key) in [
            ("max_expiry_secs = 604801", "max_expiry_secs"),
            ("max_expiry_secs = 0", "max_expiry_secs"),
            ("default_expiry_secs = 4000", "default_expiry_secs"),
            ("min_size = \"2 MiB\"", "min_size"),
            ("methods = []", "methods"),
            (
                "methods = [\"PUT\"]\ndefault_method = \"POST\"",
                "default_method",
            ),
            ("methods = [\"GET\"]", "methods"),
            ("server_side_encryption = \"des\"", "server_side_encryption"),
            ("kms_key_id = \"k\"", "kms_key_id"),
            ("metadata_keys = [\"Bad Key\"]", "metadata_keys"),
            ("metadata_keys = [\"a\", \"a\"]", "metadata_keys"),
            (
                "allow_inline = false\ndownload_disposition = \"inline\"",
                "allow_inline",
            ),
            ("unknown_key = 1", "unknown_key"),
            ("name = \"Bad Name\"", "name"),
            ("bucket = \"Bad_Bucket\"", "bucket"),
        ] {
            assert_eq!(error_key(extra).as_deref(), Some(key), "{extra}");
        }
    }

    #[test]
    fn sizes_fit_a_single_upload_or_multipart() {
        let single_only = |s: &str| MINIMAL.replace("\"1 MiB\"", s);
        let size = |s: &str| format!("{}\nmultipart = true", single_only(s));
        assert_eq!(
            load(&single_only("\"6 GiB\"")).unwrap_err().key.as_deref(),
            Some("max_size"),
            "multipart is opt-in"
        );
        assert!(!load(&single_only("\"5 GiB\"")).unwrap().allows_multipart());
        let big = load(&size("\"6 GiB\"")).unwrap();
        assert!(big.allows_multipart());
        assert_eq!(big.single_upload_size().max, MAX_SINGLE_UPLOAD_BYTES);
        assert_eq!(
            load(&size("\"6000 GiB\"")).unwrap_err().key.as_deref(),
            Some("max_size")
        );
    }

    #[test]
    fn post_without_uuid_needs_overwrite_or_put_only() {
        let no_uuid = r#"
            key_template = "users/{principal}/{filename}"
            content_types = ["text/plain"]
            max_size = 10
        "#;
        assert_eq!(load(no_uuid).unwrap_err().key.as_deref(), Some("methods"));
        assert!(load(&format!("{no_uuid}\nmethods = [\"PUT\"]")).is_ok());
        assert!(load(&format!("{no_uuid}\nallow_overwrite = true")).is_ok());
    }

    #[test]
    fn bucket_is_required_without_a_default() {
        let err = Profile::from_toml("t", MINIMAL, None).unwrap_err();
        assert_eq!(err.key.as_deref(), Some("bucket"));
    }
}
