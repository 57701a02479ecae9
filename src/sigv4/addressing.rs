//! Where a bucket and key live in a URL: virtual-hosted or path-style, AWS or custom.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/userguide/VirtualHosting.html>

use super::encode_path;
use crate::domain::{AddressingStyle, BucketName, Endpoint, ObjectKey, Region, Scheme};
use std::ops::Range;

/// The URL parts of an object request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectAddress {
    /// http or https.
    pub scheme: Scheme,
    /// `host[:port]`, also the value of the signed `host` header.
    pub authority: String,
    /// The URI-encoded path (single encoding, no normalisation).
    pub path: String,
    /// The style actually used (path-style when virtual-hosted cannot work).
    pub style: AddressingStyle,
}

impl ObjectAddress {
    /// The unsigned URL: `scheme://authority/path`.
    pub fn url(&self) -> String {
        format!("{}://{}{}", self.scheme.as_str(), self.authority, self.path)
    }
}

/// The URL of a bucket (the target of a POST form upload).
pub type BucketAddress = ObjectAddress;

/// What every address of one endpoint and region shares, worked out once (a [`Signer`]
/// keeps one): the scheme, `host[:port]`, and whether the host is an IP literal.
///
/// [`Signer`]: super::Signer
#[derive(Debug, Clone)]
pub(crate) struct Host {
    scheme: Scheme,
    /// `s3.<region>.<suffix>` or the custom `host[:port]`.
    host: String,
    is_ip: bool,
}

/// Where the authority and the path stand in a URL written by [`Host::write_url`].
pub(crate) struct UrlParts {
    /// `[bucket.]host[:port]`, the value of the signed `host` header.
    pub(crate) authority: Range<usize>,
    /// The URI-encoded path.
    pub(crate) path: Range<usize>,
    /// The style actually used.
    pub(crate) style: AddressingStyle,
}

impl Host {
    /// The host part of every address at `endpoint` in `region`.
    pub(crate) fn new(endpoint: &Endpoint, region: &Region) -> Self {
        let host = match endpoint {
            Endpoint::AwsRegional => {
                format!("s3.{}.{}", region.as_str(), region.aws_dns_suffix())
            }
            Endpoint::Custom { host, port, .. } => match port {
                Some(port) => format!("{host}:{port}"),
                None => host.clone(),
            },
        };
        Self {
            scheme: endpoint.scheme(),
            host,
            is_ip: endpoint.host_is_ip(),
        }
    }

    /// The style that works for this bucket and key: virtual-hosted unless path-style was
    /// asked for, the bucket has dots (TLS wildcard certificates do not cover them), the host
    /// is an IP literal, or the key is `soap` (which virtual-hosted S3 reserves).
    fn effective_style(
        &self,
        requested: AddressingStyle,
        bucket: &BucketName,
        key: Option<&ObjectKey>,
    ) -> AddressingStyle {
        let forced_path =
            bucket.has_dots() || self.is_ip || key.is_some_and(|k| k.as_str() == "soap");
        if forced_path {
            AddressingStyle::Path
        } else {
            requested
        }
    }

    /// An upper bound of what [`Host::write_url`] appends for `bucket` and `key`.
    pub(crate) fn url_len_bound(&self, bucket: &BucketName, key: Option<&ObjectKey>) -> usize {
        let key_len = key.map_or(0, |k| k.as_str().len());
        "https://".len() + self.host.len() + 2 * bucket.as_str().len() + 3 * key_len + 4
    }

    /// Appends `scheme://authority/path` of `bucket` (and `key`) to `out`, in one pass and
    /// without an allocation of its own; the path of a bucket ends with `/`.
    pub(crate) fn write_url(
        &self,
        out: &mut String,
        requested: AddressingStyle,
        bucket: &BucketName,
        key: Option<&ObjectKey>,
    ) -> UrlParts {
        let style = self.effective_style(requested, bucket, key);
        // Each a constant, copied inline rather than by a `memcpy` call of unknown length.
        match self.scheme {
            Scheme::Https => out.push_str("https://"),
            Scheme::Http => out.push_str("http://"),
        }
        let authority_start = out.len();
        if style == AddressingStyle::VirtualHosted {
            out.push_str(bucket.as_str());
            out.push('.');
        }
        out.push_str(&self.host);
        let path_start = out.len();
        out.push('/');
        if style == AddressingStyle::Path {
            out.push_str(bucket.as_str());
            out.push('/');
        }
        if let Some(key) = key {
            encode_path(out, key.as_str());
        }
        UrlParts {
            authority: authority_start..path_start,
            path: path_start..out.len(),
            style,
        }
    }

