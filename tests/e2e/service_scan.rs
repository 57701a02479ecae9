//! Scan-gated downloads on real servers. Ceph radosgw keeps object tags: the test plays the
//! scanner (PutObjectTagging with GuardDuty's tag and values) and checks the broker's answers,
//! that a clean grant's URL downloads the bytes, and that Ceph itself enforces the bucket
//! policy of `policies/bucket-policy-scan-ceph.json` on presigned GETs. s3s-fs has no object
//! tags and no bucket policies: the broker answers 502 `s3_refused` (never a grant) and
//! `doctor` fails the scan-policy check. Ceph also takes an `x-amz-tagging` header that a
//! presigned PUT did not sign, so the policy must deny uploads that set the scan tag.

use crate::support::broker::{Broker, Options};
use crate::support::http::{send, send_raw};
use crate::support::{Ctx, Server};
use s3_broker::sigv4::S3Operation;
use serde_json::json;
use std::path::Path;
use std::time::Duration;

on_both_servers!(
    downloads_wait_for_a_clean_scan,
    ceph_enforces_the_scan_bucket_policy_on_presigned_gets,
    doctor_checks_the_scan_bucket_policy,
);

/// GuardDuty's tag and clean value.
const TAG: &str = "GuardDutyMalwareScanStatus";
const CLEAN: &str = "NO_THREATS_FOUND";

/// Downloads under `scanned/` wait for GuardDuty's verdict.
const SCANNED: &str = include_str!("../fixtures/scan/scanned.toml");

const BYTES: &[u8] = b"%PDF-1.4 scanned bytes";

async fn tag(t: &Ctx, key: &str, value: &str) {
    tags(t, key, &[(TAG, value)]).await;
}

/// Replaces the tag set of `key` with `pairs`.
async fn tags(t: &Ctx, key: &str, pairs: &[(&str, &str)]) {
    let mut tagging = aws_sdk_s3::types::Tagging::builder();
    for (name, value) in pairs {
        let tag = aws_sdk_s3::types::Tag::builder()
            .key(*name)
            .value(*value)
            .build()
            .unwrap();
        tagging = tagging.tag_set(tag);
    }
    let tagging = tagging.build().unwrap();
    t.bed
        .s3
        .put_object_tagging()
        .bucket(t.bucket.as_str())
        .key(key)
        .tagging(tagging)
        .send()
        .await
        .unwrap_or_else(|e| panic!("PutObjectTagging {key}: {e:?}"));
}

async fn downloads_wait_for_a_clean_scan(t: Ctx) {
    let options = Options {
        extra_profiles: vec![("scanned", SCANNED)],
        ..Options::default()
    };
    let broker = Broker::start_with(t.bed, t.bucket.as_str(), options).await;
    let alice = broker.token("alice");
    let pending = "scanned/alice/pending.pdf";
    t.put(pending, BYTES).await;
    if t.bed.server == Server::S3sFs {
        // No object tags: the gate never opens, and says why.
        let problem = broker.download(&alice, pending).await.problem(
            502,
            "s3_refused",
            "a store without object tags",
        );
        let detail = problem["detail"].as_str().unwrap();
        assert!(
            detail.contains("does not implement object tags"),
            "{detail}"
        );
        return;
    }
    let reply = broker.download(&alice, pending).await;
    reply.problem(409, "scan_pending", "not scanned yet");
    let wait: u64 = reply
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");

    let clean = "scanned/alice/clean.pdf";
    t.put(clean, BYTES).await;
    tag(&t, clean, CLEAN).await;
    let grant = broker.download(&alice, clean).await.grant("scanned clean");
    let got = grant.get().await;
    got.assert_ok("GET with the clean grant");
    assert_eq!(got.body, BYTES);

    for threat in ["THREATS_FOUND", "UNSUPPORTED", "FAILED"] {
        let key = format!("scanned/alice/{threat}.pdf");
        t.put(&key, BYTES).await;
        tag(&t, &key, threat).await;
        broker
            .download(&alice, &key)
            .await
            .problem(403, "quarantined", threat);
    }
    // Quarantined by a verification (its tag), then tagged clean by the scanner next to it.
    let quarantined = "scanned/alice/quarantined.pdf";
    t.put(quarantined, BYTES).await;
    let (name, value) = s3_broker::s3::QUARANTINE_TAG;
    tags(&t, quarantined, &[(name, value), (TAG, CLEAN)]).await;
    broker.download(&alice, quarantined).await.problem(
        403,
        "quarantined",
        "quarantined by verify, scanned clean",
    );
    broker
        .download(&alice, "scanned/alice/never-uploaded.pdf")
        .await
        .problem(404, "object_not_found", "no object");

    // The scan finishes; after Retry-After the same object gets its grant.
    tag(&t, pending, CLEAN).await;
    tokio::time::sleep(Duration::from_secs(wait)).await;
    let grant = broker
        .download(&alice, pending)
        .await
        .grant("scanned after Retry-After");
    grant.get().await.assert_ok("GET once clean");
}

