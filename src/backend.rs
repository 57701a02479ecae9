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
//! This file is the table only: facts about stores, with no opinion on uploads. The
//! decisions take a [`Backend`] as an argument and adapt to it in `crate::policy` (see
//! `policy/backend.rs`): a requested POST on a backend without POST Object is refused
//! (`method_not_supported`), a profile's default POST becomes PUT, and the Uppy routes answer
//! PUT grants; a checksum algorithm the backend does not verify is refused
//! (`checksum_not_supported`); `If-None-Match: *` is signed only where the backend honours
//! it, and at startup every profile that must not overwrite has to put `{uuid}` in its keys
//! when the backend cannot make the write conditional (`Profile::check_backend`).

use crate::domain::ChecksumAlgorithm;
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

    /// Whether the store keeps object tags (GetObjectTagging), which scan-gated downloads
    /// read: R2 and GCS's XML API have none.
    pub fn object_tags(self) -> bool {
        matches!(self, Self::Aws | Self::Minio | Self::Ceph)
    }

    /// Whether `If-None-Match: *` on CompleteMultipartUpload is documented to do the same.
    pub fn conditional_complete(self) -> bool {
        matches!(self, Self::Aws | Self::Minio | Self::Ceph)
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
        let tagged: Vec<Backend> = Backend::ALL
            .into_iter()
            .filter(|b| b.object_tags())
            .collect();
        assert_eq!(tagged, [Backend::Aws, Backend::Minio, Backend::Ceph]);
        assert_eq!(Backend::R2.part_checksums(), [Crc32, Crc32c, Sha1, Sha256]);
        assert!(Backend::Gcs.part_checksums().is_empty());
    }
}
