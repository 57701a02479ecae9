//! Domain validators on arbitrary text, and signing at the edges of what SigV4 can express.

use crate::reference::*;
use crate::strategies::*;
use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use s3_broker::domain::{
    AccessKeyId, AddressingStyle, BucketName, Checksum, ChecksumAlgorithm, ContentMd5, ContentType,
    Credentials, Endpoint, Expiry, HeaderName, HeaderValue, ObjectKey, PartNumber, Region,
    SessionToken, UploadId,
};
use s3_broker::sigv4::{
    KeyRule, PostForm, PostPolicyRequest, PresignRequest, QueryParams, S3Operation, SignedHeaders,
    Signer, SigningError,
};

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
