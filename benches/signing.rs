//! Signing throughput: the s3-broker signing core against `aws-sdk-s3`'s `.presigned()`.
//!
//! Run with `cargo bench --bench signing`; `cargo test --benches` runs each bench once as a
//! smoke test. Method and results are in `doc/benchmarks.md`.
//!
//! Every bench signs at a fixed instant, so the signing key cache is warm after the first
//! iteration (the steady state of the service: one key derivation per credential, region and
//! UTC day). `signing_key_derivation` measures the cold path on its own.

use aws_sdk_s3::config::{BehaviorVersion, Credentials as SdkCredentials, Region as SdkRegion};
use aws_sdk_s3::presigning::PresigningConfig;
use chrono::{DateTime, Utc};
use criterion::Criterion;
use s3_broker::domain::{
    AddressingStyle, BucketName, ContentType, Credentials, Endpoint, Expiry, GrantId,
    NamespaceSegment, ObjectKey, PartNumber, Region, SecretAccessKey, UploadId,
};
use s3_broker::grants::attribute_url;
use s3_broker::multipart::{PartPlan, PartSigning, TicketKeys, UploadTokenFields};
use s3_broker::sigv4::{
    ContentTypeRule, KeyRule, PostPolicyRequest, PresignRequest, PresignedRequest, QueryParams,
    S3Operation, SignedHeaders, Signer, derive_signing_key,
};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime};

const AKID: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const REGION: &str = "eu-central-1";
const BUCKET: &str = "acme-user-uploads";
const KEY: &str = "users/alice/3f2b9c1e-8d4a-4b7e-9f21-6a0c5d7e8b13/holiday photo.jpg";
const CONTENT_TYPE: &str = "image/jpeg";
/// An upload id of the length and alphabet AWS returns.
const UPLOAD_ID: &str = "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA.Xk2jLmQ_9rTz-0";
const CONTENT_LENGTH: u64 = 2_483_117;
const EXPIRES_SECS: u64 = 900;
/// 2026-05-01T12:00:00Z.
const SIGNED_AT_UNIX: i64 = 1_777_636_800;

fn signed_at() -> DateTime<Utc> {
    DateTime::from_timestamp(SIGNED_AT_UNIX, 0).expect("valid timestamp")
}

fn credentials() -> Credentials {
    Credentials::from_parts(AKID, SECRET, None).expect("valid credentials")
}

fn signer() -> Signer {
    Signer::new(
        Region::new(REGION).expect("valid region"),
        Endpoint::AwsRegional,
        AddressingStyle::VirtualHosted,
    )
}

fn put_request() -> PresignRequest {
    let mut request = PresignRequest::new(
        S3Operation::PutObject,
        BucketName::new(BUCKET).expect("valid bucket"),
        ObjectKey::new(KEY).expect("valid key"),
        Expiry::from_secs(EXPIRES_SECS).expect("valid expiry"),
    );
    request.headers = SignedHeaders::new()
        .content_type(&ContentType::new(CONTENT_TYPE).expect("valid content type"))
        .content_length(CONTENT_LENGTH);
    request
}

fn post_request() -> PostPolicyRequest {
    PostPolicyRequest {
        bucket: BucketName::new(BUCKET).expect("valid bucket"),
        key: KeyRule::Prefix("users/alice/3f2b9c1e-8d4a-4b7e-9f21-6a0c5d7e8b13/".into()),
        content_type: Some(ContentTypeRule::Exact(
            ContentType::new(CONTENT_TYPE).expect("valid content type"),
        )),
        size: Some((1, 10 * 1024 * 1024)),
        fields: Vec::new(),
        expires: Expiry::from_secs(EXPIRES_SECS).expect("valid expiry"),
    }
}

fn sdk_client() -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(SdkRegion::new(REGION))
        .credentials_provider(SdkCredentials::new(AKID, SECRET, None, None, "bench"))
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

