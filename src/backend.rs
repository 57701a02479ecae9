//! What the S3 implementation behind the broker can enforce (`[s3] backend`), and how grants
//! adapt to it.
//!
//! The broker's rule is that every limit it signs is enforced by the store. Stores that speak
//! the S3 API differ in what they check, and a header a store silently ignores is worse than
//! no header: the grant would promise a guarantee nobody keeps. So each backend states what it
//! verifies, and the broker refuses (or adapts) anything else:
//!
//! | backend | addressing | POST Object | `x-amz-checksum-*` (PUT/POST) | part checksums | `If-None-Match: *` PUT / complete | server-side encryption |
//! | --- | --- | --- | --- | --- | --- | --- |
//! | `aws` | virtual-hosted | yes | all five | CRC32, CRC32C, SHA1, SHA256 | yes / yes | SSE-S3, SSE-KMS, DSSE-KMS, SSE-C |
//! | `minio` | path-style | yes | all five | CRC32, CRC32C, SHA1, SHA256 | yes / yes | SSE-S3, SSE-KMS (with a KMS), SSE-C |
//! | `ceph` | path-style | yes | none (radosgw 16 ignores them) | none | yes / yes | SSE-S3, SSE-KMS, SSE-C |
//! | `r2` | virtual-hosted | **no** (POST → PUT) | all five | CRC32, CRC32C, SHA1, SHA256 | yes / undocumented | SSE-C only |
//! | `gcs` | virtual-hosted | **no** (POST → PUT) | none | none | no / no | none |
//!
//! `Content-MD5` is verified by all five, so it is always available for integrity.
//!
//! Sources:
//!
//! - AWS: [checking object integrity](https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html)
//!   (CRC64NVME is a full-object checksum only, so parts cannot use it),
//!   [conditional writes](https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html).
//! - MinIO: `If-None-Match: *` on PUT (minio/minio#19681, minio/minio#20346), CRC64NVME and
//!   full-object checksums (minio/minio#20855, 2025). MinIO defaults to path-style
//!   addressing (no wildcard DNS).
//! - Ceph radosgw: this repository's test bed (Ceph 16.2): `Content-MD5` and `If-None-Match`
//!   are enforced, `x-amz-checksum-*` is accepted and ignored (`tests/e2e/integrity.rs`).
//!   Later Ceph releases add the flexible checksums; with one of them, `backend = "aws"` and
//!   `path_style = true` sign them.
//! - Cloudflare R2: [S3 API compatibility](https://developers.cloudflare.com/r2/api/s3/api/)
//!   (checksum table: CRC64NVME full-object, CRC32/CRC32C/SHA1/SHA256 composite;
//!   `x-amz-server-side-encryption*` not implemented, SSE-C implemented; PutObject has
//!   `Content-MD5`; CompleteMultipartUpload lists no conditional headers),
//!   [extensions](https://developers.cloudflare.com/r2/api/s3/extensions/) ("`PutObject`
//!   supports conditional uploads via [...] `If-None-Match`"),
//!   [presigned URLs](https://developers.cloudflare.com/r2/api/s3/presigned-urls/) ("`POST`,
//!   which performs uploads via native HTML forms, is not currently supported").
//! - Google Cloud Storage (XML API with HMAC keys):
//!   [PUT Object](https://cloud.google.com/storage/docs/xml-api/put-object) (`Content-MD5`;
//!   create-only writes use `x-goog-if-generation-match: 0`, which the broker does not sign,
//!   not `If-None-Match`), [headers](https://cloud.google.com/storage/docs/xml-api/reference-headers)
//!   (no `x-amz-checksum-*`, no `x-amz-server-side-encryption*`; customer keys are
//!   `x-goog-encryption-*` with a SHA-256, not SSE-C),
//!   [HTML forms](https://cloud.google.com/storage/docs/xml-api/post-object-forms) (signed with
//!   `x-goog-*` fields, not the `x-amz-*` ones the broker's POST policies carry).
//!
//! Adaptations: a requested POST on a backend without POST Object is refused
//! (`method_not_supported`), a profile's default POST becomes PUT, and the Uppy routes answer
//! PUT grants; a checksum algorithm the backend does not verify is refused
//! (`checksum_not_supported`); `If-None-Match: *` is signed only where the backend honours
//! it, and at startup every profile that must not overwrite has to put `{uuid}` in its keys
//! when the backend cannot make the write conditional ([`Backend::check_profile`]).

