//! How decisions adapt to what the storage backend enforces ([`Backend`], the capability
//! table): the decide functions take the backend as an argument, like the time and the UUID,
//! and refuse or adapt inside the decision what the store would not check. Profiles are
//! checked against it once, at startup ([`Profile::check_backend`]).

use super::{Placeholder, PolicyError, Profile, SSE_C, ServerSideEncryption, UploadMethod};
use crate::backend::Backend;
use crate::domain::ChecksumAlgorithm;

/// Whether the store applies `encryption` (instead of ignoring or refusing its headers).
pub fn applies_encryption(backend: Backend, encryption: &ServerSideEncryption) -> bool {
    use ServerSideEncryption::{Aes256, CustomerKey, Kms, KmsDsse};
    match (backend, encryption) {
        (Backend::Aws, _) => true,
        (Backend::Minio | Backend::Ceph, Aes256 | Kms { .. } | CustomerKey) => true,
        (Backend::Minio | Backend::Ceph, KmsDsse { .. }) => false,
        (Backend::R2, CustomerKey) => true,
        (Backend::R2, _) | (Backend::Gcs, _) => false,
    }
}

/// The method of a `POST /v1/uploads` grant: the requested one, else the profile's default,
/// with POST turned into PUT on a backend without POST Object. A requested POST there is
/// refused (`method_not_supported`), never silently changed: the client would build a form.
pub(crate) fn upload_method(
    backend: Backend,
    profile: &Profile,
    requested: Option<UploadMethod>,
) -> Result<UploadMethod, PolicyError> {
    match requested {
        Some(UploadMethod::Post) if !backend.supports_post_object() => {
            Err(PolicyError::MethodNotSupported(format!(
                "the storage backend ({backend}) has no POST Object (browser form uploads); \
                 ask for \"method\": \"PUT\" or leave the method out"
            )))
        }
        Some(method) => Ok(method),
        None if profile.default_method == UploadMethod::Post && !backend.supports_post_object() => {
            Ok(UploadMethod::Put)
        }
        None => Ok(profile.default_method),
    }
}

/// Refuses an `x-amz-checksum-*` algorithm the store would not verify on a single upload.
pub(crate) fn check_checksum(
    backend: Backend,
    algorithm: ChecksumAlgorithm,
) -> Result<(), PolicyError> {
    let note = if backend.verifies_content_md5() {
        " (content_md5 is always verified)"
    } else {
        ""
    };
    check_algorithm(backend, algorithm, backend.checksums(), "uploads", note)
}

/// Refuses a part checksum algorithm the store would not verify.
pub(crate) fn check_part_checksum(
    backend: Backend,
    algorithm: ChecksumAlgorithm,
) -> Result<(), PolicyError> {
    check_algorithm(
        backend,
        algorithm,
        backend.part_checksums(),
        "multipart parts",
        "",
    )
}

/// Refuses `algorithm` unless `supported` lists it; the error names `what` is checked and
/// ends with `note`.
fn check_algorithm(
    backend: Backend,
    algorithm: ChecksumAlgorithm,
    supported: &[ChecksumAlgorithm],
    what: &str,
    note: &str,
) -> Result<(), PolicyError> {
    if supported.contains(&algorithm) {
        return Ok(());
    }
    let names: Vec<&str> = supported.iter().map(|a| a.as_str()).collect();
    Err(PolicyError::ChecksumNotSupported(format!(
        "the storage backend ({backend}) does not verify {algorithm} checksums of {what}, so \
         S3 would not refuse other bytes; supported: {}{note}",
        if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        },
    )))
}