fn sdk_presigning_config() -> PresigningConfig {
    PresigningConfig::builder()
        .start_time(SystemTime::UNIX_EPOCH + Duration::from_secs(SIGNED_AT_UNIX.unsigned_abs()))
        .expires_in(Duration::from_secs(EXPIRES_SECS))
        .build()
        .expect("valid presigning config")
}

async fn sdk_presign_put(
    client: &aws_sdk_s3::Client,
    config: PresigningConfig,
) -> aws_sdk_s3::presigning::PresignedRequest {
    client
        .put_object()
        .bucket(BUCKET)
        .key(KEY)
        .content_type(CONTENT_TYPE)
        .content_length(i64::try_from(CONTENT_LENGTH).expect("fits in i64"))
        .presigned(config)
        .await
        .expect("the SDK presigns")
}

fn query_param<'a>(url: &'a str, name: &str) -> Option<&'a str> {
    let (_, query) = url.split_once('?')?;
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
}

/// Both sides must sign the same request, or the comparison means nothing. The SDK adds a
/// signed `x-id=PutObject`; signed with that parameter too, ours must give the same signature.
fn assert_same_request(rt: &tokio::runtime::Runtime, client: &aws_sdk_s3::Client) {
    let sdk = rt.block_on(sdk_presign_put(client, sdk_presigning_config()));
    let mut request = put_request();
    request.query = QueryParams::new()
        .with("x-id", "PutObject")
        .expect("valid query parameter");
    let ours = signer()
        .presign(&credentials(), &request, signed_at())
        .expect("presign");
    assert_eq!(
        query_param(&ours.url, "X-Amz-SignedHeaders"),
        query_param(sdk.uri(), "X-Amz-SignedHeaders"),
        "signed headers differ: ours {} / SDK {}",
        ours.url,
        sdk.uri()
    );
    assert_eq!(
        query_param(&ours.url, "X-Amz-Signature"),
        query_param(sdk.uri(), "X-Amz-Signature"),
        "signatures differ: ours {} / SDK {}",
        ours.url,
        sdk.uri()
    );
}

