//! Property tests of the SigV4 core against independent references.
//!
//! 1. Presigned URLs are compared with the `aws-sigv4` crate configured for S3 (single encoding,
//!    no path normalisation, signature in the query, `UNSIGNED-PAYLOAD`, session token signed).
//!    The URL fed to `aws-sigv4` is built here from the inputs (addressing rules and URI
//!    encoding written out in this file), not taken from the signer's output.
//! 2. POST policies are decoded with `serde_json` and checked field by field against their
//!    conditions; the signature is recomputed with a signing key derived here with `hmac`.
//! 3. Domain validators never panic on arbitrary text, and what they accept keeps their
//!    documented invariants.
//!
//! Header exclusion: by default `aws-sigv4` leaves `authorization`, `user-agent`,
//! `x-amzn-trace-id` and `transfer-encoding` out of the signature (proxies change them), and for
//! presigned URLs it always leaves out `x-amz-user-agent` and `x-amz-checksum-mode`. s3-broker
//! refuses to sign the first four and `x-amz-user-agent` at all (`HeaderName` reserves them, as
//! it does hop-by-hop headers), and signs every other header it is asked to and returns it in
//! `PresignedRequest.headers`. To compare like with like, the reference's exclusion list is
//! cleared (`excluded_headers = Some(vec![])`) and `x-amz-checksum-mode` is never generated.

use aws_credential_types::Credentials as AwsCredentials;
use aws_sigv4::http_request::{
    PercentEncodingMode, SessionTokenMode, SignableBody, SignableRequest, SignatureLocation,
    SigningSettings, UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, TimeZone, Utc};
use hmac::{Hmac, Mac};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use s3_broker::domain::{
    AccessKeyId, AddressingStyle, BucketName, Checksum, ChecksumAlgorithm, ContentMd5, ContentType,
    Credentials, Endpoint, Expiry, HeaderName, HeaderValue, ObjectKey, PartNumber, Region,
    SessionToken, UploadId,
};
use s3_broker::sigv4::{
    ContentTypeRule, KeyRule, PostForm, PostPolicyRequest, PresignRequest, QueryParams,
    S3Operation, SignedHeaders, Signer, SigningError,
};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::SystemTime;

const FIVE_GIB: u64 = 5 * 1024 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Independent helpers: URI encoding, addressing, signing key.
// ---------------------------------------------------------------------------------------------

