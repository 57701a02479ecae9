//! `s3-broker doctor` as an operator runs it: the built binary, a configuration file and
//! profiles on disk, against the test's bucket on a real server. s3s-fs implements neither
//! GetBucketCors nor GetBucketLifecycleConfiguration (so those checks warn); Ceph radosgw
//! implements both, and GetPublicAccessBlock, whose check fails on a bucket without the block
//! (so the Ceph tests that expect warnings only set it first).

use crate::support::broker::{HS_SECRET, TICKET_SECRET};
use crate::support::{Ctx, Server, TestBed};
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, CorsConfiguration, CorsRule,
    ExpirationStatus, LifecycleRule, LifecycleRuleFilter,
};
use s3_broker::config::ConfigBuilder;
use std::path::Path;
use std::process::Output;

const ORIGIN: &str = "https://app.example.com";

/// A multipart profile under `users/`, using the configuration's bucket.
const PROFILE: &str = r#"
key_template = "users/{principal}/{uuid}/{filename}"
content_types = ["text/plain"]
max_size = "1 MiB"
methods = ["PUT", "POST"]
multipart = true
"#;

/// What a test changes in the configuration.
struct Setup<'a> {
    bucket: &'a str,
    secret_key: &'a str,
    /// `[multipart] ticket_ttl_secs`, when not the default.
    ticket_ttl_secs: Option<i64>,
    /// `[auth] jwks_url` (with ES256 and a 2-second timeout), besides the HS256 secret.
    jwks_url: Option<&'a str>,
}

/// Writes `config.toml` and `policies/` into `dir` and returns the configuration's path.
fn write_config(dir: &Path, bed: &TestBed, setup: &Setup<'_>) -> std::path::PathBuf {
    let policies = dir.join("policies");
    std::fs::create_dir_all(&policies).unwrap();
    std::fs::write(policies.join("default.toml"), PROFILE).unwrap();
    let mut config = ConfigBuilder::new()
        .set("server", "cors_origins", vec![ORIGIN])
        .set("server", "public_url", "https://uploads.example.com")
        .store(bed.region.as_str(), setup.bucket, &bed.endpoint)
        .static_credentials(bed.credentials.access_key_id.as_str(), setup.secret_key)
        .hs256("https://issuer.e2e.test/", "s3-broker-e2e", HS_SECRET)
        .ticket_key("e2e", TICKET_SECRET)
        .set("policies", "dir", policies.to_string_lossy().as_ref());
    if let Some(ttl) = setup.ticket_ttl_secs {
        config = config.set("multipart", "ticket_ttl_secs", ttl);
    }
    if let Some(url) = setup.jwks_url {
        config = config
            .set("auth", "algorithms", vec!["HS256", "ES256"])
            .set("auth", "jwks_url", url)
            .set("auth", "jwks_timeout_secs", 2);
    }
    let path = dir.join("config.toml");
    std::fs::write(&path, config.text()).unwrap();
    path
}

/// Writes `config.toml` and `policies/default.toml` (holding `profile`) into `dir` for the
/// test's bucket, with `backend = "ceph"` on Ceph; returns the configuration's path.
pub(crate) fn backend_config(dir: &Path, t: &Ctx, profile: &str) -> std::path::PathBuf {
    let policies = dir.join("policies");
    std::fs::create_dir_all(&policies).unwrap();
    std::fs::write(policies.join("default.toml"), profile).unwrap();
    let backend = match t.bed.server {
        Server::Ceph => "ceph",
        Server::S3sFs => "aws",
    };
    let config = ConfigBuilder::new()
        .store(t.bed.region.as_str(), t.bucket.as_str(), &t.bed.endpoint)
        .set("s3", "backend", backend)
        .static_credentials(
            t.bed.credentials.access_key_id.as_str(),
            t.bed.credentials.secret_access_key.expose(),
        )
        .hs256("https://issuer.e2e.test/", "s3-broker-e2e", HS_SECRET)
        .set("policies", "dir", policies.to_string_lossy().as_ref());
    let path = dir.join("config.toml");
    std::fs::write(&path, config.text()).unwrap();
    path
}