/// `policies/bucket-policy-scan-ceph.json` for this test's bucket.
fn ceph_policy(bucket: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/bucket-policy-scan-ceph.json");
    std::fs::read_to_string(path)
        .expect("the shipped policy")
        .replace("my-uploads", bucket)
}

/// PutBucketPolicy of `policy` on the test's bucket, or the SDK's error as text.
pub(crate) async fn put_policy(t: &Ctx, policy: &str) -> Result<(), String> {
    t.bed
        .s3
        .put_bucket_policy()
        .bucket(t.bucket.as_str())
        .policy(policy)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| format!("{}", aws_sdk_s3::error::DisplayErrorContext(&e)))
}

async fn ceph_enforces_the_scan_bucket_policy_on_presigned_gets(t: Ctx) {
    let key = "scanned/alice/report.pdf";
    t.put(key, BYTES).await;
    let policy = ceph_policy(t.bucket.as_str());
    if t.bed.server == Server::S3sFs {
        let refused = put_policy(&t, &policy).await;
        assert!(refused.is_err(), "s3s-fs has no bucket policies");
        return;
    }
    put_policy(&t, &policy).await.expect("PutBucketPolicy");
    let get = t.presign(&t.request(S3Operation::GetObject, key));
    send(&get, None)
        .await
        .assert_rejected("a valid presigned GET of an object without the scan tag");
    tag(&t, key, "THREATS_FOUND").await;
    send(&get, None)
        .await
        .assert_rejected("the same URL once the scan found a threat");
    tag(&t, key, CLEAN).await;
    let clean = send(&get, None).await;
    clean.assert_ok("the same URL once the scan says clean");
    assert_eq!(clean.body, BYTES);

    // The broker's own grant (its grant id and signed disposition included) works under the
    // policy once the object is clean, and a new, unscanned object gets 409, not a URL.
    let options = Options {
        extra_profiles: vec![("scanned", SCANNED)],
        ..Options::default()
    };
    let broker = Broker::start_with(t.bed, t.bucket.as_str(), options).await;
    let alice = broker.token("alice");
    let grant = broker
        .download(&alice, key)
        .await
        .grant("clean, under the policy");
    let got = grant.get().await;
    got.assert_ok("the broker's grant under the policy");
    assert_eq!(got.body, BYTES);
    let unscanned = "scanned/alice/unscanned.pdf";
    t.put(unscanned, BYTES).await;
    broker.download(&alice, unscanned).await.problem(
        409,
        "scan_pending",
        "unscanned, under the policy",
    );

    // Ceph takes an x-amz-tagging header the PUT URL did not sign: without the policy, the
    // holder of an upload grant tags its own bytes clean, and gets them served unscanned.
    let self_tagged = |grant: &crate::support::broker::Grant| {
        let mut headers = grant.put_headers();
        headers.push(("x-amz-tagging".to_owned(), format!("{TAG}={CLEAN}")));
        headers
    };
    let upload = json!({"profile": "scanned", "filename": "self.pdf",
                        "content_type": "application/pdf", "size": BYTES.len()});
    let grant = broker.upload_grant(&alice, upload.clone()).await;
    let headers = self_tagged(&grant);
    send_raw("PUT", grant.url(), &headers, Some(BYTES.to_vec()))
        .await
        .assert_rejected("a PUT that writes the scan tag itself, under the shipped policy");
    let grant = broker.upload_grant(&alice, upload.clone()).await;
    grant
        .put(BYTES)
        .await
        .assert_ok("a PUT without tags, under the policy");
    let key = grant.str("key").to_owned();
    broker
        .download(&alice, &key)
        .await
        .problem(409, "scan_pending", "uploaded, not scanned");
    let without = serde_json::from_str::<serde_json::Value>(&policy).unwrap();
    let statements = without["Statement"].as_array().unwrap();
    let gets: Vec<_> = statements
        .iter()
        .filter(|s| s["Action"] != "s3:PutObject")
        .collect();
    assert_eq!(gets.len() + 1, statements.len(), "one statement on uploads");
    let gets_only = json!({"Version": "2012-10-17", "Statement": gets}).to_string();
    put_policy(&t, &gets_only).await.expect("PutBucketPolicy");
    let grant = broker.upload_grant(&alice, upload).await;
    let headers = self_tagged(&grant);
    send_raw("PUT", grant.url(), &headers, Some(BYTES.to_vec()))
        .await
        .assert_ok("Ceph: an unsigned x-amz-tagging header is taken");
    let key = grant.str("key").to_owned();
    broker
        .download(&alice, &key)
        .await
        .grant("what the policy's upload statement prevents");
    put_policy(&t, &policy).await.expect("PutBucketPolicy");

    // What Ceph 16 does not evaluate: a StringNotEquals on a missing tag is false there (AWS
    // makes it true), so the AWS policy's statements alone leave an untagged object open.
    let fresh = "scanned/alice/fresh.pdf";
    t.put(fresh, BYTES).await;
    let aws_only = ceph_policy(t.bucket.as_str()).replace("\"Null\"", "\"StringNotEquals\"");
    let aws_only = aws_only.replace(
        &format!("\"s3:ExistingObjectTag/{TAG}\": \"true\""),
        &format!("\"s3:ExistingObjectTag/{TAG}\": \"{CLEAN}\""),
    );
    put_policy(&t, &aws_only).await.expect("PutBucketPolicy");
    let open = send(&t.presign(&t.request(S3Operation::GetObject, fresh)), None).await;
    open.assert_ok("Ceph: StringNotEquals alone does not deny an untagged object");
}