/// S3's `UriEncode`: unreserved characters literal, everything else `%XX` of its UTF-8 bytes
/// with uppercase hex; `/` kept only in paths.
fn uri_encode(text: &str, keep_slash: bool) -> String {
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

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// `HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), "s3"), "aws4_request")`.
fn reference_signing_key(secret: &str, date: &str, region: &str) -> Vec<u8> {
    let k_date = hmac_sha256(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac_sha256(&k_date, region.as_bytes());
    let k_service = hmac_sha256(&k_region, b"s3");
    hmac_sha256(&k_service, b"aws4_request")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HostKind {
    Domain,
    Ipv4,
    Ipv6,
}

/// A service endpoint as configured (the text given to `Endpoint::parse`).
#[derive(Debug, Clone)]
enum EndpointSpec {
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
    fn url(&self) -> String {
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

    fn endpoint(&self) -> Endpoint {
        match self {
            Self::Aws => Endpoint::AwsRegional,
            Self::Custom { .. } => Endpoint::parse(&self.url()).expect("generated endpoint"),
        }
    }

    fn scheme(&self) -> &'static str {
        match self {
            Self::Custom { https: false, .. } => "http",
            _ => "https",
        }
    }

    fn host_is_ip(&self) -> bool {
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
    fn base_authority(&self, region: &str) -> String {
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
fn expected_address(
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
struct UrlParts {
    scheme: String,
    authority: String,
    path: String,
    query: Vec<String>,
}

fn split_url(url: &str) -> UrlParts {
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

fn query_value<'a>(parts: &'a UrlParts, name: &str) -> Option<&'a str> {
    parts
        .query
        .iter()
        .find_map(|p| p.strip_prefix(name).and_then(|rest| rest.strip_prefix('=')))
}

/// The SigV4 canonical form of a header value: trimmed, runs of spaces collapsed.
fn canonical_header_value(raw: &str) -> String {
    raw.split(' ')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn amz_date(at: DateTime<Utc>) -> String {
    at.format("%Y%m%dT%H%M%SZ").to_string()
}

fn date_stamp(at: DateTime<Utc>) -> String {
    at.format("%Y%m%d").to_string()
}

fn truncate(at: DateTime<Utc>) -> DateTime<Utc> {
    Utc.timestamp_opt(at.timestamp(), 0).unwrap()
}

/// `cases` cases (`PROPTEST_CASES` overrides it for deeper runs), without regression files.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(cases),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Strategies.
// ---------------------------------------------------------------------------------------------

/// Pieces of text S3 keys and values are made of: the characters SigV4 encoders get wrong.
fn text_fragment() -> impl Strategy<Value = String> {
    const SPECIAL: &[&str] = &[
        " ",
        "  ",
        "+",
        "~",
        "$",
        "%",
        "!",
        "'",
        "(",
        ")",
        "*",
        "&",
        "=",
        "?",
        "#",
        "..",
        ".",
        "//",
        "/",
        "-",
        "_",
        ":",
        "@",
        ",",
        ";",
        "[",
        "]",
        "\"",
        "<",
        ">",
        "\\",
        "^",
        "`",
        "{",
        "}",
        "|",
        "%20",
        "%2F",
        "%25",
        "+%2B",
        "é",
        "€",
        "日本語",
        "😀",
        "\u{a0}",
        "\u{200b}",
        "\u{feff}",
        "a\u{301}",
        "\u{2028}",
    ];
    prop_oneof![
        4 => "[a-zA-Z0-9]{1,8}",
        4 => prop::sample::select(SPECIAL).prop_map(str::to_owned),
        1 => any::<char>()
            .prop_filter("no control characters", |c| !c.is_control())
            .prop_map(String::from),
    ]
}

fn fragments(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(text_fragment(), 0..max).prop_map(|f| f.concat())
}

fn object_key() -> impl Strategy<Value = ObjectKey> {
    prop_oneof![
        1 => Just("soap".to_owned()),
        1 => "[a-z]{1,4}",
        1 => "[a-z/]{1000,1024}",
        20 => (
            prop::sample::select(&["", "/", "//", "../", "./"][..]),
            prop::collection::vec(text_fragment(), 1..12),
        )
            .prop_map(|(lead, f)| format!("{lead}{}", f.concat())),
    ]
    .prop_filter_map("valid object key", |k| ObjectKey::new(k).ok())
}

fn bucket() -> impl Strategy<Value = BucketName> {
    prop_oneof![
        3 => "[a-z0-9][a-z0-9-]{1,30}[a-z0-9]",
        1 => "[a-z0-9]{1,10}(\\.[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?){1,3}",
    ]
    .prop_filter_map("valid bucket", |b| BucketName::new(b).ok())
}

fn region() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(
            &[
                "us-east-1",
                "eu-west-3",
                "ap-southeast-2",
                "cn-north-1",
                "garage",
                "auto"
            ][..]
        )
        .prop_map(str::to_owned),
        "[a-z]{2}-[a-z]{4,9}-[1-9]",
    ]
}

fn endpoint() -> impl Strategy<Value = EndpointSpec> {
    let domain =
        "[a-zA-Z]([a-zA-Z0-9-]{0,6}[a-zA-Z0-9])?(\\.[a-zA-Z]([a-zA-Z0-9-]{0,6}[a-zA-Z0-9])?){0,3}"
            .prop_filter("no punycode labels", |d: &String| {
                !d.to_ascii_lowercase().contains("xn--")
            })
            .prop_map(|d| (d, HostKind::Domain));
    let ipv4 = any::<[u8; 4]>().prop_map(|o| {
        (
            format!("{}.{}.{}.{}", o[0], o[1], o[2], o[3]),
            HostKind::Ipv4,
        )
    });
    let ipv6 = prop_oneof![
        prop::sample::select(
            &[
                "[::1]",
                "[2001:db8::1]",
                "[0:0:0:0:0:0:0:1]",
                "[FE80::1]",
                "[2001:DB8:0:0:1:0:0:1]",
                "[64:ff9b::192.0.2.1]",
                "[::192.0.2.1]",
            ][..]
        )
        .prop_map(str::to_owned),
        prop::array::uniform8(prop_oneof![3 => Just(0u16), 1 => any::<u16>()]).prop_map(
            |s| format!(
                "[{:x}:{:x}:{:x}:{:x}:{:x}:{:x}:{:x}:{:x}]",
                s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]
            )
        ),
    ]
    .prop_map(|h| (h, HostKind::Ipv6));
    let port = prop_oneof![
        Just(None),
        Just(Some(80u16)),
        Just(Some(443u16)),
        (1u16..=65535).prop_map(Some),
    ];
    let custom = (
        any::<bool>(),
        prop_oneof![4 => domain, 1 => ipv4, 1 => ipv6],
        port,
        any::<bool>(),
    )
        .prop_map(
            |(https, (host, kind), port, trailing_slash)| EndpointSpec::Custom {
                https,
                host,
                kind,
                port,
                trailing_slash,
            },
        );
    prop_oneof![1 => Just(EndpointSpec::Aws), 2 => custom]
}

fn addressing() -> impl Strategy<Value = AddressingStyle> {
    prop_oneof![
        Just(AddressingStyle::VirtualHosted),
        Just(AddressingStyle::Path)
    ]
}

/// Signing instants: anywhere in 1970..2100, right around midnight (the date of the credential
/// scope changes), around New Year, and rarely up to the year 9999.
fn signing_time() -> impl Strategy<Value = DateTime<Utc>> {
    const Y2100: i64 = 4_102_444_800;
    const Y9999_DEC: i64 = 253_400_000_000;
    let nanos = 0u32..1_000_000_000;
    prop_oneof![
        3 => (0i64..Y2100, nanos.clone()),
        3 => (
            0i64..(Y2100 / 86_400),
            prop_oneof![0i64..3, 86_397i64..86_400],
            nanos.clone()
        )
            .prop_map(|(day, offset, n)| (day * 86_400 + offset, n)),
        1 => (1970i32..2100, any::<bool>(), nanos.clone()).prop_map(|(year, end, n)| {
            let t = if end {
                Utc.with_ymd_and_hms(year, 12, 31, 23, 59, 59)
            } else {
                Utc.with_ymd_and_hms(year, 1, 1, 0, 0, 0)
            };
            (t.unwrap().timestamp(), n)
        }),
        1 => (0i64..Y9999_DEC, nanos),
    ]
    .prop_map(|(secs, n)| Utc.timestamp_opt(secs, n).unwrap())
}

/// Credentials as plain strings, so a failing case prints them.
#[derive(Debug, Clone)]
struct CredSpec {
    akid: String,
    secret: String,
    token: Option<String>,
    /// Expiry of temporary credentials: whole seconds after the truncated signing time, plus
    /// nanoseconds.
    expires_after: Option<(i64, u32)>,
}

impl CredSpec {
    fn ours(&self, at: DateTime<Utc>) -> Credentials {
        let mut c = Credentials::from_parts(&self.akid, &self.secret, self.token.as_deref())
            .expect("generated credentials are valid");
        c.expires_at = self.expires_after.map(|(secs, nanos)| {
            truncate(at) + Duration::seconds(secs) + Duration::nanoseconds(i64::from(nanos))
        });
        c
    }

    fn identity(&self) -> Identity {
        AwsCredentials::new(
            self.akid.clone(),
            self.secret.clone(),
            self.token.clone(),
            None,
            "proptest",
        )
        .into()
    }

    /// The lifetime the signer must use, or None when the credentials are already dead.
    fn lifetime(&self, requested: u32) -> Option<u32> {
        match self.expires_after {
            None => Some(requested),
            Some((secs, _)) if secs < 1 => None,
            Some((secs, _)) => Some(requested.min(u32::try_from(secs).unwrap())),
        }
    }
}

fn credentials() -> impl Strategy<Value = CredSpec> {
    // Small pools make one signer see the same id with another secret, and the same key twice.
    let akid = prop_oneof![
        3 => prop::sample::select(&["AKIAIOSFODNN7EXAMPLE", "ASIAEXAMPLE", "AK"][..])
            .prop_map(str::to_owned),
        1 => "[!-.0-~]{1,32}",
    ];
    let secret = prop_oneof![
        3 => prop::sample::select(
            &["wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "rotated-secret", "s"][..]
        )
        .prop_map(str::to_owned),
        1 => any::<String>().prop_filter("non-empty", |s| !s.is_empty()),
    ];
    let token = prop::option::of(prop_oneof!["[A-Za-z0-9+/]{40,200}={0,2}", "[!-~]{1,64}",]);
    let expires_after = prop::option::weighted(
        0.25,
        (
            prop_oneof![-5i64..=3, 1i64..=700_000],
            prop_oneof![Just(0u32), 1u32..1_000_000_000],
        ),
    );
    (akid, secret, token, expires_after).prop_map(|(akid, secret, token, expires_after)| CredSpec {
        akid,
        secret,
        token,
        expires_after,
    })
}

fn upload_id() -> impl Strategy<Value = UploadId> {
    prop_oneof!["[A-Za-z0-9._-]{20,80}", "[!-~]{1,40}", "[!-~é€😀]{1,20}",]
        .prop_filter_map("valid upload id", |s| UploadId::new(s).ok())
}

fn operation() -> impl Strategy<Value = S3Operation> {
    prop_oneof![
        Just(S3Operation::GetObject),
        Just(S3Operation::HeadObject),
        Just(S3Operation::PutObject),
        Just(S3Operation::DeleteObject),
        Just(S3Operation::CreateMultipartUpload),
        (upload_id(), 1u64..=10_000).prop_map(|(upload_id, n)| S3Operation::UploadPart {
            upload_id,
            part_number: PartNumber::new(n).unwrap(),
        }),
        upload_id().prop_map(|upload_id| S3Operation::CompleteMultipartUpload { upload_id }),
        upload_id().prop_map(|upload_id| S3Operation::ListParts { upload_id }),
        upload_id().prop_map(|upload_id| S3Operation::AbortMultipartUpload { upload_id }),
    ]
}

/// Method and operation query parameters, from the S3 API reference.
fn expected_operation(op: &S3Operation) -> (&'static str, Vec<(String, String)>) {
    let id = |u: &UploadId| ("uploadId".to_owned(), u.as_str().to_owned());
    match op {
        S3Operation::GetObject => ("GET", vec![]),
        S3Operation::HeadObject => ("HEAD", vec![]),
        S3Operation::PutObject => ("PUT", vec![]),
        S3Operation::DeleteObject => ("DELETE", vec![]),
        S3Operation::CreateMultipartUpload => ("POST", vec![("uploads".into(), String::new())]),
        S3Operation::UploadPart {
            upload_id,
            part_number,
        } => (
            "PUT",
            vec![
                ("partNumber".into(), part_number.get().to_string()),
                id(upload_id),
            ],
        ),
        S3Operation::CompleteMultipartUpload { upload_id } => ("POST", vec![id(upload_id)]),
        S3Operation::ListParts { upload_id } => ("GET", vec![id(upload_id)]),
        S3Operation::AbortMultipartUpload { upload_id } => ("DELETE", vec![id(upload_id)]),
    }
}

/// HTTP token characters, for metadata names.
const TOKEN_CHARS: &[char] = &[
    'a', 'b', 'z', 'A', 'Z', '0', '9', '-', '_', '.', '!', '#', '$', '%', '&', '\'', '*', '+', '^',
    '`', '|', '~',
];

fn header_name() -> impl Strategy<Value = String> {
    let fixed = prop::sample::select(
        &[
            "Content-Type",
            "content-type",
            "Content-Length",
            "Content-MD5",
            "x-amz-checksum-sha256",
            "X-Amz-Checksum-SHA256",
            "x-amz-sdk-checksum-algorithm",
            "x-amz-server-side-encryption",
            "x-amz-server-side-encryption-customer-key-MD5",
            "If-None-Match",
            "if-none-match",
            "Cache-Control",
            "x-amz-tagging",
            "Content-Disposition",
            "Content-Encoding",
            "x-amz-storage-class",
        ][..],
    )
    .prop_map(str::to_owned);
    let meta = (
        prop::sample::select(&["x-amz-meta-", "X-Amz-Meta-"][..]),
        prop::collection::vec(prop::sample::select(TOKEN_CHARS), 1..12),
    )
        .prop_map(|(p, chars)| format!("{p}{}", chars.into_iter().collect::<String>()));
    prop_oneof![2 => fixed, 1 => meta]
}

fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "( {0,4}[!-~]{1,8}){0,4} {0,4}",
        Just("*".to_owned()),
        Just("AES256".to_owned()),
        Just("text/plain;  charset=utf-8".to_owned()),
        Just(String::new()),
    ]
}

fn query_param() -> impl Strategy<Value = (String, String)> {
    let disposition = (fragments(6), fragments(6)).prop_map(|(fallback, name)| {
        format!(
            "attachment; filename=\"{fallback}\"; filename*=UTF-8''{}",
            uri_encode(&name, false)
        )
    });
    prop_oneof![
        (Just("response-content-disposition".to_owned()), disposition),
        (
            prop::sample::select(
                &[
                    "response-content-disposition",
                    "response-content-type",
                    "response-cache-control",
                    "response-content-language",
                    "versionId",
                    "x-id",
                    "Weird Name+&=",
                ][..]
            )
            .prop_map(str::to_owned),
            fragments(8)
        ),
        (Just("versionId".to_owned()), "[A-Za-z0-9._]{1,32}"),
    ]
}

// ---------------------------------------------------------------------------------------------
// 1. Presigned URLs against aws-sigv4.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct PresignSpec {
    operation: S3Operation,
    bucket: BucketName,
    key: ObjectKey,
    /// Raw headers in insertion order; names may repeat (case-insensitively): last one wins.
    headers: Vec<(String, String)>,
    /// Raw query parameters in insertion order; names may repeat: last one wins.
    query: Vec<(String, String)>,
    expires: u32,
    creds: CredSpec,
    at: DateTime<Utc>,
    /// Give aws-sigv4 an explicit `host` header instead of letting it derive one from the URL.
    explicit_host: bool,
}

#[derive(Debug, Clone)]
struct PresignCase {
    region: String,
    endpoint: EndpointSpec,
    style: AddressingStyle,
    /// Signed in order by one signer, so its signing-key cache sees several credentials/dates.
    signings: Vec<PresignSpec>,
}

fn presign_spec() -> impl Strategy<Value = PresignSpec> {
    (
        operation(),
        bucket(),
        object_key(),
        prop::collection::vec((header_name(), header_value()), 0..6),
        prop::collection::vec(query_param(), 0..4),
        prop_oneof![Just(1u32), Just(604_800u32), 1u32..=604_800],
        credentials(),
        signing_time(),
        any::<bool>(),
    )
        .prop_map(
            |(operation, bucket, key, headers, query, expires, creds, at, explicit_host)| {
                PresignSpec {
                    operation,
                    bucket,
                    key,
                    headers,
                    query,
                    expires,
                    creds,
                    at,
                    explicit_host,
                }
            },
        )
}

fn presign_case() -> impl Strategy<Value = PresignCase> {
    (
        region(),
        endpoint(),
        addressing(),
        prop::collection::vec(presign_spec(), 1..=3),
    )
        .prop_map(|(region, endpoint, style, signings)| PresignCase {
            region,
            endpoint,
            style,
            signings,
        })
}

/// Signs with aws-sigv4 set up for S3 presigning; returns the URL and the signature.
fn reference_presign(
    method: &str,
    unsigned_url: &str,
    headers: &[(String, String)],
    region: &str,
    creds: &CredSpec,
    at: DateTime<Utc>,
    expires: u32,
) -> (String, String) {
    let identity = creds.identity();
    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    settings.signature_location = SignatureLocation::QueryParams;
    settings.session_token_mode = SessionTokenMode::Include;
    settings.expires_in = Some(std::time::Duration::from_secs(u64::from(expires)));
    // See the module docs: s3-broker signs every header it returns.
    settings.excluded_headers = Some(Vec::new());
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("s3")
        .time(SystemTime::from(at))
        .settings(settings)
        .build()
        .expect("complete signing params")
        .into();
    let signable = SignableRequest::new(
        method,
        unsigned_url,
        headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
        SignableBody::UnsignedPayload,
    )
    .expect("signable request");
    let (instructions, signature) = sign(signable, &params)
        .expect("aws-sigv4 signs")
        .into_parts();
    let mut request = http::Request::builder()
        .method(method)
        .uri(unsigned_url)
        .body(())
        .expect("valid request");
    instructions.apply_to_request_http1x(&mut request);
    (request.uri().to_string(), signature)
}

fn check_presign(
    signer: &Signer,
    case: &PresignCase,
    spec: &PresignSpec,
) -> Result<(), TestCaseError> {
    let mut request = PresignRequest::new(
        spec.operation.clone(),
        spec.bucket.clone(),
        spec.key.clone(),
        Expiry::from_secs(u64::from(spec.expires)).unwrap(),
    );
    let mut headers: BTreeMap<String, (String, String)> = BTreeMap::new();
    for (name, value) in &spec.headers {
        request
            .headers
            .insert(name, value)
            .map_err(|e| TestCaseError::fail(format!("header {name:?}: {e}")))?;
        headers.insert(name.to_ascii_lowercase(), (name.clone(), value.clone()));
    }
    let mut query: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in &spec.query {
        request
            .query
            .insert(name, value)
            .map_err(|e| TestCaseError::fail(format!("query {name:?}: {e}")))?;
        query.insert(name.clone(), value.clone());
    }

    let result = signer.presign_traced(&spec.creds.ours(spec.at), &request, spec.at);
    let Some(lifetime) = spec.creds.lifetime(spec.expires) else {
        prop_assert!(
            matches!(result, Err(SigningError::CredentialsExpired(_))),
            "expired credentials must be refused, got {result:?}"
        );
        return Ok(());
    };
    let (ours, trace) = result.map_err(|e| TestCaseError::fail(format!("signing failed: {e}")))?;

    // The request the grant implies, built independently of the signer.
    let (method, op_params) = expected_operation(&spec.operation);
    let (scheme, authority, path) = expected_address(
        &case.endpoint,
        &case.region,
        case.style,
        spec.bucket.as_str(),
        Some(spec.key.as_str()),
    );
    let mut unsigned_url = format!("{scheme}://{authority}{path}");
    let mut pairs: Vec<String> = op_params
        .iter()
        .map(|(k, v)| format!("{}={}", uri_encode(k, false), uri_encode(v, false)))
        .collect();
    pairs.extend(
        query
            .iter()
            .map(|(k, v)| format!("{}={}", uri_encode(k, false), uri_encode(v, false))),
    );
    if !pairs.is_empty() {
        unsigned_url.push('?');
        unsigned_url.push_str(&pairs.join("&"));
    }
    let mut reference_headers: Vec<(String, String)> = headers.values().cloned().collect();
    if spec.explicit_host {
        reference_headers.push(("host".to_owned(), authority.clone()));
    }
    let (reference_url, reference_signature) = reference_presign(
        method,
        &unsigned_url,
        &reference_headers,
        &case.region,
        &spec.creds,
        spec.at,
        lifetime,
    );

    let our_parts = split_url(&ours.url);
    let reference_parts = split_url(&reference_url);
    prop_assert_eq!(ours.method.as_str(), method);
    prop_assert_eq!(&our_parts.scheme, &scheme);
    prop_assert_eq!(&our_parts.authority, &authority);
    prop_assert_eq!(&our_parts.path, &path);
    prop_assert_eq!(
        &our_parts,
        &reference_parts,
        "\nours:      {}\nreference: {}\ncanonical request:\n{}",
        ours.url,
        reference_url,
        trace.canonical_request
    );
    prop_assert_eq!(
        query_value(&our_parts, "X-Amz-Signature"),
        Some(reference_signature.as_str())
    );
    prop_assert_eq!(&trace.signature, &reference_signature);
    let date_time = amz_date(spec.at);
    prop_assert_eq!(
        query_value(&our_parts, "X-Amz-Date"),
        Some(date_time.as_str())
    );
    let expires = lifetime.to_string();
    prop_assert_eq!(
        query_value(&our_parts, "X-Amz-Expires"),
        Some(expires.as_str())
    );
    prop_assert_eq!(
        query_value(&our_parts, "X-Amz-Security-Token").is_some(),
        spec.creds.token.is_some()
    );

    // The headers handed to the client are exactly the signed ones except host.
    let signed = query_value(&reference_parts, "X-Amz-SignedHeaders").unwrap_or_default();
    let signed = percent_encoding::percent_decode_str(signed).decode_utf8_lossy();
    let mut signed_names: Vec<&str> = signed.split(';').filter(|n| *n != "host").collect();
    signed_names.sort_unstable();
    let mut returned: Vec<(String, String)> = ours.headers.clone();
    returned.sort();
    let expected: Vec<(String, String)> = headers
        .iter()
        .map(|(lower, (_, raw))| (lower.clone(), canonical_header_value(raw)))
        .collect();
    prop_assert_eq!(&returned, &expected);
    let returned_names: Vec<&str> = returned.iter().map(|(n, _)| n.as_str()).collect();
    prop_assert_eq!(returned_names, signed_names);

    prop_assert_eq!(ours.signed_at, truncate(spec.at));
    prop_assert_eq!(
        ours.expires_at,
        truncate(spec.at) + Duration::seconds(i64::from(lifetime))
    );
    Ok(())
}

proptest! {
    #![proptest_config(config(256))]

    /// Every presigned URL equals the one aws-sigv4 makes for the same request.
    #[test]
    fn presigned_urls_match_aws_sigv4(case in presign_case()) {
        let signer = Signer::new(
            Region::new(case.region.clone()).unwrap(),
            case.endpoint.endpoint(),
            case.style,
        );
        for spec in &case.signings {
            check_presign(&signer, &case, spec)?;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 2. POST policies, decoded and checked independently.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct PostCase {
    region: String,
    endpoint: EndpointSpec,
    style: AddressingStyle,
    creds: CredSpec,
    at: DateTime<Utc>,
    bucket: BucketName,
    key: KeyRule,
    content_type: Option<ContentTypeRule>,
    size: Option<(u64, u64)>,
    fields: Vec<(String, String)>,
    expires: u32,
}

impl PostCase {
    fn request(&self) -> PostPolicyRequest {
        PostPolicyRequest {
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            content_type: self.content_type.clone(),
            size: self.size,
            fields: self.fields.clone(),
            expires: Expiry::from_secs(u64::from(self.expires)).unwrap(),
        }
    }

    fn sign(&self) -> Result<PostForm, SigningError> {
        Signer::new(
            Region::new(self.region.clone()).unwrap(),
            self.endpoint.endpoint(),
            self.style,
        )
        .post_policy(&self.creds.ours(self.at), &self.request(), self.at)
    }
}

fn key_rule() -> impl Strategy<Value = KeyRule> {
    prop_oneof![
        object_key().prop_map(KeyRule::Exact),
        prop_oneof![
            Just(String::new()),
            "uploads/[a-z0-9]{1,12}/",
            fragments(10)
        ]
        .prop_map(KeyRule::Prefix),
    ]
}

fn content_type_rule() -> impl Strategy<Value = Option<ContentTypeRule>> {
    let exact = prop_oneof![
        prop::sample::select(
            &[
                "image/png",
                "Text/Plain; charset=utf-8",
                "application/vnd.api+json",
                "multipart/form-data; boundary=\"a b\"",
            ][..]
        )
        .prop_map(str::to_owned),
        "[a-z]{1,8}/[a-z0-9.+-]{1,12}",
    ]
    .prop_filter_map("valid content type", |c| ContentType::new(c).ok());
    let prefix = prop_oneof![
        prop::sample::select(&["", "image/", "video/", "text/plain; charset=", "$"][..])
            .prop_map(str::to_owned),
        fragments(4),
    ];
    prop_oneof![
        1 => Just(None),
        2 => exact.prop_map(|c| Some(ContentTypeRule::Exact(c))),
        2 => prefix.prop_map(|p| Some(ContentTypeRule::Prefix(p))),
    ]
}

fn size_range() -> impl Strategy<Value = Option<(u64, u64)>> {
    prop::option::of(
        prop_oneof![
            (0u64..=FIVE_GIB, 0u64..=FIVE_GIB),
            (0u64..10, 0u64..10),
            Just((0, FIVE_GIB)),
            Just((FIVE_GIB, FIVE_GIB)),
        ]
        .prop_map(|(a, b)| (a.min(b), a.max(b))),
    )
}

fn form_field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(
            &[
                "acl",
                "success_action_status",
                "success_action_redirect",
                "Cache-Control",
                "Content-Disposition",
                "Content-Encoding",
                "Expires",
                "tagging",
                "x-amz-server-side-encryption",
                "x-amz-server-side-encryption-aws-kms-key-id",
                "x-amz-storage-class",
                "x-amz-checksum-algorithm",
                "x-amz-checksum-sha256",
                "Content-Type",
            ][..]
        )
        .prop_map(str::to_owned),
        1 => "x-amz-meta-[a-zA-Z0-9_-]{1,20}",
    ]
}

fn form_field_value() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(&["private", "public-read", "201", "AES256", "SHA256", ""][..])
            .prop_map(str::to_owned),
        fragments(10),
        "[A-Za-z0-9+/]{43}=".prop_map(String::from),
    ]
}

/// Valid requests: field names unique (case-insensitively), no `Content-Type` field when a
/// content-type rule is given.
fn post_case() -> impl Strategy<Value = PostCase> {
    (
        (
            region(),
            endpoint(),
            addressing(),
            credentials(),
            signing_time(),
        ),
        (
            bucket(),
            key_rule(),
            content_type_rule(),
            size_range(),
            prop::collection::vec((form_field_name(), form_field_value()), 0..6),
            1u32..=604_800,
        ),
    )
        .prop_map(
            |(
                (region, endpoint, style, creds, at),
                (bucket, key, content_type, size, raw_fields, expires),
            )| {
                let mut fields: Vec<(String, String)> = Vec::new();
                for (name, value) in raw_fields {
                    let clash = fields.iter().any(|(n, _)| n.eq_ignore_ascii_case(&name))
                        || (content_type.is_some() && name.eq_ignore_ascii_case("content-type"));
                    if !clash {
                        fields.push((name, value));
                    }
                }
                PostCase {
                    region,
                    endpoint,
                    style,
                    creds,
                    at,
                    bucket,
                    key,
                    content_type,
                    size,
                    fields,
                    expires,
                }
            },
        )
}

/// A condition of the decoded policy.
#[derive(Debug)]
enum Condition<'a> {
    Bucket(&'a str),
    Exact(&'a str, &'a str),
    StartsWith(&'a str, &'a str),
    LengthRange(u64, u64),
}

fn parse_condition(value: &Value) -> Result<Condition<'_>, TestCaseError> {
    let bad = || TestCaseError::fail(format!("unexpected condition {value}"));
    match value {
        Value::Object(map) => {
            prop_assert_eq!(map.len(), 1, "one field per condition object: {}", value);
            let (name, v) = map.iter().next().ok_or_else(bad)?;
            let v = v.as_str().ok_or_else(bad)?;
            if name == "bucket" {
                Ok(Condition::Bucket(v))
            } else {
                Ok(Condition::Exact(name, v))
            }
        }
        Value::Array(items) => match items.as_slice() {
            [
                Value::String(op),
                Value::String(field),
                Value::String(prefix),
            ] if op == "starts-with" => {
                let field = field.strip_prefix('$').ok_or_else(bad)?;
                Ok(Condition::StartsWith(field, prefix))
            }
            [Value::String(op), Value::String(field), Value::String(v)] if op == "eq" => {
                let field = field.strip_prefix('$').ok_or_else(bad)?;
                Ok(Condition::Exact(field, v))
            }
            [Value::String(op), min, max] if op == "content-length-range" => {
                Ok(Condition::LengthRange(
                    min.as_u64().ok_or_else(bad)?,
                    max.as_u64().ok_or_else(bad)?,
                ))
            }
            _ => Err(bad()),
        },
        _ => Err(bad()),
    }
}