/// Runs `s3-broker doctor --config PATH` with no AWS or broker variables from the test's
/// environment.
pub(crate) async fn doctor(config: &Path) -> Output {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_s3-broker"));
    for name in crate::support::inherited_settings() {
        cmd.env_remove(name);
    }
    // No instance metadata service to wait for when a test uses the default chain.
    cmd.env("HOME", home.path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .args(["doctor", "--config"])
        .arg(config);
    cmd.output().await.expect("run s3-broker doctor")
}

/// The report, after checking that nothing secret was printed and nothing panicked.
pub(crate) fn report(out: &Output, secrets: &[&str]) -> String {
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Shown when a test fails (or with --nocapture).
    eprintln!("{stdout}{stderr}");
    for secret in secrets.iter().chain(&[HS_SECRET, TICKET_SECRET]) {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "a secret was printed:\n{stdout}{stderr}"
        );
    }
    assert!(
        !stdout.contains("X-Amz-Signature"),
        "a signed URL was printed"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    stdout
}

/// The line of `check` (`bucket NAME`, `cors NAME`...), which must exist.
pub(crate) fn line<'a>(report: &'a str, check: &str) -> &'a str {
    report
        .lines()
        .find(|l| {
            l.get(5..)
                .is_some_and(|rest| rest.starts_with(&format!("{check}: ")))
        })
        .unwrap_or_else(|| panic!("no {check:?} line in:\n{report}"))
}

fn healthy<'a>(t: &'a Ctx) -> Setup<'a> {
    Setup {
        bucket: t.bucket.as_str(),
        secret_key: t.bed.credentials.secret_access_key.expose(),
        ticket_ttl_secs: None,
        jwks_url: None,
    }
}

/// The rule of policies/bucket-cors.json, for [`ORIGIN`].
fn recommended_cors() -> CorsRule {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/bucket-cors.json");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let rule = &json["CORSRules"][0];
    let list = |field: &str| -> Vec<String> {
        rule[field]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(list("AllowedOrigins"), [ORIGIN]);
    CorsRule::builder()
        .allowed_origins(ORIGIN)
        .set_allowed_methods(Some(list("AllowedMethods")))
        .set_allowed_headers(Some(list("AllowedHeaders")))
        .set_expose_headers(Some(list("ExposeHeaders")))
        .max_age_seconds(3000)
        .build()
        .unwrap()
}

/// Replaces the bucket's CORS rules with `rules`, in order.
async fn put_cors(t: &Ctx, rules: Vec<CorsRule>) {
    t.bed
        .s3
        .put_bucket_cors()
        .bucket(t.bucket.as_str())
        .cors_configuration(
            CorsConfiguration::builder()
                .set_cors_rules(Some(rules))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("PutBucketCors");
}

/// An enabled rule aborting incomplete multipart uploads under `prefix` after `days`.
fn abort_rule(id: &str, prefix: &str, days: i32) -> LifecycleRule {
    LifecycleRule::builder()
        .id(id)
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix(prefix).build())
        .abort_incomplete_multipart_upload(
            AbortIncompleteMultipartUpload::builder()
                .days_after_initiation(days)
                .build(),
        )
        .build()
        .unwrap()
}

/// Replaces the bucket's lifecycle rules with `rules`.
async fn put_lifecycle(t: &Ctx, rules: Vec<LifecycleRule>) {
    t.bed
        .s3
        .put_bucket_lifecycle_configuration()
        .bucket(t.bucket.as_str())
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .set_rules(Some(rules))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("PutBucketLifecycleConfiguration");
}

/// Turns S3 Block Public Access on for the bucket (the `public-access` check fails without).
async fn block_public_access(t: &Ctx) {
    crate::service_public_acls::put_public_access_block(t, true, true)
        .await
        .expect("PutPublicAccessBlock");
}

/// Gives the bucket the project's recommended CORS rule (for [`ORIGIN`]) and lifecycle rule,
/// and blocks public access.
async fn prepare_bucket(t: &Ctx) {
    block_public_access(t).await;
    put_cors(t, vec![recommended_cors()]).await;
    put_lifecycle(
        t,
        vec![abort_rule("abort-incomplete-multipart-uploads", "", 7)],
    )
    .await;
}

/// A correct configuration passes: exit 0, no FAIL; the bucket and clock are checked. On
/// s3s-fs, which has no bucket CORS or lifecycle calls, those two checks warn (not fail).
async fn healthy_configuration_passes(t: Ctx) {
    if t.bed.server == Server::Ceph {
        prepare_bucket(&t).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), t.bed, &healthy(&t));
    let out = doctor(&config).await;
    let secret = t.bed.credentials.secret_access_key.expose();
    let report = report(&out, &[secret]);
    assert!(out.status.success(), "exit {:?}:\n{report}", out.status);
    assert!(!report.contains("FAIL"), "{report}");
    let name = t.bucket.as_str();
    for check in [
        "config",
        "profiles",
        "credentials",
        "clock",
        &format!("bucket {name}"),
    ] {
        assert!(line(&report, check).starts_with("ok "), "{report}");
    }
    let cors = line(&report, &format!("cors {name}"));
    let lifecycle = line(&report, &format!("lifecycle {name}"));
    match t.bed.server {
        Server::Ceph => {
            assert!(cors.starts_with("ok "), "{report}");
            assert!(cors.contains("ETag exposed"), "{report}");
            assert!(lifecycle.starts_with("ok "), "{report}");
            assert!(lifecycle.contains("after 7 d"), "{report}");
        }
        Server::S3sFs => {
            assert!(cors.starts_with("warn "), "{report}");
            assert!(
                cors.contains("does not implement GetBucketCors"),
                "{report}"
            );
            assert!(lifecycle.starts_with("warn "), "{report}");
        }
    }
    assert!(line(&report, "ticket-keys").starts_with("ok "), "{report}");
    assert!(line(&report, "public-url").starts_with("ok "), "{report}");
    let public_access = line(&report, &format!("public-access {name}"));
    match t.bed.server {
        Server::Ceph => assert!(public_access.starts_with("ok "), "{report}"),
        Server::S3sFs => assert!(public_access.starts_with("warn "), "{report}"),
    }
    // Named-account grants are checked with `backend = "ceph"` only, which this configuration
    // does not set (`service_public_acls` checks it on Ceph).
    assert!(!report.contains("acl-grants "), "{report}");
    assert!(
        report.trim_end().ends_with("nothing failed"),
        "summary: {report}"
    );
}