    /// The address of `bucket` (and `key`) with owned parts.
    pub(crate) fn resolve(
        &self,
        requested: AddressingStyle,
        bucket: &BucketName,
        key: Option<&ObjectKey>,
    ) -> ObjectAddress {
        let mut url = String::with_capacity(self.url_len_bound(bucket, key));
        let parts = self.write_url(&mut url, requested, bucket, key);
        ObjectAddress {
            scheme: self.scheme,
            authority: url[parts.authority].to_owned(),
            path: url[parts.path].to_owned(),
            style: parts.style,
        }
    }
}

/// Resolves the URL of an object.
pub fn resolve_object(
    endpoint: &Endpoint,
    region: &Region,
    requested: AddressingStyle,
    bucket: &BucketName,
    key: &ObjectKey,
) -> ObjectAddress {
    Host::new(endpoint, region).resolve(requested, bucket, Some(key))
}

/// Resolves the URL of a bucket; the path ends with `/`.
pub fn resolve_bucket(
    endpoint: &Endpoint,
    region: &Region,
    requested: AddressingStyle,
    bucket: &BucketName,
) -> BucketAddress {
    Host::new(endpoint, region).resolve(requested, bucket, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> BucketName {
        BucketName::new(s).unwrap()
    }
    fn k(s: &str) -> ObjectKey {
        ObjectKey::new(s).unwrap()
    }
    fn r() -> Region {
        Region::new("eu-west-3").unwrap()
    }

    #[test]
    fn aws_virtual_hosted_uses_the_regional_endpoint() {
        let a = resolve_object(
            &Endpoint::AwsRegional,
            &r(),
            AddressingStyle::VirtualHosted,
            &b("photos"),
            &k("a b/c+d"),
        );
        assert_eq!(a.authority, "photos.s3.eu-west-3.amazonaws.com");
        assert_eq!(a.path, "/a%20b/c%2Bd");
        assert_eq!(a.scheme, Scheme::Https);
    }

    #[test]
    fn falls_back_to_path_style() {
        let dotted = resolve_object(
            &Endpoint::AwsRegional,
            &r(),
            AddressingStyle::VirtualHosted,
            &b("my.photos"),
            &k("x"),
        );
        assert_eq!(dotted.authority, "s3.eu-west-3.amazonaws.com");
        assert_eq!(dotted.path, "/my.photos/x");
        assert_eq!(dotted.style, AddressingStyle::Path);
        let ip = Endpoint::parse("http://127.0.0.1:9000").unwrap();
        let a = resolve_object(
            &ip,
            &r(),
            AddressingStyle::VirtualHosted,
            &b("bkt"),
            &k("x"),
        );
        assert_eq!(
            (a.authority.as_str(), a.path.as_str()),
            ("127.0.0.1:9000", "/bkt/x")
        );
        let soap = resolve_object(
            &Endpoint::AwsRegional,
            &r(),
            AddressingStyle::VirtualHosted,
            &b("bkt"),
            &k("soap"),
        );
        assert_eq!(soap.path, "/bkt/soap");
    }

    #[test]
    fn custom_hosts_and_bucket_urls() {
        let e = Endpoint::parse("https://minio.example.com:8443").unwrap();
        let a = resolve_bucket(&e, &r(), AddressingStyle::VirtualHosted, &b("bkt"));
        assert_eq!(
            (a.authority.as_str(), a.path.as_str()),
            ("bkt.minio.example.com:8443", "/")
        );
        let a = resolve_bucket(&e, &r(), AddressingStyle::Path, &b("bkt"));
        assert_eq!(
            (a.authority.as_str(), a.path.as_str()),
            ("minio.example.com:8443", "/bkt/")
        );
    }
}
