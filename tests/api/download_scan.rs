//! Scan-gated downloads (a profile's `scan`) against the S3 stub: the answer for each state of
//! the scan tag, that one GetObjectTagging replaces the HeadObject and is cached, and that every
//! failure of the tag read closes the gate. The same gate against Ceph's real object tags is in
//! `tests/e2e/service_scan.rs`; profile validation is at the end.

use crate::s3_stub::{OnComplete, OnTagging, S3Stub};
use crate::support::{Broker, SCANNED_PROFILE};
use s3_broker::config::ConfigBuilder;

/// The bucket of the test configuration.
const BUCKET: &str = "api-tests";
/// GuardDuty's tag.
const TAG: &str = "GuardDutyMalwareScanStatus";

fn key(name: &str) -> String {
    format!("scanned/alice/0b6f8e2a-1c3d-4e5f-8a9b-0c1d2e3f4a5b-{name}")
}

#[actix_web::test]
async fn pending_is_409_with_retry_after_then_clean_gets_its_grant() {
    let stub = S3Stub::start(OnComplete::Answer, &[]);
    let broker = Broker::against_s3(&stub.endpoint, 3).await;
    let alice = broker.token("alice");
    let report = key("report.pdf");
    stub.put_object(BUCKET, &report, 5);
    let reply = broker.download(&alice, &report).await;
    let problem = reply.problem(409, "scan_pending", "an object not scanned yet");
    assert_eq!(reply.header("retry-after"), Some("5"), "{reply:?}");
    assert!(
        problem["detail"].as_str().unwrap().contains(TAG),
        "{problem}"
    );
    assert_eq!(stub.reads(), ["GetObjectTagging"], "the tag, and no HEAD");
    broker
        .download(&alice, &report)
        .await
        .problem(409, "scan_pending", "asked again at once");
    assert_eq!(
        stub.reads(),
        ["GetObjectTagging"],
        "answered from the cache"
    );

    let clean = key("clean.pdf");
    stub.put_object(BUCKET, &clean, 5);
    stub.tag_object(BUCKET, &clean, TAG, "NO_THREATS_FOUND");
    for _ in 0..2 {
        let grant = broker
            .download(&alice, &clean)
            .await
            .grant("a clean object");
        assert_eq!(grant.key(), clean);
    }
    assert_eq!(
        stub.reads(),
        ["GetObjectTagging", "GetObjectTagging"],
        "one tag read for two grants, no HEAD"
    );
}

#[actix_web::test]
async fn every_value_but_the_clean_one_is_quarantined() {
    let stub = S3Stub::start(OnComplete::Answer, &[]);
    let broker = Broker::against_s3(&stub.endpoint, 3).await;
    let alice = broker.token("alice");
    for value in [
        "THREATS_FOUND",
        "UNSUPPORTED",
        "ACCESS_DENIED",
        "FAILED",
        "no_threats_found",
    ] {
        let object = key(&format!("{value}.pdf"));
        stub.put_object(BUCKET, &object, 5);
        stub.tag_object(BUCKET, &object, TAG, value);
        let reply = broker.download(&alice, &object).await;
        let problem = reply.problem(403, "quarantined", value);
        assert!(
            problem["detail"].as_str().unwrap().contains(value),
            "{problem}"
        );
        assert_eq!(reply.header("retry-after"), None, "{value}: final");
    }
    // Another tag, whatever its value, is not the scan's.
    let other = key("other-tag.pdf");
    stub.put_object(BUCKET, &other, 5);
    stub.tag_object(BUCKET, &other, "s3-broker-verification", "NO_THREATS_FOUND");
    broker
        .download(&alice, &other)
        .await
        .problem(409, "scan_pending", "only another tag");
}

/// An object a verification quarantined (`s3-broker-verification=mismatch`) is not served,
/// whether the scanner then tagged it clean next to that tag, or the quarantine replaced the
/// scanner's tag: 403 `quarantined`, never a grant nor a `scan_pending` that never ends.
#[actix_web::test]
async fn an_object_verify_quarantined_is_never_served() {
    let stub = S3Stub::start(OnComplete::Answer, &[]);
    let broker = Broker::against_s3(&stub.endpoint, 3).await;
    let alice = broker.token("alice");
    let scanned_after = key("scanned-after.pdf");
    stub.put_object(BUCKET, &scanned_after, 5);
    stub.tag_object(BUCKET, &scanned_after, "s3-broker-verification", "mismatch");
    stub.add_tag(BUCKET, &scanned_after, TAG, "NO_THREATS_FOUND");
    for attempt in ["first", "from the cache"] {
        let problem =
            broker
                .download(&alice, &scanned_after)
                .await
                .problem(403, "quarantined", attempt);
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains("s3-broker-verification"), "{detail}");
    }
    assert_eq!(stub.reads(), ["GetObjectTagging"], "the answer is cached");

    let scanned_before = key("scanned-before.pdf");
    stub.put_object(BUCKET, &scanned_before, 5);
    stub.tag_object(
        BUCKET,
        &scanned_before,
        "s3-broker-verification",
        "mismatch",
    );
    let reply = broker.download(&alice, &scanned_before).await;
    reply.problem(
        403,
        "quarantined",
        "the scan tag replaced by the quarantine",
    );
    assert_eq!(reply.header("retry-after"), None, "final: {reply:?}");
}

