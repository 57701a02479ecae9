//! Strategies: keys, buckets, regions, endpoints, times, credentials, operations, headers
//! and query parameters, with the expectations that go with them.

use crate::reference::*;
use aws_credential_types::Credentials as AwsCredentials;
use aws_smithy_runtime_api::client::identity::Identity;
use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;
use s3_broker::domain::{
    AddressingStyle, BucketName, Credentials, ObjectKey, PartNumber, UploadId,
};
use s3_broker::sigv4::S3Operation;

/// `cases` cases (`PROPTEST_CASES` overrides it for deeper runs), without regression files.
pub(crate) fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(cases),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Pieces of text S3 keys and values are made of: the characters SigV4 encoders get wrong.
pub(crate) fn text_fragment() -> impl Strategy<Value = String> {
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

pub(crate) fn fragments(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(text_fragment(), 0..max).prop_map(|f| f.concat())
}

pub(crate) fn object_key() -> impl Strategy<Value = ObjectKey> {
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

pub(crate) fn bucket() -> impl Strategy<Value = BucketName> {
    prop_oneof![
        3 => "[a-z0-9][a-z0-9-]{1,30}[a-z0-9]",
        1 => "[a-z0-9]{1,10}(\\.[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?){1,3}",
    ]
    .prop_filter_map("valid bucket", |b| BucketName::new(b).ok())
}

pub(crate) fn region() -> impl Strategy<Value = String> {
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

pub(crate) fn endpoint() -> impl Strategy<Value = EndpointSpec> {
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

pub(crate) fn addressing() -> impl Strategy<Value = AddressingStyle> {
    prop_oneof![
        Just(AddressingStyle::VirtualHosted),
        Just(AddressingStyle::Path)
    ]
}

/// Signing instants: anywhere in 1970..2100, right around midnight (the date of the credential
/// scope changes), around New Year, and rarely up to the year 9999.
pub(crate) fn signing_time() -> impl Strategy<Value = DateTime<Utc>> {
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
pub(crate) struct CredSpec {
    pub akid: String,
    pub secret: String,
    pub token: Option<String>,
    /// Expiry of temporary credentials: whole seconds after the truncated signing time, plus
    /// nanoseconds.
    pub expires_after: Option<(i64, u32)>,
}

impl CredSpec {
    pub(crate) fn ours(&self, at: DateTime<Utc>) -> Credentials {
        let mut c = Credentials::from_parts(&self.akid, &self.secret, self.token.as_deref())
            .expect("generated credentials are valid");
        c.expires_at = self.expires_after.map(|(secs, nanos)| {
            truncate(at) + Duration::seconds(secs) + Duration::nanoseconds(i64::from(nanos))
        });
        c
    }

    pub(crate) fn identity(&self) -> Identity {
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
    pub(crate) fn lifetime(&self, requested: u32) -> Option<u32> {
        match self.expires_after {
            None => Some(requested),
            Some((secs, _)) if secs < 1 => None,
            Some((secs, _)) => Some(requested.min(u32::try_from(secs).unwrap())),
        }
    }
}

pub(crate) fn credentials() -> impl Strategy<Value = CredSpec> {
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

pub(crate) fn upload_id() -> impl Strategy<Value = UploadId> {
    prop_oneof!["[A-Za-z0-9._-]{20,80}", "[!-~]{1,40}", "[!-~é€😀]{1,20}",]
        .prop_filter_map("valid upload id", |s| UploadId::new(s).ok())
}

pub(crate) fn operation() -> impl Strategy<Value = S3Operation> {
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
pub(crate) fn expected_operation(op: &S3Operation) -> (&'static str, Vec<(String, String)>) {
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
pub(crate) const TOKEN_CHARS: &[char] = &[
    'a', 'b', 'z', 'A', 'Z', '0', '9', '-', '_', '.', '!', '#', '$', '%', '&', '\'', '*', '+', '^',
    '`', '|', '~',
];

pub(crate) fn header_name() -> impl Strategy<Value = String> {
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

pub(crate) fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "( {0,4}[!-~]{1,8}){0,4} {0,4}",
        Just("*".to_owned()),
        Just("AES256".to_owned()),
        Just("text/plain;  charset=utf-8".to_owned()),
        Just(String::new()),
    ]
}

pub(crate) fn query_param() -> impl Strategy<Value = (String, String)> {
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

pub(crate) fn control_char() -> impl Strategy<Value = char> {
    prop_oneof![
        prop::sample::select(&['\0', '\n', '\r', '\t', '\u{7f}', '\u{85}', '\u{9f}'][..]),
        any::<char>().prop_filter("control", |c| c.is_control()),
    ]
}