/// A bucket that does not exist fails, naming it.
async fn missing_bucket_fails(t: Ctx) {
    let missing = format!(
        "{}-gone",
        &t.bucket.as_str()[..40.min(t.bucket.as_str().len())]
    );
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        t.bed,
        &Setup {
            bucket: &missing,
            ..healthy(&t)
        },
    );
    let out = doctor(&config).await;
    let report = report(&out, &[t.bed.credentials.secret_access_key.expose()]);
    assert_eq!(out.status.code(), Some(1), "{report}");
    let bucket = line(&report, &format!("bucket {missing}"));
    assert!(bucket.starts_with("FAIL "), "{report}");
    assert!(bucket.contains("does not exist"), "{report}");
    // Its CORS and lifecycle are not inspected.
    assert!(!report.contains(&format!("cors {missing}")), "{report}");
}

/// A wrong secret key fails the bucket check with S3's code, and is never printed.
async fn bad_credentials_fail(t: Ctx) {
    let wrong = "wrong-secret-key-0123456789-abcdefghij";
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        t.bed,
        &Setup {
            secret_key: wrong,
            ..healthy(&t)
        },
    );
    let out = doctor(&config).await;
    let report = report(&out, &[wrong, t.bed.credentials.secret_access_key.expose()]);
    assert_eq!(out.status.code(), Some(1), "{report}");
    // Static keys resolve; S3 is what refuses them.
    assert!(line(&report, "credentials").starts_with("ok "), "{report}");
    let bucket = line(&report, &format!("bucket {}", t.bucket.as_str()));
    assert!(bucket.starts_with("FAIL "), "{report}");
    assert!(
        bucket.contains("SignatureDoesNotMatch") || bucket.contains("AccessDenied"),
        "S3's code expected: {report}"
    );
    assert!(bucket.contains("credentials"), "{report}");
}

/// On a store with bucket CORS and lifecycle rules, a bare bucket gets a warning for each,
/// with the fix; warnings alone exit 0.
async fn missing_cors_and_lifecycle_warn(t: Ctx) {
    block_public_access(&t).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), t.bed, &healthy(&t));
    let out = doctor(&config).await;
    let report = report(&out, &[t.bed.credentials.secret_access_key.expose()]);
    assert!(out.status.success(), "{report}");
    let name = t.bucket.as_str();
    let cors = line(&report, &format!("cors {name}"));
    assert!(cors.starts_with("warn "), "{report}");
    assert!(cors.contains("no CORS rules"), "{report}");
    assert!(cors.contains("policies/bucket-cors.json"), "{report}");
    let lifecycle = line(&report, &format!("lifecycle {name}"));
    assert!(lifecycle.starts_with("warn "), "{report}");
    assert!(lifecycle.contains("\"users/\""), "{report}");
    assert!(
        lifecycle.contains("policies/bucket-lifecycle.json"),
        "{report}"
    );
}

