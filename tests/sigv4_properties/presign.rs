//! Presigned URLs against `aws-sigv4` configured for S3.

use crate::reference::*;
use crate::strategies::*;
use aws_sigv4::http_request::{
    PercentEncodingMode, SessionTokenMode, SignableBody, SignableRequest, SignatureLocation,
    SigningSettings, UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use s3_broker::domain::{AddressingStyle, BucketName, Expiry, ObjectKey, Region};
use s3_broker::sigv4::{PresignRequest, S3Operation, Signer, SigningError};
use std::collections::BTreeMap;
use std::time::SystemTime;

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
    let mut returned: Vec<(String, String)> = ours.headers.to_vec();
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
