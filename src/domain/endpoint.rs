//! Where requests go: AWS regional endpoints or a custom S3-compatible endpoint.

use super::DomainError;
use std::net::IpAddr;

/// URL scheme of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Plain HTTP (local stores, tests).
    Http,
    /// HTTPS.
    Https,
}

impl Scheme {
    /// `http` or `https`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Self::Http => 80,
            Self::Https => 443,
        }
    }
}

/// How the bucket is placed in the URL.
///
/// See <https://docs.aws.amazon.com/AmazonS3/latest/userguide/VirtualHosting.html>
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressingStyle {
    /// `https://bucket.host/key` (the default; required by new AWS features).
    VirtualHosted,
    /// `https://host/bucket/key`.
    Path,
}

/// The service endpoint: the regional AWS endpoint or a custom one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `https://s3.<region>.amazonaws.com` (regional, so CORS preflights are never redirected).
    AwsRegional,
    /// A custom endpoint such as `http://127.0.0.1:9000` or `https://minio.example.com`.
    Custom {
        /// http or https.
        scheme: Scheme,
        /// Lowercase host name or IP literal (IPv6 in brackets).
        host: String,
        /// Port, when not the scheme's default.
        port: Option<u16>,
    },
}

impl Endpoint {
    /// Parses a custom endpoint URL: `http(s)://host[:port][/]`, nothing else.
    pub fn parse(value: &str) -> Result<Self, DomainError> {
        let fail = |reason| DomainError::Endpoint {
            value: value.to_owned(),
            reason,
        };
        let url = url::Url::parse(value).map_err(|_| fail("not a valid URL"))?;
        let scheme = match url.scheme() {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            _ => return Err(fail("scheme must be http or https")),
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(fail("must not contain user information"));
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(fail("must not have a path, query or fragment"));
        }
        // The WHATWG serialisation is what browsers and the `url` crate send as `Host`
        // (e.g. `[::ffff:c000:201]` for an IPv4-mapped IPv6 address), so it is what is signed.
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| fail("must have a host"))?
            .to_ascii_lowercase();
        let port = url.port().filter(|p| *p != scheme.default_port());
        Ok(Self::Custom { scheme, host, port })
    }

    /// The scheme requests use.
    pub fn scheme(&self) -> Scheme {
        match self {
            Self::AwsRegional => Scheme::Https,
            Self::Custom { scheme, .. } => *scheme,
        }
    }

    /// True when the host is an IP literal, where virtual-hosted addressing cannot work.
    pub fn host_is_ip(&self) -> bool {
        match self {
            Self::AwsRegional => false,
            Self::Custom { host, .. } => host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
                .is_ok(),
        }
    }
}

impl std::str::FromStr for Endpoint {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_custom_endpoints() {
        let e = Endpoint::parse("http://127.0.0.1:9000").unwrap();
        assert_eq!(
            e,
            Endpoint::Custom {
                scheme: Scheme::Http,
                host: "127.0.0.1".into(),
                port: Some(9000)
            }
        );
        assert!(e.host_is_ip());
        let e = Endpoint::parse("https://MinIO.example.com:443/").unwrap();
        assert_eq!(
            e,
            Endpoint::Custom {
                scheme: Scheme::Https,
                host: "minio.example.com".into(),
                port: None
            }
        );
        assert!(!e.host_is_ip());
        assert!(Endpoint::parse("http://[::1]:9000").unwrap().host_is_ip());
        let mapped = Endpoint::parse("http://[::ffff:192.0.2.1]:9000").unwrap();
        assert!(matches!(&mapped, Endpoint::Custom { host, .. } if host == "[::ffff:c000:201]"));
        assert!(mapped.host_is_ip());
    }

    #[test]
    fn rejects_bad_endpoints() {
        for bad in [
            "ftp://x",
            "http://u:p@x",
            "http://x/path",
            "http://x/?q",
            "not a url",
            "http://x/#f",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
    }
}
