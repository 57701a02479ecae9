//! Known-answer tests from the AWS documentation. Each SigV4 step is asserted on its own, so a
//! regression points at the step that broke.
//!
//! Sources:
//! - <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html>
//! - <https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html>
//! - <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-post-example.html>
//! - <https://docs.aws.amazon.com/general/latest/gr/signature-v4-examples.html>

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use s3_broker::config::sha256_hex;
use s3_broker::domain::{
    AddressingStyle, BucketName, Credentials, Endpoint, Expiry, ObjectKey, Region, SecretAccessKey,
};
use s3_broker::sigv4::{
    CanonicalRequest, CredentialScope, PresignRequest, S3Operation, Signer, SigningTime,
    derive_signing_key, string_to_sign,
};

const AKID: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

fn credentials() -> Credentials {
    Credentials::from_parts(AKID, SECRET, None).unwrap()
}

fn region() -> Region {
    Region::new("us-east-1").unwrap()
}

/// The docs' examples use the legacy global host `examplebucket.s3.amazonaws.com`.
fn doc_signer() -> Signer {
    Signer::new(
        region(),
        Endpoint::parse("https://s3.amazonaws.com").unwrap(),
        AddressingStyle::VirtualHosted,
    )
}

fn at(s: &str) -> chrono::DateTime<chrono::Utc> {
    s.parse().unwrap()
}

#[test]
fn signing_key_derivation_matches_the_iam_example() {
    let secret = SecretAccessKey::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY").unwrap();
    let key = derive_signing_key(&secret, "20120215", "us-east-1", "iam");
    assert_eq!(
        hex::encode(key.as_bytes()),
        "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
    );
}

const GET_CANONICAL: &str = "GET\n/test.txt\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\nhost:examplebucket.s3.amazonaws.com\n\nhost\nUNSIGNED-PAYLOAD";

#[test]
fn presigned_get_each_step() {
    let (presigned, trace) = doc_signer()
        .presign_traced(
            &credentials(),
            &PresignRequest::new(
                S3Operation::GetObject,
                BucketName::new("examplebucket").unwrap(),
                ObjectKey::new("test.txt").unwrap(),
                Expiry::from_secs(86_400).unwrap(),
            ),
            at("2013-05-24T00:00:00Z"),
        )
        .unwrap();
    // Step 1: canonical request and its hash.
    assert_eq!(trace.canonical_request, GET_CANONICAL);
    assert_eq!(
        sha256_hex(&trace.canonical_request),
        "3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04"
    );
    // Step 2: string to sign.
    assert_eq!(
        trace.string_to_sign,
        "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04"
    );
    // Step 3: signature.
    assert_eq!(
        trace.signature,
        "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
    );
    // Step 4: the final URL.
    assert_eq!(
        presigned.url,
        "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
    );
    assert!(presigned.headers.is_empty());
    assert_eq!(presigned.expires_at, at("2013-05-25T00:00:00Z"));
}

#[test]
fn presigned_put_each_step() {
    let (presigned, trace) = doc_signer()
        .presign_traced(
            &credentials(),
            &PresignRequest::new(
                S3Operation::PutObject,
                BucketName::new("examplebucket").unwrap(),
                ObjectKey::new("test.txt").unwrap(),
                Expiry::from_secs(86_400).unwrap(),
            ),
            at("2013-05-24T00:00:00Z"),
        )
        .unwrap();
    let canonical = GET_CANONICAL.replacen("GET", "PUT", 1);
    assert_eq!(trace.canonical_request, canonical);
    assert_eq!(
        trace.string_to_sign,
        format!(
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n{}",
            sha256_hex(&canonical)
        )
    );
    assert_eq!(
        trace.signature,
        "f4db56459304dafaa603a99a23c6bea8821890259a65c18ff503a4a72a80efd9"
    );
    assert!(presigned.url.ends_with(
        "&X-Amz-SignedHeaders=host&X-Amz-Signature=f4db56459304dafaa603a99a23c6bea8821890259a65c18ff503a4a72a80efd9"
    ));
}