/// Checks a signed form against its request, decoding the policy independently.
fn check_post_form(case: &PostCase, form: &PostForm) -> Result<(), TestCaseError> {
    let lifetime = case
        .creds
        .lifetime(case.expires)
        .ok_or_else(|| TestCaseError::fail("signed with dead credentials"))?;
    let signed_at = truncate(case.at);
    let expires_at = signed_at + Duration::seconds(i64::from(lifetime));
    prop_assert_eq!(form.expires_at, expires_at);

    // Fields: unique names, `x-amz-signature` last, `policy` and `x-amz-signature` present.
    for (i, f) in form.fields.iter().enumerate() {
        prop_assert!(
            !form.fields[..i].iter().any(|g| g.name == f.name),
            "field {:?} given twice",
            f.name
        );
        prop_assert!(f.name != "file", "the file field is the client's");
    }
    let last = form.fields.last().map(|f| f.name.as_str());
    prop_assert_eq!(last, Some("x-amz-signature"));
    let policy = form
        .field("policy")
        .ok_or_else(|| TestCaseError::fail("no policy field"))?;

    // Decode the exact text that was signed.
    let json_bytes = STANDARD
        .decode(policy)
        .map_err(|e| TestCaseError::fail(format!("policy is not base64: {e}")))?;
    let json: Value = serde_json::from_slice(&json_bytes)
        .map_err(|e| TestCaseError::fail(format!("policy is not JSON: {e}")))?;
    let top = json
        .as_object()
        .ok_or_else(|| TestCaseError::fail("policy is not an object"))?;
    prop_assert_eq!(top.len(), 2, "only expiration and conditions: {}", json);
    let expiration = format!("{}.000Z", expires_at.format("%Y-%m-%dT%H:%M:%S"));
    prop_assert_eq!(
        top.get("expiration").and_then(Value::as_str),
        Some(expiration.as_str())
    );
    let conditions: Vec<Condition<'_>> = top
        .get("conditions")
        .and_then(Value::as_array)
        .ok_or_else(|| TestCaseError::fail("no conditions array"))?
        .iter()
        .map(parse_condition)
        .collect::<Result<_, _>>()?;

    // Every field (except policy and signature) is covered by a condition it satisfies.
    for f in &form.fields {
        if f.name == "policy" || f.name == "x-amz-signature" {
            continue;
        }
        let covered = conditions.iter().any(|c| match c {
            Condition::Exact(name, value) => *name == f.name && *value == f.value,
            Condition::StartsWith(name, prefix) => *name == f.name && f.value.starts_with(prefix),
            Condition::Bucket(_) | Condition::LengthRange(..) => false,
        });
        prop_assert!(covered, "field {:?}={:?} is not covered", f.name, f.value);
    }
    // Every condition but bucket and content-length-range is satisfied by a field.
    let mut buckets = 0;
    let mut ranges = Vec::new();
    for c in &conditions {
        match c {
            Condition::Bucket(b) => {
                buckets += 1;
                prop_assert_eq!(*b, case.bucket.as_str());
            }
            Condition::LengthRange(min, max) => ranges.push((*min, *max)),
            Condition::Exact(name, value) => prop_assert!(
                form.field(name) == Some(*value),
                "condition {:?} has no matching field",
                c
            ),
            Condition::StartsWith(name, prefix) => prop_assert!(
                form.field(name).is_some_and(|v| v.starts_with(prefix)),
                "condition {:?} has no matching field",
                c
            ),
        }
    }
    prop_assert_eq!(buckets, 1);
    prop_assert_eq!(ranges, case.size.into_iter().collect::<Vec<_>>());

    // The request is what was asked for.
    match &case.key {
        KeyRule::Exact(key) => prop_assert_eq!(form.field("key"), Some(key.as_str())),
        KeyRule::Prefix(prefix) => {
            let expected = format!("{prefix}${{filename}}");
            prop_assert_eq!(form.field("key"), Some(expected.as_str()));
            prop_assert!(
                conditions
                    .iter()
                    .any(|c| matches!(c, Condition::StartsWith("key", p) if p == prefix)),
                "no starts-with condition on key"
            );
        }
    }
    match &case.content_type {
        Some(ContentTypeRule::Exact(ct)) => {
            prop_assert_eq!(form.field("Content-Type"), Some(ct.as_str()));
        }
        Some(ContentTypeRule::Prefix(prefix)) => prop_assert!(
            conditions
                .iter()
                .any(|c| matches!(c, Condition::StartsWith("Content-Type", p) if p == prefix)),
            "no starts-with condition on Content-Type"
        ),
        None => {}
    }
    for (name, value) in &case.fields {
        prop_assert_eq!(form.field(name), Some(value.as_str()));
    }
    let date = date_stamp(signed_at);
    let credential = format!("{}/{date}/{}/s3/aws4_request", case.creds.akid, case.region);
    prop_assert_eq!(form.field("x-amz-credential"), Some(credential.as_str()));
    prop_assert_eq!(form.field("x-amz-algorithm"), Some("AWS4-HMAC-SHA256"));
    let date_time = amz_date(signed_at);
    prop_assert_eq!(form.field("x-amz-date"), Some(date_time.as_str()));
    prop_assert_eq!(
        form.field("x-amz-security-token"),
        case.creds.token.as_deref()
    );
    let (scheme, authority, path) = expected_address(
        &case.endpoint,
        &case.region,
        case.style,
        case.bucket.as_str(),
        None,
    );
    prop_assert_eq!(&form.url, &format!("{scheme}://{authority}{path}"));

    // The signature covers the exact base64 text returned.
    let key = reference_signing_key(&case.creds.secret, &date, &case.region);
    let signature = hex::encode(hmac_sha256(&key, policy.as_bytes()));
    prop_assert_eq!(form.field("x-amz-signature"), Some(signature.as_str()));
    Ok(())
}

