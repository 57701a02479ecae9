//! S3 bucket names.

use super::DomainError;
use std::fmt;
use std::sync::Arc;

/// A bucket name that follows the S3 general-purpose bucket naming rules.
///
/// Rules: <https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html>
///
/// Shared text: a grant copies its profile's bucket into its decision and its signed request,
/// which costs reference counts rather than two allocations per request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BucketName(Arc<str>);

const RESERVED_PREFIXES: [&str; 3] = ["xn--", "sthree-", "amzn-s3-demo-"];
const RESERVED_SUFFIXES: [&str; 5] = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];

impl BucketName {
    /// Validates `name` against the S3 naming rules.
    pub fn new(name: impl Into<String>) -> Result<Self, DomainError> {
        let name = name.into();
        let fail = |reason| {
            Err(DomainError::BucketName {
                name: name.clone(),
                reason,
            })
        };
        if !(3..=63).contains(&name.len()) {
            return fail("must be 3 to 63 characters long");
        }
        if !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        {
            return fail("only lowercase letters, digits, dots and hyphens are allowed");
        }
        let bytes = name.as_bytes();
        let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        if !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
            return fail("must begin and end with a letter or digit");
        }
        if name.contains("..") || name.contains(".-") || name.contains("-.") {
            return fail("dots may not be adjacent to each other or to hyphens");
        }
        if name.parse::<std::net::Ipv4Addr>().is_ok() {
            return fail("must not be formatted as an IP address");
        }
        if RESERVED_PREFIXES.iter().any(|p| name.starts_with(p)) {
            return fail("uses a reserved prefix (xn--, sthree-, amzn-s3-demo-)");
        }
        if RESERVED_SUFFIXES.iter().any(|s| name.ends_with(s)) {
            return fail("uses a reserved suffix (-s3alias, --ol-s3, .mrap, --x-s3, --table-s3)");
        }
        Ok(Self(name.into()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when the name contains a dot, which breaks TLS wildcard certificates for
    /// virtual-hosted addressing, so such buckets are addressed path-style.
    pub fn has_dots(&self) -> bool {
        self.0.contains('.')
    }
}

impl fmt::Display for BucketName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for BucketName {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_names() {
        for ok in [
            "abc",
            "my-bucket",
            "my.bucket.name",
            "a1b2c3",
            &"a".repeat(63),
        ] {
            assert!(BucketName::new(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_invalid_names() {
        for bad in [
            "ab",
            &"a".repeat(64),
            "My-Bucket",
            "my_bucket",
            "-abc",
            "abc-",
            "a..b",
            "a.-b",
            "192.168.1.1",
            "xn--abc",
            "abc-s3alias",
            "abc--ol-s3",
            "ab c",
        ] {
            assert!(BucketName::new(bad).is_err(), "{bad}");
        }
    }
}