/// A CORS rule without `ETag` exposed, for multipart profiles, is a warning naming it.
async fn cors_without_etag_warns(t: Ctx) {
    let rule = CorsRule::builder()
        .allowed_origins(ORIGIN)
        .allowed_methods("PUT")
        .allowed_methods("POST")
        .allowed_headers("*")
        .build()
        .unwrap();
    put_cors(&t, vec![rule]).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), t.bed, &healthy(&t));
    let out = doctor(&config).await;
    let report = report(&out, &[t.bed.credentials.secret_access_key.expose()]);
    let cors = line(&report, &format!("cors {}", t.bucket.as_str()));
    assert!(cors.starts_with("warn "), "{report}");
    assert!(cors.contains("does not expose ETag"), "{report}");
}

/// S3 answers a preflight with the first rule matching origin, method and every requested
/// header: a first rule for PUT that lacks the signed headers is skipped when a later rule
/// allows them all, and a warning naming the lacking headers when none does.
async fn cors_rules_must_allow_every_signed_header(t: Ctx) {
    let all_methods = ["PUT", "POST", "GET", "DELETE"].map(String::from).to_vec();
    let narrow = CorsRule::builder()
        .allowed_origins(ORIGIN)
        .set_allowed_methods(Some(all_methods.clone()))
        .allowed_headers("content-type")
        .expose_headers("ETag")
        .build()
        .unwrap();
    let wide = CorsRule::builder()
        .allowed_origins(ORIGIN)
        .set_allowed_methods(Some(all_methods))
        .allowed_headers("*")
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), t.bed, &healthy(&t));
    let check = format!("cors {}", t.bucket.as_str());
    let secret = t.bed.credentials.secret_access_key.expose();

    block_public_access(&t).await;
    put_cors(&t, vec![narrow.clone()]).await;
    let out = doctor(&config).await;
    let first = report(&out, &[secret]);
    assert!(out.status.success(), "warnings only: {first}");
    let cors = line(&first, &check);
    assert!(cors.starts_with("warn "), "{first}");
    assert!(
        cors.contains(&format!(
            "the first rule for PUT from {ORIGIN} does not allow the headers content-md5, \
             if-none-match, x-amz-checksum-crc32,"
        )),
        "{first}"
    );

    // The preflight passes with the second rule; the PUT itself is answered with the first,
    // which exposes ETag.
    put_cors(&t, vec![narrow, wide]).await;
    let out = doctor(&config).await;
    let report = report(&out, &[secret]);
    let cors = line(&report, &check);
    assert!(cors.starts_with("ok "), "{report}");
    assert!(
        cors.contains("PUT, POST, GET and DELETE allowed"),
        "{report}"
    );
}

/// With overlapping lifecycle rules, S3 applies the shortest: a 1-day rule under `users/`
/// aborts uploads whose 7-day tickets still live, even next to a 7-day rule for the bucket.
async fn the_shortest_overlapping_lifecycle_rule_counts(t: Ctx) {
    block_public_access(&t).await;
    put_cors(&t, vec![recommended_cors()]).await;
    put_lifecycle(
        &t,
        vec![abort_rule("R1", "", 7), abort_rule("R2", "users/", 1)],
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        t.bed,
        &Setup {
            ticket_ttl_secs: Some(604_800),
            ..healthy(&t)
        },
    );
    let out = doctor(&config).await;
    let report = report(&out, &[t.bed.credentials.secret_access_key.expose()]);
    assert!(out.status.success(), "warnings only: {report}");
    let lifecycle = line(&report, &format!("lifecycle {}", t.bucket.as_str()));
    assert!(lifecycle.starts_with("warn "), "{report}");
    assert!(lifecycle.contains("rule \"R2\""), "{report}");
    assert!(lifecycle.contains("after 1 d"), "{report}");
    assert!(lifecycle.contains("at least 7"), "{report}");
}

/// With the default chain and no credentials anywhere, the credentials check fails and no
/// S3 call is attempted.
async fn no_credentials_fail(t: Ctx) {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), t.bed, &healthy(&t));
    let text = std::fs::read_to_string(&config).unwrap();
    let default_chain: String = text
        .lines()
        .filter(|l| {
            ![
                "[s3.credentials]",
                "source =",
                "access_key_id =",
                "secret_access_key =",
            ]
            .iter()
            .any(|p| l.starts_with(p))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&config, default_chain).unwrap();
    let out = doctor(&config).await;
    let report = report(&out, &[t.bed.credentials.secret_access_key.expose()]);
    assert_eq!(out.status.code(), Some(1), "{report}");
    let credentials = line(&report, "credentials");
    assert!(credentials.starts_with("FAIL "), "{report}");
    assert!(credentials.contains("default credential chain"), "{report}");
    assert!(!report.contains("bucket "), "{report}");
}