/// Ways to make a valid request invalid.
#[derive(Debug, Clone)]
enum Breakage {
    /// A field the signer sets itself (any letter case), or an `x-ignore-` field.
    ReservedField(String),
    /// A control character inserted into a field value.
    ControlInValue(char),
    /// A field name that is not 1 to 128 letters, digits, `-` or `_`.
    BadFieldName(String),
    /// A field value over 8192 bytes.
    LongValue,
    /// The same field twice, in another letter case.
    DuplicateField,
    /// A `Content-Type` field on top of a content-type rule.
    ContentTypeTwice,
    /// A control character in the key prefix.
    ControlInKeyPrefix(char),
    /// A key prefix over 1024 bytes.
    LongKeyPrefix,
    /// A control character in the content-type prefix.
    ControlInContentTypePrefix(char),
    /// `min > max`.
    InvertedSize(u64, u64),
    /// `max` over 5 GiB.
    OversizedMax(u64),
}

fn control_char() -> impl Strategy<Value = char> {
    prop_oneof![
        prop::sample::select(&['\0', '\n', '\r', '\t', '\u{7f}', '\u{85}', '\u{9f}'][..]),
        any::<char>().prop_filter("control", |c| c.is_control()),
    ]
}

fn mixed_case(s: &str, mask: u64) -> String {
    s.chars()
        .enumerate()
        .map(|(i, c)| {
            if mask >> (i % 64) & 1 == 1 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect()
}

fn breakage() -> impl Strategy<Value = Breakage> {
    let reserved = (
        prop::sample::select(
            &[
                "key",
                "bucket",
                "policy",
                "file",
                "x-amz-signature",
                "x-amz-algorithm",
                "x-amz-credential",
                "x-amz-date",
                "x-amz-security-token",
                "x-ignore-",
            ][..],
        ),
        any::<u64>(),
        "[a-z]{0,4}",
    )
        .prop_map(|(name, mask, suffix)| {
            let suffix = if name == "x-ignore-" {
                suffix
            } else {
                String::new()
            };
            Breakage::ReservedField(mixed_case(&format!("{name}{suffix}"), mask))
        });
    let bad_name = prop_oneof![
        Just(String::new()),
        "[a-z]{1,5}[ :/.=$é\"\\[\\]{}][a-z]{0,5}",
        "[a-z]{129,140}",
    ];
    prop_oneof![
        reserved,
        control_char().prop_map(Breakage::ControlInValue),
        bad_name.prop_map(Breakage::BadFieldName),
        Just(Breakage::LongValue),
        Just(Breakage::DuplicateField),
        Just(Breakage::ContentTypeTwice),
        control_char().prop_map(Breakage::ControlInKeyPrefix),
        Just(Breakage::LongKeyPrefix),
        control_char().prop_map(Breakage::ControlInContentTypePrefix),
        (1u64..=FIVE_GIB, any::<u64>())
            .prop_map(|(max, d)| Breakage::InvertedSize(max.saturating_add(1 + d % FIVE_GIB), max)),
        (FIVE_GIB + 1..=u64::MAX).prop_map(Breakage::OversizedMax),
    ]
}

fn break_case(mut case: PostCase, breakage: &Breakage) -> PostCase {
    match breakage {
        Breakage::ReservedField(name) => case.fields.push((name.clone(), "v".into())),
        Breakage::ControlInValue(c) => {
            case.fields
                .push(("x-amz-meta-broken".into(), format!("a{c}b")));
        }
        Breakage::BadFieldName(name) => case.fields.push((name.clone(), "v".into())),
        Breakage::LongValue => case.fields.push(("acl".into(), "a".repeat(8193))),
        Breakage::DuplicateField => {
            case.fields.push(("x-amz-meta-twice".into(), "1".into()));
            case.fields.push(("X-Amz-Meta-Twice".into(), "2".into()));
        }
        Breakage::ContentTypeTwice => {
            if case.content_type.is_none() {
                case.content_type = Some(ContentTypeRule::Prefix("image/".into()));
            }
            case.fields
                .push(("content-type".into(), "image/png".into()));
        }
        Breakage::ControlInKeyPrefix(c) => case.key = KeyRule::Prefix(format!("u/{c}/")),
        Breakage::LongKeyPrefix => case.key = KeyRule::Prefix("k".repeat(1025)),
        Breakage::ControlInContentTypePrefix(c) => {
            case.content_type = Some(ContentTypeRule::Prefix(format!("image/{c}")));
            case.fields
                .retain(|(n, _)| !n.eq_ignore_ascii_case("content-type"));
        }
        Breakage::InvertedSize(min, max) => case.size = Some((*min, *max)),
        Breakage::OversizedMax(max) => case.size = Some((0, *max)),
    }
    case
}

proptest! {
    #![proptest_config(config(512))]

    /// Every signed form is self-consistent: fields and conditions cover each other, and the
    /// signature is the HMAC of the exact policy text under an independently derived key.
    #[test]
    fn post_policies_cover_their_fields_and_sign_their_text(case in post_case()) {
        match case.sign() {
            Ok(form) => check_post_form(&case, &form)?,
            Err(SigningError::CredentialsExpired(_))
                if case.creds.lifetime(case.expires).is_none() => {}
            Err(e) => prop_assert!(false, "valid request refused: {e}"),
        }
    }

    /// Invalid requests are refused with an error (a panic fails the test too).
    #[test]
    fn invalid_post_policies_are_refused(case in post_case(), breakage in breakage()) {
        let broken = break_case(case, &breakage);
        let result = broken.sign();
        prop_assert!(result.is_err(), "{breakage:?} was accepted: {result:?}");
    }

    /// Arbitrary extra fields: refused or consistent, never a panic.
    #[test]
    fn arbitrary_post_fields_are_refused_or_consistent(
        mut case in post_case(),
        extra in prop::collection::vec((any::<String>(), any::<String>()), 1..4),
    ) {
        case.fields.extend(extra);
        if let Ok(form) = case.sign() {
            for (name, value) in &case.fields {
                prop_assert!(
                    !name.is_empty()
                        && name.len() <= 128
                        && name
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
                    "accepted field name {name:?}"
                );
                prop_assert!(!value.chars().any(char::is_control), "accepted value {value:?}");
            }
            check_post_form(&case, &form)?;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Domain validators on arbitrary text.
// ---------------------------------------------------------------------------------------------

/// Arbitrary text, biased towards the shapes the validators look at.
fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => any::<String>(),
        2 => "[ -~]{0,80}",
        1 => "[a-z0-9.-]{0,70}",
        1 => "(https?|ftp|HTTP)://[a-zA-Z0-9.:@\\[\\]/?#%_-]{0,40}",
        1 => "https?://\\[[0-9a-fA-F:.]{0,40}\\](:[0-9]{0,6})?/?",
        1 => concat!(
            "[a-zA-Z]{1,8}/[a-zA-Z0-9.+-]{1,8}",
            "(; ?[a-z]{1,5}=(\"[^\"]{0,6}\"?|[a-z0-9]{1,5})){0,3}"
        ),
        1 => "[a-z€]{1000,1100}",
        1 => (fragments(8), control_char(), fragments(4))
            .prop_map(|(a, c, b)| format!("{a}{c}{b}")),
    ]
}

proptest! {
    #![proptest_config(config(512))]

    /// Validators return Ok or Err on anything, and what they accept keeps their invariants.
    #[test]
    fn validators_never_panic(s in any_text(), n in any::<u64>()) {
        // Object keys: exactly 1..=1024 bytes without control characters.
        let key_ok = !s.is_empty() && s.len() <= 1024 && !s.chars().any(char::is_control);
        prop_assert_eq!(ObjectKey::new(s.as_str()).is_ok(), key_ok);

        if let Ok(b) = BucketName::new(s.as_str()) {
            let name = b.as_str();
            prop_assert!((3..=63).contains(&name.len()));
            let allowed = |c: u8| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-'
            };
            prop_assert!(name.bytes().all(allowed), "accepted bucket {:?}", name);
            prop_assert!(!name.starts_with(['.', '-']) && !name.ends_with(['.', '-']));
            prop_assert!(!name.contains("..") && name.parse::<std::net::Ipv4Addr>().is_err());
        }

        if let Ok(ct) = ContentType::new(s.as_str()) {
            prop_assert!(ct.as_str().len() <= 255 && ct.as_str() == ct.as_str().trim());
            prop_assert!(ct.as_str().bytes().all(|b| b.is_ascii() && !b.is_ascii_control()));
            let essence = ct.as_str().split(';').next().unwrap_or_default();
            let essence = essence.trim().to_ascii_lowercase();
            prop_assert_eq!(ct.essence(), essence.as_str());
            prop_assert!(ct.essence().contains('/'));
        }

        // Header values: visible ASCII and spaces, canonicalised.
        let value_ok = s.len() <= 8192 && s.bytes().all(|b| b == b' ' || b.is_ascii_graphic());
        match HeaderValue::new("x-test", &s) {
            Ok(v) => {
                prop_assert!(value_ok);
                prop_assert_eq!(v.as_str(), canonical_header_value(&s));
            }
            Err(_) => prop_assert!(!value_ok),
        }
        if let Ok(name) = HeaderName::new(&s) {
            prop_assert_eq!(name.as_str(), s.to_ascii_lowercase());
            prop_assert!(name.as_str() != "host" && name.as_str() != "authorization");
        }

        if let Ok(endpoint) = Endpoint::parse(&s) {
            let Endpoint::Custom { scheme, host, port } = endpoint.clone() else {
                return Err(TestCaseError::fail("parse gave the AWS endpoint"));
            };
            prop_assert!(!host.is_empty() && host == host.to_ascii_lowercase());
            let default = if scheme.as_str() == "https" { 443 } else { 80 };
            prop_assert!(port != Some(default));
            // The canonical form parses back to the same endpoint.
            let text = match port {
                Some(p) => format!("{}://{host}:{p}", scheme.as_str()),
                None => format!("{}://{host}", scheme.as_str()),
            };
            prop_assert_eq!(Endpoint::parse(&text).ok(), Some(endpoint.clone()));
            // And it can address an object without panicking.
            let region = Region::new("us-east-1").unwrap();
            let signer = Signer::new(region, endpoint, AddressingStyle::VirtualHosted);
            let request = PresignRequest::new(
                S3Operation::GetObject,
                BucketName::new("bucket").unwrap(),
                ObjectKey::new("k").unwrap(),
                Expiry::from_secs(60).unwrap(),
            );
            let creds = Credentials::from_parts("AK", "SK", None).unwrap();
            let at = Utc.with_ymd_and_hms(2024, 2, 29, 12, 0, 0).unwrap();
            let url = signer
                .presign(&creds, &request, at)
                .map_err(|e| TestCaseError::fail(e.to_string()))?
                .url;
            let prefix = format!("{}://", scheme.as_str());
            prop_assert!(url.starts_with(&prefix), "{} does not start with {}", url, prefix);
        }

        let _ = Region::new(s.as_str());
        let _ = UploadId::new(s.as_str());
        let _ = AccessKeyId::new(s.as_str());
        let _ = SessionToken::new(s.as_str());
        let _ = ContentMd5::new(&s);
        for algorithm in ChecksumAlgorithm::ALL {
            let _ = Checksum::new(algorithm, &s);
        }
        let _ = s.parse::<ChecksumAlgorithm>();
        let _ = QueryParams::new().insert(&s, &s);
        let _ = QueryParams::new().insert("versionId", &s);
        let _ = SignedHeaders::new().insert_line(&s);
        let _ = SignedHeaders::new().insert(&s, "v");

        prop_assert_eq!(PartNumber::new(n).is_ok(), (1..=10_000).contains(&n));
        prop_assert_eq!(Expiry::from_secs(n).is_ok(), (1..=604_800).contains(&n));
        let small = n % 10_002;
        prop_assert_eq!(PartNumber::new(small).is_ok(), (1..=10_000).contains(&small));
        let small = n % 604_802;
        prop_assert_eq!(Expiry::from_secs(small).is_ok(), (1..=604_800).contains(&small));
    }

    /// Signing at any instant SigV4 can express (years 0000..=9999) never panics and signs
    /// exactly that instant.
    #[test]
    fn signing_at_any_four_digit_year_signs_that_instant(
        secs in prop_oneof![
            YEAR_0..=YEAR_9999_END,
            YEAR_0..=YEAR_0 + 700_000,
            YEAR_9999_END - 700_000..=YEAR_9999_END,
        ],
        expires in 1u32..=604_800,
        cred_expiry in prop::option::of(any::<i64>()),
    ) {
        let at = Utc.timestamp_opt(secs, 0).unwrap();
        let (presigned, form) = sign_at(at, expires, cred_expiry);
        if let Ok(presigned) = presigned {
            let parts = split_url(&presigned.url);
            let date_time = amz_date(at);
            prop_assert_eq!(query_value(&parts, "X-Amz-Date"), Some(date_time.as_str()));
        }
        if let Ok(form) = form {
            let date_time = amz_date(at);
            prop_assert_eq!(form.field("x-amz-date"), Some(date_time.as_str()));
        }
    }

    /// Outside years 0000..=9999 (X-Amz-Date has four digits) signing is refused with an
    /// error: no panic near chrono's last instant, and no silently clamped year.
    #[test]
    fn signing_outside_four_digit_years_is_refused(
        secs in prop_oneof![
            DateTime::<Utc>::MIN_UTC.timestamp()..YEAR_0,
            YEAR_9999_END + 1..=DateTime::<Utc>::MAX_UTC.timestamp(),
            DateTime::<Utc>::MAX_UTC.timestamp() - 700_000..=DateTime::<Utc>::MAX_UTC.timestamp(),
        ],
        expires in 1u32..=604_800,
    ) {
        let at = Utc.timestamp_opt(secs, 0).unwrap();
        let (presigned, form) = sign_at(at, expires, None);
        prop_assert!(presigned.is_err(), "presigned at {}", at);
        prop_assert!(form.is_err(), "POST policy signed at {}", at);
    }
}

/// `0000-01-01T00:00:00Z`.
const YEAR_0: i64 = -62_167_219_200;
/// `9999-12-31T23:59:59Z`.
const YEAR_9999_END: i64 = 253_402_300_799;

/// Presigns a PUT and signs a POST policy at `at` with temporary credentials.
fn sign_at(
    at: DateTime<Utc>,
    expires: u32,
    cred_expiry: Option<i64>,
) -> (
    Result<s3_broker::sigv4::PresignedRequest, SigningError>,
    Result<PostForm, SigningError>,
) {
    let mut creds = Credentials::from_parts("AK", "SK", Some("token")).unwrap();
    creds.expires_at = cred_expiry.and_then(|s| Utc.timestamp_opt(s, 0).single());
    let signer = Signer::new(
        Region::new("us-east-1").unwrap(),
        Endpoint::AwsRegional,
        AddressingStyle::VirtualHosted,
    );
    let expiry = Expiry::from_secs(u64::from(expires)).unwrap();
    let request = PresignRequest::new(
        S3Operation::PutObject,
        BucketName::new("bucket").unwrap(),
        ObjectKey::new("k").unwrap(),
        expiry,
    );
    let policy = PostPolicyRequest {
        bucket: BucketName::new("bucket").unwrap(),
        key: KeyRule::Prefix("p/".into()),
        content_type: None,
        size: None,
        fields: vec![],
        expires: expiry,
    };
    (
        signer.presign(&creds, &request, at),
        signer.post_policy(&creds, &policy, at),
    )
}

/// An IPv4-mapped IPv6 host is signed in the WHATWG form (`[::ffff:c000:201]`) that browsers
/// and the `url` crate behind reqwest send in `Host`, not Rust's dotted form
/// (`[::ffff:192.0.2.1]`). The property above leaves these literals out.
#[test]
fn ipv4_mapped_ipv6_endpoints_sign_the_host_clients_send() {
    for literal in ["[::ffff:192.0.2.1]", "[::ffff:c000:201]"] {
        let endpoint = Endpoint::parse(&format!("http://{literal}:9000")).unwrap();
        let signer = Signer::new(
            Region::new("us-east-1").unwrap(),
            endpoint,
            AddressingStyle::Path,
        );
        let request = PresignRequest::new(
            S3Operation::GetObject,
            BucketName::new("bucket").unwrap(),
            ObjectKey::new("k").unwrap(),
            Expiry::from_secs(60).unwrap(),
        );
        let creds = Credentials::from_parts("AK", "SK", None).unwrap();
        let url = signer
            .presign(&creds, &request, "2024-01-01T00:00:00Z".parse().unwrap())
            .unwrap()
            .url;
        assert_eq!(
            split_url(&url).authority,
            "[::ffff:c000:201]:9000",
            "{literal}"
        );
    }
}