fn benches(c: &mut Criterion) {
    let signer = signer();
    let credentials = credentials();
    let put = put_request();
    let post = post_request();
    let at = signed_at();

    // Warm the signing key cache, as in the service's steady state.
    signer.presign(&credentials, &put, at).expect("presign");

    c.bench_function("presign_put_two_headers", |b| {
        b.iter(|| {
            signer
                .presign(black_box(&credentials), black_box(&put), black_box(at))
                .expect("presign")
        });
    });

    c.bench_function("presign_put_two_headers_with_request_build", |b| {
        b.iter(|| {
            let mut request = PresignRequest::new(
                S3Operation::PutObject,
                BucketName::new(black_box(BUCKET)).expect("valid bucket"),
                ObjectKey::new(black_box(KEY)).expect("valid key"),
                Expiry::from_secs(black_box(EXPIRES_SECS)).expect("valid expiry"),
            );
            request.headers = SignedHeaders::new()
                .content_type(&ContentType::new(black_box(CONTENT_TYPE)).expect("valid type"))
                .content_length(black_box(CONTENT_LENGTH));
            signer
                .presign(black_box(&credentials), &request, black_box(at))
                .expect("presign")
        });
    });

    c.bench_function("post_policy_four_conditions", |b| {
        b.iter(|| {
            signer
                .post_policy(black_box(&credentials), black_box(&post), black_box(at))
                .expect("post policy")
        });
    });

    // The core of `POST /v1/multipart/parts` for the largest batch S3 allows: 10,000 part
    // URLs, each signing its exact Content-Length, serialized to the JSON the client gets.
    let bucket = BucketName::new(BUCKET).expect("valid bucket");
    let key = ObjectKey::new(KEY).expect("valid key");
    let upload_id = UploadId::new(UPLOAD_ID).expect("valid upload id");
    let plan =
        PartPlan::new(10_000 * 5 * 1024 * 1024 - 123, Some(5 * 1024 * 1024)).expect("a plan");
    let numbers: Vec<PartNumber> = plan.part_numbers().collect();
    assert_eq!(numbers.len(), 10_000);
    let parts = PartSigning {
        signer: &signer,
        credentials: &credentials,
        bucket: &bucket,
        key: &key,
        upload_id: &upload_id,
        expires: Expiry::from_secs(EXPIRES_SECS).expect("valid expiry"),
        now: at,
    };
    let mut group = c.benchmark_group("multipart");
    group.sample_size(20);
    group.bench_function("sign_10000_part_urls_to_json", |b| {
        b.iter(|| {
            // As the handler's streamed answer does (src/http/grant/streamed.rs): each part
            // signed and serialized in turn, in chunks of about 32 KiB.
            let grants = parts
                .planned(black_box(plan), black_box(numbers.clone()), BTreeMap::new())
                .expect("part URLs");
            let (mut chunk, mut bytes) = (Vec::with_capacity(40 * 1024), 0);
            for grant in grants {
                if chunk.len() >= 32 * 1024 {
                    bytes += black_box(&chunk).len();
                    chunk.clear();
                }
                serde_json::to_writer(&mut chunk, &grant.expect("a part URL")).expect("JSON");
                chunk.push(b',');
            }
            bytes + chunk.len()
        });
    });
    group.finish();

    let secret = SecretAccessKey::new(SECRET).expect("valid secret");
    c.bench_function("signing_key_derivation", |b| {
        b.iter(|| {
            derive_signing_key(
                black_box(&secret),
                black_box("20260501"),
                black_box(REGION),
                black_box("s3"),
            )
        });
    });

    // The runtime and client are built once; each sample runs its whole batch of presigns
    // inside one `block_on`, so neither runtime creation nor `block_on` entry is measured.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let client = rt.block_on(async { sdk_client() });
    assert_same_request(&rt, &client);
    let presigning = sdk_presigning_config();
    c.bench_function("aws_sdk_s3_presigned_put", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(sdk_presign_put(black_box(&client), presigning.clone()).await);
                }
                start.elapsed()
            })
        });
    });
}

/// A PUT grant's presign as the upload handler makes it (the request built, then signed),
/// without the grant id, with one, or with a fresh one (`GrantId::new`, a random UUID): the
/// goal "the grant id adds no measurable cost to a presign".
fn grant_put(
    signer: &Signer,
    credentials: &Credentials,
    at: DateTime<Utc>,
    grant: GrantCase,
) -> PresignedRequest {
    let mut request = put_request();
    let fresh;
    let id = match grant {
        GrantCase::Without => None,
        GrantCase::Fixed(id) => Some(id),
        GrantCase::Fresh => {
            fresh = GrantId::new();
            Some(&fresh)
        }
    };
    if let Some(id) = id {
        attribute_url(&mut request, id).expect("a signable grant id");
    }
    signer.presign(credentials, &request, at).expect("presign")
}

/// Which grant id [`grant_put`] signs.
#[derive(Clone, Copy)]
enum GrantCase<'a> {
    Without,
    Fixed(&'a GrantId),
    Fresh,
}

/// The grant-id cases, by name: run back to back by criterion (group `grant_id`), or one of
/// them alone for `scripts/instructions-per-op signing <name>`.
fn grant_id_cases(id: &GrantId) -> [(&'static str, GrantCase<'_>); 3] {
    [
        ("presign_put_without_grant_id", GrantCase::Without),
        ("presign_put_with_grant_id", GrantCase::Fixed(id)),
        ("presign_put_with_fresh_grant_id", GrantCase::Fresh),
    ]
}

fn grant_id_benches(c: &mut Criterion) {
    let (signer, credentials, at) = (signer(), credentials(), signed_at());
    let id = GrantId::new();
    grant_put(&signer, &credentials, at, GrantCase::Without);
    let mut group = c.benchmark_group("grant_id");
    for (name, case) in grant_id_cases(&id) {
        group.bench_function(name, |b| {
            b.iter(|| grant_put(&signer, black_box(&credentials), black_box(at), case));
        });
    }
    group.finish();
}