/// A verification that deletes the object drops what the scan gate cached of it: the next
/// download asks S3 again (404), rather than granting a URL for an object that is gone.
#[actix_web::test]
async fn a_mismatch_drops_the_cached_scan_verdict() {
    let stub = S3Stub::start(OnComplete::Answer, &[]);
    let broker = Broker::against_s3(&stub.endpoint, 3).await;
    let alice = broker.token("alice");
    let grant = broker
        .call("POST", "/v1/uploads")
        .bearer(&alice)
        .json(
            &serde_json::json!({"profile": "scanned", "filename": "a.txt",
                                  "content_type": "text/plain", "size": 10}),
        )
        .send()
        .await;
    grant.assert_status(200, "an upload grant");
    let (object, token) = (grant.json()["key"].clone(), grant.json()["upload"].clone());
    let object = object.as_str().unwrap();
    stub.put_object(BUCKET, object, 5);
    stub.tag_object(BUCKET, object, TAG, "NO_THREATS_FOUND");
    broker.download(&alice, object).await.grant("clean");
    let verify = broker
        .call("POST", "/v1/uploads/verify")
        .bearer(&alice)
        .json(&serde_json::json!({ "upload": token }))
        .send()
        .await;
    verify.problem(422, "upload_mismatch", "5 bytes where 10 were declared");
    assert_eq!(stub.object(BUCKET, object), None, "deleted");
    broker.download(&alice, object).await.problem(
        404,
        "object_not_found",
        "deleted by the verification",
    );
}

#[actix_web::test]
async fn a_missing_object_is_404_even_when_s3_hides_it() {
    let stub = S3Stub::start(OnComplete::Answer, &[]);
    let broker = Broker::against_s3(&stub.endpoint, 3).await;
    let alice = broker.token("alice");
    broker.download(&alice, &key("gone.pdf")).await.problem(
        404,
        "object_not_found",
        "no such object",
    );
    assert_eq!(stub.reads(), ["GetObjectTagging"]);
    stub.hide_missing_objects();
    broker.download(&alice, &key("hidden.pdf")).await.problem(
        404,
        "object_not_found",
        "a missing object behind 403",
    );
    assert_eq!(
        stub.reads(),
        ["GetObjectTagging", "GetObjectTagging", "ListObjectsV2"]
    );
}

#[actix_web::test]
async fn a_refused_or_unimplemented_tag_read_is_502_never_a_grant() {
    let stub = S3Stub::start(OnComplete::Answer, &[]);
    let broker = Broker::against_s3(&stub.endpoint, 3).await;
    let alice = broker.token("alice");
    let object = key("report.pdf");
    stub.put_object(BUCKET, &object, 5);
    stub.tag_object(BUCKET, &object, TAG, "NO_THREATS_FOUND");
    stub.on_tagging(OnTagging::Deny);
    broker
        .download(&alice, &object)
        .await
        .problem(502, "s3_refused", "no s3:GetObjectTagging");
    assert_eq!(
        stub.reads(),
        ["GetObjectTagging", "ListObjectsV2"],
        "the listing tells a refusal from a missing key"
    );
    stub.on_tagging(OnTagging::NotImplemented);
    let problem =
        broker
            .download(&alice, &object)
            .await
            .problem(502, "s3_refused", "a store without tags");
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("does not implement object tags"),
        "{detail}"
    );
}

#[actix_web::test]
async fn a_tag_read_that_never_answers_is_503_within_the_budget() {
    let stub = S3Stub::start(OnComplete::Answer, &[]);
    let broker = Broker::against_s3(&stub.endpoint, 1).await;
    let alice = broker.token("alice");
    let object = key("report.pdf");
    stub.put_object(BUCKET, &object, 5);
    stub.on_tagging(OnTagging::Hang);
    let started = std::time::Instant::now();
    let reply = broker.download(&alice, &object).await;
    reply.problem(503, "s3_unavailable", "GetObjectTagging hangs");
    assert_eq!(reply.header("retry-after"), Some("5"), "{reply:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

/// The `scan` setting is checked when the profiles load: S3's tag rules, no unknown field, and
/// a backend that keeps object tags.
#[test]
fn scan_settings_are_checked_at_startup() {
    let load = |profile: &str, backend: &str| {
        let policies = tempfile::tempdir().expect("a directory");
        std::fs::write(policies.path().join("default.toml"), profile).expect("a profile");
        let settings = ConfigBuilder::new()
            .store("us-east-1", "scan-tests", "http://127.0.0.1:9")
            .set("s3", "backend", backend)
            .static_credentials("AKIDEXAMPLE", "secret")
            .hs256("iss", "aud", "0123456789abcdef0123456789abcdef")
            .set(
                "policies",
                "dir",
                policies.path().to_string_lossy().as_ref(),
            )
            .settings()
            .expect("the settings");
        s3_broker::app::load_profiles(&settings).map(|_| ())
    };
    assert!(load(SCANNED_PROFILE, "aws").is_ok());
    assert!(load(SCANNED_PROFILE, "ceph").is_ok());
    let r2 = load(SCANNED_PROFILE, "r2").unwrap_err().to_string();
    assert!(r2.contains("keeps no object tags"), "{r2}");
    let with = |scan: &str| {
        SCANNED_PROFILE.replace(
            "scan = { tag = \"GuardDutyMalwareScanStatus\", clean = \"NO_THREATS_FOUND\" }",
            scan,
        )
    };
    for (scan, expected) in [
        ("scan = { tag = \"aws:scan\", clean = \"ok\" }", "reserved"),
        ("scan = { tag = \"scan\", clean = \"\" }", "clean must be"),
        ("scan = { tag = \"scan\" }", "missing field `clean`"),
        ("scan = { tag = \"s\", clean = \"c\", ttl = 5 }", "ttl"),
        ("scan = \"GuardDutyMalwareScanStatus\"", "scan"),
    ] {
        let err = load(&with(scan), "aws").unwrap_err().to_string();
        assert!(err.contains(expected), "{scan}: {err}");
    }
}