impl Profile {
    /// Checks, at startup, that `backend` can enforce what this profile requires:
    ///
    /// - its server-side encryption;
    /// - a method: a POST-only profile needs POST Object;
    /// - no overwrite: where the store cannot make a PUT (or a multipart completion)
    ///   conditional, every key must be new, so the key template needs `{uuid}` (as for POST,
    ///   which is never conditional).
    pub fn check_backend(&self, backend: Backend) -> Result<(), String> {
        let name = self.name();
        if let Some(sse) = self.server_side_encryption()
            && !applies_encryption(backend, sse)
        {
            return Err(format!(
                "profile {name:?}: the storage backend ({backend}) does not apply \
                 server_side_encryption = {:?}",
                if sse.is_customer_key() {
                    SSE_C
                } else {
                    sse.algorithm()
                }
            ));
        }
        if !backend.supports_post_object() && !self.methods().contains(&UploadMethod::Put) {
            return Err(format!(
                "profile {name:?} allows only POST uploads, and the storage backend ({backend}) \
                 has no POST Object: add \"PUT\" to its methods"
            ));
        }
        if let Some(scan) = self.scan()
            && !backend.object_tags()
        {
            return Err(format!(
                "profile {name:?} gates downloads on the tag {:?}, and the storage backend \
                 ({backend}) keeps no object tags: remove scan, or use a store with object \
                 tagging (aws, minio, ceph)",
                scan.tag()
            ));
        }
        let unique_keys = self.key_template().uses(Placeholder::Uuid);
        if !self.allow_overwrite() && !unique_keys {
            if !backend.conditional_put() {
                return Err(format!(
                    "profile {name:?} must not overwrite, and the storage backend ({backend}) \
                     has no conditional PUT (If-None-Match: *): put {{uuid}} in its \
                     key_template so every key is new, or set allow_overwrite = true"
                ));
            }
            if self.allows_multipart() && !backend.conditional_complete() {
                return Err(format!(
                    "profile {name:?} must not overwrite, and the storage backend ({backend}) \
                     does not document a conditional CompleteMultipartUpload: put {{uuid}} in \
                     its key_template, set multipart = false, or set allow_overwrite = true"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::BucketName;

    fn profile(extra: &str) -> Profile {
        Profile::from_toml(
            "test",
            &format!(
                "key_template = \"users/{{principal}}/{{uuid}}/{{filename}}\"\n\
                 content_types = [\"text/plain\"]\nmax_size = 100\n{extra}"
            ),
            Some(&BucketName::new("uploads").unwrap()),
        )
        .unwrap()
    }

    #[test]
    fn encryption_support() {
        let sse = |a: &str, k: Option<&str>| ServerSideEncryption::from_profile(a, k).unwrap();
        let all = [
            sse("AES256", None),
            sse("aws:kms", Some("alias/k")),
            sse("aws:kms:dsse", None),
            sse("SSE-C", None),
        ];
        let supported = |b: Backend| {
            all.iter()
                .map(|s| applies_encryption(b, s))
                .collect::<Vec<_>>()
        };
        assert_eq!(supported(Backend::Aws), [true, true, true, true]);
        assert_eq!(supported(Backend::Minio), [true, true, false, true]);
        assert_eq!(supported(Backend::Ceph), [true, true, false, true]);
        assert_eq!(supported(Backend::R2), [false, false, false, true]);
        assert_eq!(supported(Backend::Gcs), [false, false, false, false]);
    }

    #[test]
    fn post_falls_back_to_put_where_there_is_no_post_object() {
        let post_default = profile("default_method = \"POST\"");
        let put_default = profile("");
        for backend in [Backend::R2, Backend::Gcs] {
            assert_eq!(
                upload_method(backend, &post_default, None),
                Ok(UploadMethod::Put),
                "{backend}: the profile's default POST becomes PUT"
            );
            assert_eq!(
                upload_method(backend, &put_default, None),
                Ok(UploadMethod::Put)
            );
            let err = upload_method(backend, &put_default, Some(UploadMethod::Post)).unwrap_err();
            assert!(matches!(err, PolicyError::MethodNotSupported(_)), "{err}");
            assert_eq!(
                upload_method(backend, &put_default, Some(UploadMethod::Put)),
                Ok(UploadMethod::Put)
            );
        }
        assert_eq!(
            upload_method(Backend::Aws, &post_default, Some(UploadMethod::Post)),
            Ok(UploadMethod::Post)
        );
        assert_eq!(
            upload_method(Backend::Minio, &post_default, None),
            Ok(UploadMethod::Post)
        );
    }

    #[test]
    fn unverified_checksums_are_refused() {
        for algorithm in ChecksumAlgorithm::ALL {
            assert!(check_checksum(Backend::Aws, algorithm).is_ok());
            assert!(check_checksum(Backend::R2, algorithm).is_ok());
            let err = check_checksum(Backend::Ceph, algorithm).unwrap_err();
            assert!(matches!(err, PolicyError::ChecksumNotSupported(_)), "{err}");
            assert!(err.to_string().contains("content_md5"), "{err}");
            assert!(check_checksum(Backend::Gcs, algorithm).is_err());
        }
        assert!(check_part_checksum(Backend::Aws, ChecksumAlgorithm::Crc64Nvme).is_err());
        assert!(check_part_checksum(Backend::R2, ChecksumAlgorithm::Crc32c).is_ok());
        assert!(check_part_checksum(Backend::Ceph, ChecksumAlgorithm::Sha256).is_err());
    }

    #[test]
    fn profiles_are_checked_against_the_backend() {
        let plain = profile("");
        assert!(Backend::ALL.iter().all(|b| plain.check_backend(*b).is_ok()));

        let kms = profile("server_side_encryption = \"aws:kms\"");
        assert!(kms.check_backend(Backend::Aws).is_ok());
        assert!(
            kms.check_backend(Backend::R2)
                .unwrap_err()
                .contains("aws:kms")
        );
        let sse_c = profile("server_side_encryption = \"SSE-C\"");
        assert!(sse_c.check_backend(Backend::R2).is_ok());
        assert!(
            sse_c
                .check_backend(Backend::Gcs)
                .unwrap_err()
                .contains("SSE-C")
        );

        let scanned = profile(
            "scan = { tag = \"GuardDutyMalwareScanStatus\", clean = \"NO_THREATS_FOUND\" }",
        );
        assert!(scanned.check_backend(Backend::Ceph).is_ok());
        for untagged in [Backend::R2, Backend::Gcs] {
            let err = scanned.check_backend(untagged).unwrap_err();
            assert!(err.contains("no object tags"), "{err}");
        }

        let post_only = profile("methods = [\"POST\"]");
        assert!(post_only.check_backend(Backend::Aws).is_ok());
        assert!(
            post_only
                .check_backend(Backend::R2)
                .unwrap_err()
                .contains("POST")
        );

        let fixed_key = |extra: &str| {
            Profile::from_toml(
                "fixed",
                &format!(
                    "key_template = \"avatars/{{principal}}/{{filename}}\"\n\
                     content_types = [\"image/png\"]\nmax_size = 100\nmethods = [\"PUT\"]\n{extra}"
                ),
                Some(&BucketName::new("uploads").unwrap()),
            )
            .unwrap()
        };
        let no_overwrite = fixed_key("multipart = true");
        assert!(no_overwrite.check_backend(Backend::Aws).is_ok());
        assert!(
            no_overwrite
                .check_backend(Backend::Gcs)
                .unwrap_err()
                .contains("{uuid}")
        );
        assert!(
            no_overwrite
                .check_backend(Backend::R2)
                .unwrap_err()
                .contains("CompleteMultipartUpload"),
            "R2 does not document a conditional complete"
        );
        assert!(
            fixed_key("").check_backend(Backend::R2).is_ok(),
            "multipart is off by default"
        );
        assert!(
            fixed_key("allow_overwrite = true")
                .check_backend(Backend::Gcs)
                .is_ok()
        );
    }
}