on_both_servers!(
    healthy_configuration_passes,
    missing_bucket_fails,
    bad_credentials_fail
);

mod s3s_fs_only {
    #[test]
    fn no_credentials_fail() {
        crate::support::run(crate::support::Server::S3sFs, super::no_credentials_fail);
    }

    #[test]
    fn the_jwks_must_answer_with_a_usable_key() {
        crate::support::run(
            crate::support::Server::S3sFs,
            super::the_jwks_must_answer_with_a_usable_key,
        );
    }
}

/// Serves `body` with `status` to every request on 127.0.0.1 until the process ends; returns
/// the URL of its `/jwks.json`.
fn serve_forever(status: &'static str, body: String) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

/// With `[auth] jwks_url`, the issuer's key set must answer with a key usable for the
/// configured algorithms: a served EC key passes; an empty set, an error status and a closed
/// port fail (exit 1), naming only the issuer's origin.
async fn the_jwks_must_answer_with_a_usable_key(t: Ctx) {
    let mut key: serde_json::Value =
        serde_json::from_str(include_str!("../fixtures/auth/ec1.jwk.json")).unwrap();
    key["kid"] = serde_json::json!("ec-1");
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let cases = [
        (
            serve_forever("200 OK", serde_json::json!({ "keys": [key] }).to_string()),
            "ok ",
        ),
        (
            serve_forever("200 OK", r#"{"keys":[]}"#.to_owned()),
            "FAIL ",
        ),
        (
            serve_forever("503 Service Unavailable", "{}".to_owned()),
            "FAIL ",
        ),
        (
            format!("http://{closed}/jwks.json?token=not-for-logs"),
            "FAIL ",
        ),
    ];
    for (url, verdict) in cases {
        let dir = tempfile::tempdir().unwrap();
        let config = write_config(
            dir.path(),
            t.bed,
            &Setup {
                jwks_url: Some(&url),
                ..healthy(&t)
            },
        );
        let out = doctor(&config).await;
        let report = report(&out, &["not-for-logs"]);
        let jwks = line(&report, "jwks");
        assert!(jwks.starts_with(verdict), "{url}: {report}");
        assert!(
            !jwks.contains("jwks.json"),
            "only the origin is named: {jwks}"
        );
        let failed = verdict.starts_with("FAIL");
        assert_eq!(
            out.status.code(),
            Some(i32::from(failed)),
            "{url}: {report}"
        );
    }
}

/// Tests that need bucket CORS and lifecycle calls, which only Ceph implements.
macro_rules! ceph_only {
    ($($name:ident),* $(,)?) => {
        mod ceph_only {
            $(
                #[test]
                fn $name() {
                    crate::support::run(crate::support::Server::Ceph, super::$name);
                }
            )*
        }
    };
}

ceph_only!(
    missing_cors_and_lifecycle_warn,
    cors_without_etag_warns,
    cors_rules_must_allow_every_signed_header,
    the_shortest_overlapping_lifecycle_rule_counts,
);

/// A configuration error is one FAIL line and exit 1, with the key named and the (possibly
/// secret) value left out; no server is needed.
#[test]
fn configuration_error_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "hunter2-is-not-a-list-of-secrets";
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[s3]\nregion = \"eu-west-3\"\n\n[auth]\nissuer = \"https://i.example\"\n\
             audience = \"a\"\nalgorithms = [\"HS256\"]\nhs_secrets = \"{secret}\"\n"
        ),
    )
    .unwrap();
    let out = crate::support::runtime().block_on(doctor(&config));
    let text = report(&out, &[secret]);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let fails: Vec<&str> = text.lines().filter(|l| l.starts_with("FAIL")).collect();
    assert_eq!(fails.len(), 1, "{text}");
    assert!(fails[0].starts_with("FAIL config: "), "{text}");
    assert!(fails[0].contains("hs_secrets"), "{text}");
    assert_eq!(
        text.lines().count(),
        2,
        "the failure and the summary: {text}"
    );

    let missing = dir.path().join("nowhere.toml");
    let out = crate::support::runtime().block_on(doctor(&missing));
    let text = report(&out, &[]);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(line(&text, "config").contains("does not exist"), "{text}");
}

/// When the report cannot be written (stdout full), doctor exits 2, not 1: it did not run,
/// whatever the checks would have said.
#[test]
fn an_unwritable_report_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere.toml");
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_s3-broker"))
        .env("HOME", dir.path())
        .args(["doctor", "--config"])
        .arg(&missing)
        .stdout(full)
        .output()
        .expect("run s3-broker doctor");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot write the report"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