/// The upload token of the load test's grant (`POST /v1/uploads` of `load.txt`, 1,024 bytes of
/// `text/plain`, for the subject `loadtest` under the default profile's key template), sealed
/// into an answer's buffer as the upload handler does: its payload JSON, base64, MAC and wire
/// form (`seal_upload_token`).
fn seal_upload_token(keys: &TicketKeys, token: &UploadToken) -> Vec<u8> {
    let seal = keys.upload_seal(&token.fields());
    let mut out = Vec::with_capacity(seal.max_len());
    seal.write_to(&mut out);
    out
}

/// The token [`seal_upload_token`] seals.
struct UploadToken {
    principal: NamespaceSegment,
    bucket: BucketName,
    key: ObjectKey,
    content_type: ContentType,
    grant_id: GrantId,
}

impl UploadToken {
    fn new() -> Self {
        Self {
            principal: NamespaceSegment::for_subject(Some("https://issuer.bench/"), "loadtest"),
            bucket: BucketName::new("bench").expect("valid bucket"),
            key: ObjectKey::new("users/loadtest/3f2b9c1e-8d4a-4b7e-9f21-6a0c5d7e8b13-load.txt")
                .expect("valid key"),
            content_type: ContentType::new("text/plain").expect("valid type"),
            grant_id: GrantId::new(),
        }
    }

    fn fields(&self) -> UploadTokenFields<'_> {
        UploadTokenFields {
            principal: &self.principal,
            profile: "default",
            bucket: &self.bucket,
            key: &self.key,
            size: Some(1024),
            content_type: &self.content_type,
            checksum: None,
            extension: Some("txt"),
            grant_id: self.grant_id.as_str(),
            expires_at: signed_at() + chrono::Duration::hours(24),
        }
    }
}

fn upload_token_benches(c: &mut Criterion) {
    let (keys, token) = (TicketKeys::ephemeral(), UploadToken::new());
    c.bench_function("seal_upload_token", |b| {
        b.iter(|| seal_upload_token(black_box(&keys), black_box(&token)));
    });
}

/// `presign_put_two_headers` without criterion: `Signer::presign` of the prebuilt request,
/// `iters` times, for `scripts/instructions-per-op signing presign_put_two_headers`.
fn presign_put_two_headers(iters: u64) {
    let (signer, credentials, put, at) = (signer(), credentials(), put_request(), signed_at());
    for _ in 0..iters {
        black_box(
            signer
                .presign(black_box(&credentials), black_box(&put), black_box(at))
                .expect("presign"),
        );
    }
}

fn main() {
    // Instruction-count mode: one case (`presign_put_two_headers`, `seal_upload_token` or a
    // grant-id case), a fixed number of iterations, no criterion.
    if let (Ok(name), Ok(iters)) = (std::env::var("BENCH_CASE"), std::env::var("BENCH_ITERS")) {
        let iters: u64 = iters.parse().expect("BENCH_ITERS is a number");
        if name == "presign_put_two_headers" {
            presign_put_two_headers(iters);
            return;
        }
        if name == "seal_upload_token" {
            let (keys, token) = (TicketKeys::ephemeral(), UploadToken::new());
            for _ in 0..iters {
                black_box(seal_upload_token(black_box(&keys), black_box(&token)));
            }
            return;
        }
        let (signer, credentials, at, id) = (signer(), credentials(), signed_at(), GrantId::new());
        let (_, case) = grant_id_cases(&id)
            .into_iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("no bench case {name:?}"));
        for _ in 0..iters {
            black_box(grant_put(&signer, &credentials, at, case));
        }
        return;
    }
    let mut criterion = Criterion::default().configure_from_args();
    benches(&mut criterion);
    grant_id_benches(&mut criterion);
    upload_token_benches(&mut criterion);
    criterion.final_summary();
}