/// `doctor` with a scan profile: FAIL without the bucket policy, ok with the shipped one (on
/// Ceph, with `backend = "ceph"`); on s3s-fs FAIL, as it has no bucket policies.
async fn doctor_checks_the_scan_bucket_policy(t: Ctx) {
    let dir = tempfile::tempdir().unwrap();
    let path =
        crate::doctor::backend_config(dir.path(), &t, &SCANNED.replace("scanned/", "users/"));
    let secret = t.bed.credentials.secret_access_key.expose();
    let check = format!("scan-policy {}", t.bucket.as_str());

    let out = crate::doctor::doctor(&path).await;
    let report = crate::doctor::report(&out, &[secret]);
    let line = crate::doctor::line(&report, &check);
    assert!(line.starts_with("FAIL "), "{report}");
    assert!(!out.status.success(), "{report}");
    if t.bed.server == Server::S3sFs {
        assert!(
            line.contains("does not implement GetBucketPolicy"),
            "{report}"
        );
        return;
    }
    assert!(line.contains("no bucket policy"), "{report}");

    // The AWS policy on Ceph: its statements need s3:authType, which Ceph lacks.
    let aws = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/bucket-policy-scan.json"),
    )
    .unwrap()
    .replace("my-uploads", t.bucket.as_str());
    put_policy(&t, &aws)
        .await
        .expect("Ceph takes the AWS policy (and never applies its statements)");
    let out = crate::doctor::doctor(&path).await;
    let report = crate::doctor::report(&out, &[secret]);
    assert!(
        crate::doctor::line(&report, &check).starts_with("FAIL "),
        "{report}"
    );

    put_policy(&t, &ceph_policy(t.bucket.as_str()))
        .await
        .expect("PutBucketPolicy");
    let out = crate::doctor::doctor(&path).await;
    let report = crate::doctor::report(&out, &[secret]);
    let line = crate::doctor::line(&report, &check);
    assert!(line.starts_with("ok "), "{report}");
}