use crate::domain::ChecksumAlgorithm;
use crate::policy::{Placeholder, PolicyError, Profile, ServerSideEncryption, UploadMethod};
use std::fmt;

/// The S3 implementation behind the broker (`[s3] backend`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Backend {
    /// Amazon S3 (the default).
    #[default]
    Aws,
    /// MinIO.
    Minio,
    /// Ceph radosgw (as tested here: 16.2).
    Ceph,
    /// Cloudflare R2.
    R2,
    /// Google Cloud Storage's XML API (interoperability, HMAC keys).
    Gcs,
}

const FLEXIBLE: &[ChecksumAlgorithm] = &ChecksumAlgorithm::ALL;
const COMPOSITE: &[ChecksumAlgorithm] = &[
    ChecksumAlgorithm::Crc32,
    ChecksumAlgorithm::Crc32c,
    ChecksumAlgorithm::Sha1,
    ChecksumAlgorithm::Sha256,
];

impl Backend {
    /// Every backend, in the order of the documentation.
    pub const ALL: [Backend; 5] = [Self::Aws, Self::Minio, Self::Ceph, Self::R2, Self::Gcs];

    /// The configuration name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Aws => "aws",
            Self::Minio => "minio",
            Self::Ceph => "ceph",
            Self::R2 => "r2",
            Self::Gcs => "gcs",
        }
    }

    /// Parses a configuration name (`aws`, `minio`, `ceph`, `r2`, `gcs`).
    pub fn parse(name: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|b| b.as_str() == name)
            .ok_or_else(|| {
                format!("{name:?} is not a backend; expected aws, minio, ceph, r2 or gcs")
            })
    }

    /// Whether the bucket goes in the path when `path_style` is not set: MinIO and Ceph are
    /// usually deployed without wildcard DNS for bucket subdomains.
    pub fn default_path_style(self) -> bool {
        matches!(self, Self::Minio | Self::Ceph)
    }

    /// Whether the store accepts the broker's SigV4 POST policies (browser form uploads).
    pub fn supports_post_object(self) -> bool {
        !matches!(self, Self::R2 | Self::Gcs)
    }

    /// The `x-amz-checksum-*` algorithms the store verifies on a single PUT or POST.
    pub fn checksums(self) -> &'static [ChecksumAlgorithm] {
        match self {
            Self::Aws | Self::Minio | Self::R2 => FLEXIBLE,
            Self::Ceph | Self::Gcs => &[],
        }
    }

    /// The algorithms the store verifies on every part of a multipart upload.
    pub fn part_checksums(self) -> &'static [ChecksumAlgorithm] {
        match self {
            Self::Aws | Self::Minio | Self::R2 => COMPOSITE,
            Self::Ceph | Self::Gcs => &[],
        }
    }

    /// Whether the store verifies a signed `Content-MD5` (all of them do).
    pub fn verifies_content_md5(self) -> bool {
        true
    }

    /// Whether `If-None-Match: *` on PutObject makes the write fail when the key exists.
    pub fn conditional_put(self) -> bool {
        !matches!(self, Self::Gcs)
    }

    /// Whether `If-None-Match: *` on CompleteMultipartUpload is documented to do the same.
    pub fn conditional_complete(self) -> bool {
        matches!(self, Self::Aws | Self::Minio | Self::Ceph)
    }

    /// Whether the store applies `encryption` (instead of ignoring or refusing its headers).
    pub fn supports_encryption(self, encryption: &ServerSideEncryption) -> bool {
        use ServerSideEncryption::{Aes256, CustomerKey, Kms, KmsDsse};
        match (self, encryption) {
            (Self::Aws, _) => true,
            (Self::Minio | Self::Ceph, Aes256 | Kms { .. } | CustomerKey) => true,
            (Self::Minio | Self::Ceph, KmsDsse { .. }) => false,
            (Self::R2, CustomerKey) => true,
            (Self::R2, _) | (Self::Gcs, _) => false,
        }
    }

    /// The method of a `POST /v1/uploads` grant: the requested one, else the profile's
    /// default, with POST turned into PUT on a backend without POST Object. A requested POST
    /// there is refused (`method_not_supported`), never silently changed: the client would
    /// build a form.
    pub fn upload_method(
        self,
        profile: &Profile,
        requested: Option<UploadMethod>,
    ) -> Result<Option<UploadMethod>, PolicyError> {
        match requested {
            Some(UploadMethod::Post) if !self.supports_post_object() => {
                Err(PolicyError::MethodNotSupported(format!(
                    "the storage backend ({self}) has no POST Object (browser form uploads); \
                     ask for \"method\": \"PUT\" or leave the method out"
                )))
            }
            Some(method) => Ok(Some(method)),
            None if profile.default_method() == UploadMethod::Post
                && !self.supports_post_object() =>
            {
                Ok(Some(UploadMethod::Put))
            }
            None => Ok(None),
        }
    }

    /// Refuses an `x-amz-checksum-*` algorithm the store would not verify on a single upload.
    pub fn check_checksum(self, algorithm: ChecksumAlgorithm) -> Result<(), PolicyError> {
        let note = if self.verifies_content_md5() {
            " (content_md5 is always verified)"
        } else {
            ""
        };
        self.check_algorithm(algorithm, self.checksums(), "uploads", note)
    }

    /// Refuses a part checksum algorithm the store would not verify.
    pub fn check_part_checksum(self, algorithm: ChecksumAlgorithm) -> Result<(), PolicyError> {
        self.check_algorithm(algorithm, self.part_checksums(), "multipart parts", "")
    }

    /// Refuses `algorithm` unless `supported` lists it; the error names `what` is checked and
    /// ends with `note`.
    fn check_algorithm(
        self,
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
            "the storage backend ({self}) does not verify {algorithm} checksums of {what}, so \
             S3 would not refuse other bytes; supported: {}{note}",
            if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(", ")
            },
        )))
    }

    /// Checks, at startup, that the store can enforce what `profile` requires:
    ///
    /// - its server-side encryption;
    /// - a method: a POST-only profile needs POST Object;
    /// - no overwrite: where the store cannot make a PUT (or a multipart completion)
    ///   conditional, every key must be new, so the key template needs `{uuid}` (as for POST,
    ///   which is never conditional).
    pub fn check_profile(self, profile: &Profile) -> Result<(), String> {
        let name = profile.name();
        if let Some(sse) = profile.server_side_encryption()
            && !self.supports_encryption(sse)
        {
            return Err(format!(
                "profile {name:?}: the storage backend ({self}) does not apply \
                 server_side_encryption = {:?}",
                if sse.is_customer_key() {
                    crate::policy::SSE_C
                } else {
                    sse.algorithm()
                }
            ));
        }
        if !self.supports_post_object() && !profile.methods().contains(&UploadMethod::Put) {
            return Err(format!(
                "profile {name:?} allows only POST uploads, and the storage backend ({self}) \
                 has no POST Object: add \"PUT\" to its methods"
            ));
        }
        let unique_keys = profile.key_template().uses(Placeholder::Uuid);
        if !profile.allow_overwrite() && !unique_keys {
            if !self.conditional_put() {
                return Err(format!(
                    "profile {name:?} must not overwrite, and the storage backend ({self}) has \
                     no conditional PUT (If-None-Match: *): put {{uuid}} in its key_template \
                     so every key is new, or set allow_overwrite = true"
                ));
            }
            if profile.allows_multipart() && !self.conditional_complete() {
                return Err(format!(
                    "profile {name:?} must not overwrite, and the storage backend ({self}) does \
                     not document a conditional CompleteMultipartUpload: put {{uuid}} in its \
                     key_template, set multipart = false, or set allow_overwrite = true"
                ));
            }
        }
        Ok(())
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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
    fn names_round_trip() {
        for backend in Backend::ALL {
            assert_eq!(Backend::parse(backend.as_str()), Ok(backend));
            assert_eq!(backend.to_string(), backend.as_str());
        }
        assert_eq!(Backend::default(), Backend::Aws);
        assert!(Backend::parse("AWS").is_err());
        assert!(
            Backend::parse("s3")
                .unwrap_err()
                .contains("aws, minio, ceph, r2 or gcs")
        );
    }

    #[test]
    fn capability_table() {
        use ChecksumAlgorithm::*;
        let row = |b: Backend| {
            (
                b.default_path_style(),
                b.supports_post_object(),
                b.checksums().len(),
                b.part_checksums().contains(&Crc64Nvme),
                b.conditional_put(),
                b.conditional_complete(),
            )
        };
        assert_eq!(row(Backend::Aws), (false, true, 5, false, true, true));
        assert_eq!(row(Backend::Minio), (true, true, 5, false, true, true));
        assert_eq!(row(Backend::Ceph), (true, true, 0, false, true, true));
        assert_eq!(row(Backend::R2), (false, false, 5, false, true, false));
        assert_eq!(row(Backend::Gcs), (false, false, 0, false, false, false));
        assert!(Backend::ALL.iter().all(|b| b.verifies_content_md5()));
        assert_eq!(Backend::R2.part_checksums(), [Crc32, Crc32c, Sha1, Sha256]);
        assert!(Backend::Gcs.part_checksums().is_empty());
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
                .map(|s| b.supports_encryption(s))
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
                backend.upload_method(&post_default, None),
                Ok(Some(UploadMethod::Put)),
                "{backend}: the profile's default POST becomes PUT"
            );
            assert_eq!(backend.upload_method(&put_default, None), Ok(None));
            let err = backend
                .upload_method(&put_default, Some(UploadMethod::Post))
                .unwrap_err();
            assert!(matches!(err, PolicyError::MethodNotSupported(_)), "{err}");
            assert_eq!(
                backend.upload_method(&put_default, Some(UploadMethod::Put)),
                Ok(Some(UploadMethod::Put))
            );
        }
        assert_eq!(
            Backend::Aws.upload_method(&post_default, Some(UploadMethod::Post)),
            Ok(Some(UploadMethod::Post))
        );
        assert_eq!(Backend::Minio.upload_method(&post_default, None), Ok(None));
    }

    #[test]
    fn unverified_checksums_are_refused() {
        for algorithm in ChecksumAlgorithm::ALL {
            assert!(Backend::Aws.check_checksum(algorithm).is_ok());
            assert!(Backend::R2.check_checksum(algorithm).is_ok());
            let err = Backend::Ceph.check_checksum(algorithm).unwrap_err();
            assert!(matches!(err, PolicyError::ChecksumNotSupported(_)), "{err}");
            assert!(err.to_string().contains("content_md5"), "{err}");
            assert!(Backend::Gcs.check_checksum(algorithm).is_err());
        }
        assert!(
            Backend::Aws
                .check_part_checksum(ChecksumAlgorithm::Crc64Nvme)
                .is_err()
        );
        assert!(
            Backend::R2
                .check_part_checksum(ChecksumAlgorithm::Crc32c)
                .is_ok()
        );
        assert!(
            Backend::Ceph
                .check_part_checksum(ChecksumAlgorithm::Sha256)
                .is_err()
        );
    }

    #[test]
    fn profiles_are_checked_against_the_backend() {
        let plain = profile("");
        assert!(Backend::ALL.iter().all(|b| b.check_profile(&plain).is_ok()));

        let kms = profile("server_side_encryption = \"aws:kms\"");
        assert!(Backend::Aws.check_profile(&kms).is_ok());
        assert!(
            Backend::R2
                .check_profile(&kms)
                .unwrap_err()
                .contains("aws:kms")
        );
        let sse_c = profile("server_side_encryption = \"SSE-C\"");
        assert!(Backend::R2.check_profile(&sse_c).is_ok());
        assert!(
            Backend::Gcs
                .check_profile(&sse_c)
                .unwrap_err()
                .contains("SSE-C")
        );

        let post_only = profile("methods = [\"POST\"]");
        assert!(Backend::Aws.check_profile(&post_only).is_ok());
        assert!(
            Backend::R2
                .check_profile(&post_only)
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
        assert!(Backend::Aws.check_profile(&no_overwrite).is_ok());
        assert!(
            Backend::Gcs
                .check_profile(&no_overwrite)
                .unwrap_err()
                .contains("{uuid}")
        );
        assert!(
            Backend::R2
                .check_profile(&no_overwrite)
                .unwrap_err()
                .contains("CompleteMultipartUpload"),
            "R2 does not document a conditional complete"
        );
        assert!(
            Backend::R2.check_profile(&fixed_key("")).is_ok(),
            "multipart is off by default"
        );
        assert!(
            Backend::Gcs
                .check_profile(&fixed_key("allow_overwrite = true"))
                .is_ok()
        );
    }
}
