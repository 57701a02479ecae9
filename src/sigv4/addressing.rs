//! Where a bucket and key live in a URL: virtual-hosted or path-style, AWS or custom.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/userguide/VirtualHosting.html>

use super::encode_path;
use crate::domain::{AddressingStyle, BucketName, Endpoint, ObjectKey, Region, Scheme};

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

/// The style that works for this bucket and key: virtual-hosted unless path-style was asked
/// for, the bucket has dots (TLS wildcard certificates do not cover them), the host is an IP
/// literal, or the key is `soap` (which virtual-hosted S3 reserves).
fn effective_style(
    endpoint: &Endpoint,
    requested: AddressingStyle,
    bucket: &BucketName,
    key: Option<&ObjectKey>,
) -> AddressingStyle {
    let forced_path =
        bucket.has_dots() || endpoint.host_is_ip() || key.is_some_and(|k| k.as_str() == "soap");
    if forced_path {
        AddressingStyle::Path
    } else {
        requested
    }
}

/// `[bucket.]host[:port]`, built in one allocation (this runs for every signature).
fn authority(endpoint: &Endpoint, region: &Region, bucket: Option<&BucketName>) -> String {
    let mut out = String::with_capacity(96);
    if let Some(bucket) = bucket {
        out.push_str(bucket.as_str());
        out.push('.');
    }
    match endpoint {
        Endpoint::AwsRegional => {
            out.push_str("s3.");
            out.push_str(region.as_str());
            out.push('.');
            out.push_str(region.aws_dns_suffix());
        }
        Endpoint::Custom { host, port, .. } => {
            out.push_str(host);
            if let Some(port) = port {
                out.push(':');
                out.push_str(&port.to_string());
            }
        }
    }
    out
}

fn resolve(
    endpoint: &Endpoint,
    region: &Region,
    requested: AddressingStyle,
    bucket: &BucketName,
    key: Option<&ObjectKey>,
) -> ObjectAddress {
    let style = effective_style(endpoint, requested, bucket, key);
    let key_len = key.map_or(0, |k| k.as_str().len());
    let mut path = String::with_capacity(bucket.as_str().len() + 3 * key_len + 2);
    path.push('/');
    let authority = match style {
        AddressingStyle::VirtualHosted => authority(endpoint, region, Some(bucket)),
        AddressingStyle::Path => {
            path.push_str(bucket.as_str());
            path.push('/');
            authority(endpoint, region, None)
        }
    };
    if let Some(key) = key {
        encode_path(&mut path, key.as_str());
    }
    ObjectAddress {
        scheme: endpoint.scheme(),
        authority,
        path,
        style,
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
    resolve(endpoint, region, requested, bucket, Some(key))
}

/// Resolves the URL of a bucket; the path ends with `/`.
pub fn resolve_bucket(
    endpoint: &Endpoint,
    region: &Region,
    requested: AddressingStyle,
    bucket: &BucketName,
) -> BucketAddress {
    resolve(endpoint, region, requested, bucket, None)
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
