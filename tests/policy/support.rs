//! What the cases share: how a refusal is answered, a fixed time and UUID, principals, the
//! shipped registry, profiles from text and upload intents.

use chrono::{DateTime, TimeZone, Utc};
pub(crate) use s3_broker::backend::Backend;
use s3_broker::domain::{BucketName, Principal, Scopes};
use s3_broker::grants::grant_lifetime;
use s3_broker::http::Code;
use s3_broker::policy::{
    Lifetime, PolicyError, Profile, ProfileRegistry, RegistryOptions, UploadIntent,
};
use std::path::Path;
use uuid::Uuid;

/// How the API answers a refusal: its stable code and HTTP status.
pub(crate) trait Answered {
    fn code(&self) -> &'static str;
    fn status(&self) -> u16;
}

impl Answered for PolicyError {
    fn code(&self) -> &'static str {
        Code::from(self).as_str()
    }

    fn status(&self) -> u16 {
        Code::from(self).status().as_u16()
    }
}

pub(crate) const UUID: Uuid = Uuid::from_u128(0x0123_4567_89ab_4def_8123_4567_89ab_cdef);

pub(crate) fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 31, 23, 59, 59).unwrap()
}

/// A decision's lifetime in seconds, with credentials that do not expire.
pub(crate) fn cut(lifetime: &Lifetime) -> u32 {
    grant_lifetime(*lifetime, None, None, now())
        .unwrap()
        .as_secs()
}

pub(crate) fn bucket(name: &str) -> BucketName {
    BucketName::new(name).unwrap()
}

pub(crate) fn user(subject: &str) -> Principal {
    Principal::new(
        subject,
        Some("https://issuer.example".into()),
        Scopes::all(),
    )
}

pub(crate) fn options() -> RegistryOptions {
    RegistryOptions {
        default_profile: None,
        default_bucket: Some(bucket("uploads")),
    }
}

/// The shipped profiles, with the bucket the service would configure.
pub(crate) fn shipped() -> ProfileRegistry {
    ProfileRegistry::load_dir_with(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("policies"),
        &options(),
    )
    .expect("policies/*.toml load")
}

pub(crate) fn profile(text: &str) -> Profile {
    Profile::from_toml("test", text, Some(&bucket("uploads"))).unwrap()
}

pub(crate) const FOLDERS: &str = r#"
    key_template = "users/{principal}/{path}/{filename}"
    content_types = ["text/plain", "image/*"]
    max_size = "10 MiB"
    methods = ["PUT"]
"#;

pub(crate) fn intent(filename: &str, path: Option<&str>) -> UploadIntent {
    UploadIntent {
        filename: filename.into(),
        content_type: "text/plain".into(),
        size: 5,
        path: path.map(Into::into),
        ..UploadIntent::default()
    }
}

pub(crate) fn upload_key(
    p: &Profile,
    who: &Principal,
    filename: &str,
    path: Option<&str>,
) -> Result<String, String> {
    p.decide_upload(
        who,
        &intent(filename, path),
        Backend::Aws,
        UUID,
        now(),
        None,
    )
    .map(|d| d.key.to_string())
    .map_err(|e| e.code().to_owned())
}
