//! Independent references: URI encoding, addressing, URL parsing and the signing key, written
//! out here from the specification instead of taken from the signer.

use chrono::{DateTime, TimeZone, Utc};
use hmac::{Hmac, Mac};
use s3_broker::domain::{AddressingStyle, Endpoint};
use std::fmt::Write as _;

/// S3's `UriEncode`: unreserved characters literal, everything else `%XX` of its UTF-8 bytes
/// with uppercase hex; `/` kept only in paths.
pub(crate) fn uri_encode(text: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(char::from(b));
            }
            b'/' if keep_slash => out.push('/'),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

pub(crate) fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// `HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), "s3"), "aws4_request")`.
pub(crate) fn reference_signing_key(secret: &str, date: &str, region: &str) -> Vec<u8> {
    let k_date = hmac_sha256(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac_sha256(&k_date, region.as_bytes());
    let k_service = hmac_sha256(&k_region, b"s3");
    hmac_sha256(&k_service, b"aws4_request")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HostKind {
    Domain,
    Ipv4,
    Ipv6,
}

/// A service endpoint as configured (the text given to `Endpoint::parse`).
#[derive(Debug, Clone)]
pub(crate) enum EndpointSpec {
    Aws,
    Custom {
        https: bool,
        host: String,
        kind: HostKind,
        port: Option<u16>,
        trailing_slash: bool,
    },
}

impl EndpointSpec {
    pub(crate) fn url(&self) -> String {
        match self {
            Self::Aws => String::new(),
            Self::Custom {
                https,
                host,
                port,
                trailing_slash,
                ..
            } => {
                let mut url = format!("{}://{host}", if *https { "https" } else { "http" });
                if let Some(port) = port {
                    let _ = write!(url, ":{port}");
                }
                if *trailing_slash {
                    url.push('/');
                }
                url
            }
        }
    }

    pub(crate) fn endpoint(&self) -> Endpoint {
        match self {
            Self::Aws => Endpoint::AwsRegional,
            Self::Custom { .. } => Endpoint::parse(&self.url()).expect("generated endpoint"),
        }
    }

    pub(crate) fn scheme(&self) -> &'static str {
        match self {
            Self::Custom { https: false, .. } => "http",
            _ => "https",
        }
    }

    pub(crate) fn host_is_ip(&self) -> bool {
        matches!(
            self,
            Self::Custom {
                kind: HostKind::Ipv4 | HostKind::Ipv6,
                ..
            }
        )
    }

    /// The service's `host[:port]` as an HTTP client sends it in `Host`: the WHATWG
    /// serialisation of the host (lowercase, IPv6 compressed) and the port unless it is the
    /// scheme's default.
    pub(crate) fn base_authority(&self, region: &str) -> String {
        match self {
            Self::Aws => {
                let suffix = if region.starts_with("cn-") {
                    "amazonaws.com.cn"
                } else {
                    "amazonaws.com"
                };
                format!("s3.{region}.{suffix}")
            }
            Self::Custom { https, port, .. } => {
                let parsed = url::Url::parse(&self.url()).expect("generated endpoint");
                let host = parsed.host_str().expect("has a host").to_owned();
                let default = if *https { 443 } else { 80 };
                match port {
                    Some(p) if *p != default => format!("{host}:{p}"),
                    _ => host,
                }
            }
        }
    }
}

/// Scheme, authority and encoded path of an object (or of the bucket when `key` is None),
/// following the documented rules: virtual-hosted unless path-style is asked for, the bucket
/// has dots, the host is an IP literal or the key is `soap`.
pub(crate) fn expected_address(
    endpoint: &EndpointSpec,
    region: &str,
    style: AddressingStyle,
    bucket: &str,
    key: Option<&str>,
) -> (String, String, String) {
    let path_style = style == AddressingStyle::Path
        || bucket.contains('.')
        || endpoint.host_is_ip()
        || key == Some("soap");
    let base = endpoint.base_authority(region);
    let (authority, mut path) = if path_style {
        (base, format!("/{bucket}/"))
    } else {
        (format!("{bucket}.{base}"), "/".to_owned())
    };
    if let Some(key) = key {
        path.push_str(&uri_encode(key, true));
    }
    (endpoint.scheme().to_owned(), authority, path)
}

/// A URL split into scheme, authority, path and its sorted raw `k=v` query pairs.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct UrlParts {
    pub scheme: String,
    pub authority: String,
    pub path: String,
    pub query: Vec<String>,
}

pub(crate) fn split_url(url: &str) -> UrlParts {
    let (scheme, rest) = url.split_once("://").expect("absolute URL");
    let slash = rest.find('/').expect("URL has a path");
    let (authority, path_and_query) = rest.split_at(slash);
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let mut query: Vec<String> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    query.sort();
    UrlParts {
        scheme: scheme.to_owned(),
        authority: authority.to_owned(),
        path: path.to_owned(),
        query,
    }
}

pub(crate) fn query_value<'a>(parts: &'a UrlParts, name: &str) -> Option<&'a str> {
    parts
        .query
        .iter()
        .find_map(|p| p.strip_prefix(name).and_then(|rest| rest.strip_prefix('=')))
}

/// The SigV4 canonical form of a header value: trimmed, runs of spaces collapsed.
pub(crate) fn canonical_header_value(raw: &str) -> String {
    raw.split(' ')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

pub(crate) fn amz_date(at: DateTime<Utc>) -> String {
    at.format("%Y%m%dT%H%M%SZ").to_string()
}

pub(crate) fn date_stamp(at: DateTime<Utc>) -> String {
    at.format("%Y%m%d").to_string()
}

pub(crate) fn truncate(at: DateTime<Utc>) -> DateTime<Utc> {
    Utc.timestamp_opt(at.timestamp(), 0).unwrap()
}
