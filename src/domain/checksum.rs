//! Checksums S3 verifies on upload: `x-amz-checksum-*` and `Content-MD5`.

use super::DomainError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use std::fmt;

/// The checksum algorithms S3 supports for `x-amz-checksum-<algo>`.
///
/// See <https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html>
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChecksumAlgorithm {
    /// CRC-32 (ISO HDLC), 4 bytes.
    Crc32,
    /// CRC-32C (Castagnoli), 4 bytes.
    Crc32c,
    /// CRC-64/NVME, 8 bytes.
    Crc64Nvme,
    /// SHA-1, 20 bytes.
    Sha1,
    /// SHA-256, 32 bytes.
    Sha256,
}

impl ChecksumAlgorithm {
    /// Every algorithm, in S3's order.
    pub const ALL: [ChecksumAlgorithm; 5] = [
        Self::Crc32,
        Self::Crc32c,
        Self::Crc64Nvme,
        Self::Sha1,
        Self::Sha256,
    ];

    /// The name S3 uses in `x-amz-checksum-algorithm` / `x-amz-sdk-checksum-algorithm`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Crc32 => "CRC32",
            Self::Crc32c => "CRC32C",
            Self::Crc64Nvme => "CRC64NVME",
            Self::Sha1 => "SHA1",
            Self::Sha256 => "SHA256",
        }
    }

    /// The header naming the algorithm, which AWS SDKs send beside the value and a signed
    /// checksum therefore signs too.
    ///
    /// See <https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html>
    pub const ALGORITHM_HEADER: &'static str = "x-amz-sdk-checksum-algorithm";

    /// The lowercase header carrying the value, e.g. `x-amz-checksum-sha256`.
    pub fn header_name(self) -> &'static str {
        match self {
            Self::Crc32 => "x-amz-checksum-crc32",
            Self::Crc32c => "x-amz-checksum-crc32c",
            Self::Crc64Nvme => "x-amz-checksum-crc64nvme",
            Self::Sha1 => "x-amz-checksum-sha1",
            Self::Sha256 => "x-amz-checksum-sha256",
        }
    }

    /// Length of the raw digest in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            Self::Crc32 | Self::Crc32c => 4,
            Self::Crc64Nvme => 8,
            Self::Sha1 => 20,
            Self::Sha256 => 32,
        }
    }
}

impl fmt::Display for ChecksumAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ChecksumAlgorithm {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| DomainError::ChecksumAlgorithm(s.to_owned()))
    }
}

fn decode_digest(value: &str, len: usize, algorithm: &'static str) -> Result<(), DomainError> {
    let bytes = STANDARD.decode(value).map_err(|_| DomainError::Checksum {
        algorithm,
        reason: "must be standard base64",
    })?;
    if bytes.len() != len {
        return Err(DomainError::Checksum {
            algorithm,
            reason: "decodes to the wrong number of bytes",
        });
    }
    Ok(())
}

/// A base64 checksum value together with its algorithm, as sent in `x-amz-checksum-<algo>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Checksum {
    algorithm: ChecksumAlgorithm,
    value: String,
}

impl Checksum {
    /// Validates that `base64_value` is standard base64 of the algorithm's digest length.
    pub fn new(algorithm: ChecksumAlgorithm, base64_value: &str) -> Result<Self, DomainError> {
        decode_digest(base64_value, algorithm.digest_len(), algorithm.as_str())?;
        Ok(Self {
            algorithm,
            value: base64_value.to_owned(),
        })
    }

    /// The SHA-256 checksum of `bytes`.
    pub fn sha256_of(bytes: &[u8]) -> Self {
        use sha2::Digest;
        Self {
            algorithm: ChecksumAlgorithm::Sha256,
            value: STANDARD.encode(sha2::Sha256::digest(bytes)),
        }
    }

    /// The algorithm.
    pub fn algorithm(&self) -> ChecksumAlgorithm {
        self.algorithm
    }

    /// The base64 value.
    pub fn value(&self) -> &str {
        &self.value
    }
}

/// A base64 MD5 digest for the `Content-MD5` header (RFC 1864).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContentMd5(String);

impl ContentMd5 {
    /// Validates that `base64_value` is standard base64 of 16 bytes.
    pub fn new(base64_value: &str) -> Result<Self, DomainError> {
        decode_digest(base64_value, 16, "Content-MD5")?;
        Ok(Self(base64_value.to_owned()))
    }

    /// The base64 value.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_digest_lengths() {
        let sha = Checksum::sha256_of(b"hello");
        assert_eq!(sha.value(), "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=");
        assert!(Checksum::new(ChecksumAlgorithm::Sha256, sha.value()).is_ok());
        assert!(Checksum::new(ChecksumAlgorithm::Crc32, sha.value()).is_err());
        assert!(Checksum::new(ChecksumAlgorithm::Crc32, "AAAAAA==").is_ok());
        assert!(Checksum::new(ChecksumAlgorithm::Crc64Nvme, "AAAAAAAAAAA=").is_ok());
        assert!(Checksum::new(ChecksumAlgorithm::Sha256, "not base64!").is_err());
        assert!(ContentMd5::new("XUFAKrxLKna5cZ2REBfFkg==").is_ok());
        assert!(ContentMd5::new("AAAA").is_err());
    }

    #[test]
    fn parses_algorithm_names() {
        for a in ChecksumAlgorithm::ALL {
            assert_eq!(
                a.as_str()
                    .to_lowercase()
                    .parse::<ChecksumAlgorithm>()
                    .unwrap(),
                a
            );
            assert!(a.header_name().ends_with(&a.as_str().to_lowercase()));
        }
        assert!("MD5".parse::<ChecksumAlgorithm>().is_err());
    }
}