#[test]
fn header_auth_get_object_with_range_each_step() {
    let empty_hash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    let headers = [
        ("host", "examplebucket.s3.amazonaws.com"),
        ("range", "bytes=0-9"),
        ("x-amz-content-sha256", empty_hash),
        ("x-amz-date", "20130524T000000Z"),
    ];
    let canonical = CanonicalRequest {
        method: "GET",
        path: "/test.txt",
        query: "",
        headers: &headers,
        payload_hash: empty_hash,
    };
    assert_eq!(
        canonical.signed_headers(),
        "host;range;x-amz-content-sha256;x-amz-date"
    );
    let text = canonical.to_text();
    assert_eq!(
        text,
        format!(
            "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\nx-amz-content-sha256:{empty_hash}\nx-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n{empty_hash}"
        )
    );
    assert_eq!(
        sha256_hex(&text),
        "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972"
    );
    let time = SigningTime::new(at("2013-05-24T00:00:00Z")).unwrap();
    let scope = CredentialScope::new(&time, &region(), "s3");
    let sts = string_to_sign(&time, &scope, &sha256_hex(&text));
    assert_eq!(
        sts,
        "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972"
    );
    let key = derive_signing_key(
        &SecretAccessKey::new(SECRET).unwrap(),
        time.date_stamp(),
        "us-east-1",
        "s3",
    );
    assert_eq!(
        key.sign(&sts),
        "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    );
}

/// The policy of the AWS POST example, byte for byte: CRLF line endings, a blank line, and a
/// space before the last closing brace.
const POST_EXAMPLE_POLICY: &str = "{ \"expiration\": \"2015-12-30T12:00:00.000Z\",\r\n  \"conditions\": [\r\n    {\"bucket\": \"sigv4examplebucket\"},\r\n    [\"starts-with\", \"$key\", \"user/user1/\"],\r\n    {\"acl\": \"public-read\"},\r\n    {\"success_action_redirect\": \"http://sigv4examplebucket.s3.amazonaws.com/successful_upload.html\"},\r\n    [\"starts-with\", \"$Content-Type\", \"image/\"],\r\n    {\"x-amz-meta-uuid\": \"14365123651274\"},\r\n    {\"x-amz-server-side-encryption\": \"AES256\"},\r\n    [\"starts-with\", \"$x-amz-meta-tag\", \"\"],\r\n\r\n    {\"x-amz-credential\": \"AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request\"},\r\n    {\"x-amz-algorithm\": \"AWS4-HMAC-SHA256\"},\r\n    {\"x-amz-date\": \"20151229T000000Z\" }\r\n  ]\r\n}";

#[test]
fn post_policy_example_each_step() {
    // Step 1: the base64 text of the policy is the string to sign.
    let policy_b64 = STANDARD.encode(POST_EXAMPLE_POLICY);
    assert!(policy_b64.starts_with("eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0K"));
    // Step 2: the signing key of the example's date and region.
    let time = SigningTime::new(at("2015-12-29T00:00:00Z")).unwrap();
    let key = derive_signing_key(
        &SecretAccessKey::new(SECRET).unwrap(),
        time.date_stamp(),
        "us-east-1",
        "s3",
    );
    // Step 3: the signature.
    assert_eq!(
        key.sign(&policy_b64),
        "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e"
    );
}

#[test]
fn post_policy_signer_signs_exactly_the_policy_it_returns() {
    use s3_broker::sigv4::{ContentTypeRule, KeyRule, PostPolicyRequest};
    let form = doc_signer()
        .post_policy(
            &credentials(),
            &PostPolicyRequest {
                bucket: BucketName::new("sigv4examplebucket").unwrap(),
                key: KeyRule::Prefix("user/user1/".into()),
                content_type: Some(ContentTypeRule::Prefix("image/".into())),
                size: None,
                fields: vec![
                    ("acl".into(), "public-read".into()),
                    ("x-amz-meta-uuid".into(), "14365123651274".into()),
                    ("x-amz-server-side-encryption".into(), "AES256".into()),
                ],
                expires: Expiry::from_secs(129_600).unwrap(),
            },
            at("2015-12-29T00:00:00Z"),
        )
        .unwrap();
    let policy = form.field("policy").unwrap();
    let key = derive_signing_key(
        &SecretAccessKey::new(SECRET).unwrap(),
        "20151229",
        "us-east-1",
        "s3",
    );
    assert_eq!(form.field("x-amz-signature").unwrap(), key.sign(policy));
    let json: serde_json::Value =
        serde_json::from_slice(&STANDARD.decode(policy).unwrap()).unwrap();
    assert_eq!(json["expiration"], "2015-12-30T12:00:00.000Z");
    assert_eq!(form.url, "https://sigv4examplebucket.s3.amazonaws.com/");
    assert_eq!(form.field("key"), Some("user/user1/${filename}"));
    assert_eq!(
        form.field("x-amz-credential"),
        Some("AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request")
    );
    assert_eq!(form.fields.last().unwrap().name, "x-amz-signature");
}
