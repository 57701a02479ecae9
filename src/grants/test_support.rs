//! Decisions to build requests from, for the tests of this module.

use crate::backend::Backend;
use crate::domain::{BucketName, Principal, Scopes};
use crate::policy::{Profile, UploadDecision, UploadIntent};
use chrono::{DateTime, TimeZone, Utc};
use uuid::Uuid;

/// Base64 SHA-256 of `hello world`.
pub(super) const SHA256: &str = "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=";
/// Base64 MD5 of 16 bytes.
pub(super) const MD5: &str = "XUFAKrxLKna5cZ2REBfFkg==";

/// The signing instant of every test.
pub(super) fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap()
}

/// A caller with every scope.
pub(super) fn alice() -> Principal {
    Principal::api_key("alice", Scopes::all())
}

/// A PUT profile for `text/plain` files up to 100 bytes at `users/{principal}/{filename}`
/// with metadata key `project`, plus `extra` TOML lines.
pub(super) fn profile(extra: &str) -> Profile {
    profile_with("methods = [\"PUT\"]", extra)
}

/// A profile that also allows POST (and so overwriting, having no `{uuid}`).
pub(super) fn post_profile(extra: &str) -> Profile {
    profile_with(
        "methods = [\"PUT\", \"POST\"]\nallow_overwrite = true",
        extra,
    )
}

fn profile_with(methods: &str, extra: &str) -> Profile {
    Profile::from_toml(
        "docs",
        &format!(
            "key_template = \"users/{{principal}}/{{filename}}\"\n\
             content_types = [\"text/plain\"]\nmax_size = 100\n\
             metadata_keys = [\"project\"]\n{methods}\n{extra}"
        ),
        Some(&BucketName::new("uploads").unwrap()),
    )
    .unwrap()
}

/// `a.txt`, `text/plain`, 12 bytes.
pub(super) fn intent() -> UploadIntent {
    UploadIntent {
        filename: "a.txt".into(),
        content_type: "text/plain".into(),
        size: 12,
        ..UploadIntent::default()
    }
}

/// `profile`'s decision on `intent` for [`alice`] over `backend`.
pub(super) fn decide(profile: &Profile, backend: Backend, intent: UploadIntent) -> UploadDecision {
    profile
        .decide_upload(&alice(), &intent, backend, Uuid::nil(), now(), None)
        .unwrap()
}
