//! A signed POST form grants exactly what its policy says: every deviation is refused with a
//! 4xx and stores nothing. Each test first shows the honest form succeeds, so a refusal
//! proves the rule and not a broken setup.

use crate::support::tamper::{conditions, flip_signature, rewrite_policy};
use crate::support::{Ctx, FilePart, Server, fields, post, post_fields, set_field};
use chrono::{Duration, Utc};
use s3_broker::domain::{ContentType, Expiry};
use s3_broker::sigv4::{ContentTypeRule, KeyRule};
use serde_json::json;

on_both_servers!(
    size_outside_the_range,
    key_outside_the_prefix,
    other_content_type_than_allowed,
    tampered_signature,
    tampered_policy,
    form_for_one_bucket_cannot_write_another,
    expired_policy,
    old_but_unexpired_policy,
    missing_or_changed_signed_field,
    extra_unsigned_field,
);

async fn size_outside_the_range(t: Ctx) {
    let mut policy = t.policy(KeyRule::Prefix("sized/".into()));
    policy.size = Some((5, 10));
    let form = t.sign_policy(&policy);
    post(&form, &FilePart::new("good.bin", &[0; 7]))
        .await
        .assert_ok("POST of an allowed size");
    for (name, len) in [("small.bin", 4), ("big.bin", 11), ("empty.bin", 0)] {
        post(&form, &FilePart::new(name, &vec![0; len]))
            .await
            .assert_rejected(&format!("POST of {len} bytes outside 5..=10"));
    }
    t.assert_keys(&["sized/good.bin"], "after the refused POSTs")
        .await;
}

async fn key_outside_the_prefix(t: Ctx) {
    let form = t.sign_policy(&t.policy(KeyRule::Prefix("users/alice/".into())));
    post(&form, &FilePart::new("good.txt", b"x"))
        .await
        .assert_ok("POST under the prefix");
    for key in [
        "users/bob/evil.txt",
        "evil.txt",
        "users/alice",
        "Users/alice/x",
    ] {
        let mut cheat = fields(&form);
        set_field(&mut cheat, "key", key);
        post_fields(&form.url, &cheat, &FilePart::new("evil.txt", b"x"))
            .await
            .assert_rejected(&format!("POST to {key:?}, outside users/alice/"));
    }
    let exact = t.sign_policy(&t.policy(KeyRule::Exact(t.key("exact.txt"))));
    let mut cheat = fields(&exact);
    set_field(&mut cheat, "key", "exact.txt.evil");
    post_fields(&exact.url, &cheat, &FilePart::new("f", b"x"))
        .await
        .assert_rejected("POST to another key than the exact one");
    t.assert_keys(&["users/alice/good.txt"], "after the refused POSTs")
        .await;
}

async fn other_content_type_than_allowed(t: Ctx) {
    let rules = [
        ContentTypeRule::Exact(ContentType::new("image/png").unwrap()),
        ContentTypeRule::Prefix("image/".into()),
    ];
    for (i, rule) in rules.into_iter().enumerate() {
        let mut policy = t.policy(KeyRule::Prefix(format!("r{i}/")));
        policy.content_type = Some(rule.clone());
        let form = t.sign_policy(&policy);
        let mut honest = fields(&form);
        set_field(&mut honest, "Content-Type", "image/png");
        post_fields(&form.url, &honest, &FilePart::new("good.png", b"png"))
            .await
            .assert_ok(&format!("POST of image/png under {rule:?}"));
        for other in ["text/html", "image"] {
            let mut cheat = fields(&form);
            set_field(&mut cheat, "Content-Type", other);
            post_fields(&form.url, &cheat, &FilePart::new("evil.png", b"<html>"))
                .await
                .assert_rejected(&format!("POST of {other} under {rule:?}"));
        }
    }
    t.assert_keys(&["r0/good.png", "r1/good.png"], "after the refused POSTs")
        .await;
}

async fn tampered_signature(t: Ctx) {
    let form = t.sign_policy(&t.policy(KeyRule::Prefix("up/".into())));
    post(&form, &FilePart::new("good.txt", b"x"))
        .await
        .assert_ok("POST as signed");
    let mut cheat = fields(&form);
    let signature = flip_signature(form.field("x-amz-signature").unwrap());
    set_field(&mut cheat, "x-amz-signature", &signature);
    post_fields(&form.url, &cheat, &FilePart::new("evil.txt", b"x"))
        .await
        .assert_rejected("POST with a changed signature");
    t.assert_keys(&["up/good.txt"], "after the refused POST")
        .await;
}

async fn tampered_policy(t: Ctx) {
    let mut policy = t.policy(KeyRule::Prefix("up/".into()));
    policy.size = Some((1, 10));
    let form = t.sign_policy(&policy);
    post(&form, &FilePart::new("good.txt", b"x"))
        .await
        .assert_ok("POST as signed");

    // Each edit would let through an upload the signed policy refuses, if the server
    // accepted a policy that is not the one signed.
    let attempts: [(&str, PolicyEdit, &str, usize); 2] = [
        ("a wider key prefix", widen_key, "elsewhere/evil.txt", 1),
        ("a wider size range", widen_size, "up/big.txt", 100),
    ];
    for (what, edit, key, len) in attempts {
        let mut cheat = fields(&form);
        set_field(
            &mut cheat,
            "policy",
            &rewrite_policy(form.field("policy").unwrap(), edit),
        );
        set_field(&mut cheat, "key", key);
        post_fields(&form.url, &cheat, &FilePart::new("evil.txt", &vec![0; len]))
            .await
            .assert_rejected(&format!("POST with a policy changed to {what}"));
    }
    // An expired form revived by a later expiration.
    let mut short = t.policy(KeyRule::Prefix("up/".into()));
    short.expires = Expiry::from_secs(5 * 60).unwrap();
    let expired = t.sign_policy_at(&short, Utc::now() - Duration::minutes(10));
    let mut cheat = fields(&expired);
    let revived = rewrite_policy(expired.field("policy").unwrap(), extend_expiry);
    set_field(&mut cheat, "policy", &revived);
    post_fields(&expired.url, &cheat, &FilePart::new("late.txt", b"x"))
        .await
        .assert_rejected("POST of an expired policy changed to a later expiration");
    t.assert_keys(&["up/good.txt"], "after the refused POSTs")
        .await;
}

async fn form_for_one_bucket_cannot_write_another(t: Ctx) {
    let other = t.extra_bucket("other").await;
    let form = t.sign_policy(&t.policy(KeyRule::Prefix("up/".into())));
    let other_url = form.url.replace(t.bucket.as_str(), other.as_str());
    assert_ne!(other_url, form.url);
    post_fields(&other_url, &fields(&form), &FilePart::new("evil.txt", b"x"))
        .await
        .assert_rejected("POST of a form signed for another bucket");
    post(&form, &FilePart::new("good.txt", b"x"))
        .await
        .assert_ok("POST to the signed bucket");
    t.assert_keys(&["up/good.txt"], "after the POSTs").await;
    assert!(
        t.keys_of(other.as_str()).await.is_empty(),
        "the refused POST stored something in the other bucket"
    );
}

/// A change to a decoded policy.
type PolicyEdit = fn(&mut serde_json::Value);

fn widen_key(policy: &mut serde_json::Value) {
    for c in conditions(policy) {
        if c[1] == "$key" {
            *c = json!(["starts-with", "$key", ""]);
        }
    }
}

fn widen_size(policy: &mut serde_json::Value) {
    for c in conditions(policy) {
        if c[0] == "content-length-range" {
            *c = json!(["content-length-range", 0, 1_000_000]);
        }
    }
}

fn extend_expiry(policy: &mut serde_json::Value) {
    policy["expiration"] = json!("2099-01-01T00:00:00.000Z");
}

async fn expired_policy(t: Ctx) {
    let signed = |ago: Duration, valid_secs: u64| {
        let mut policy = t.policy(KeyRule::Prefix("up/".into()));
        policy.expires = Expiry::from_secs(valid_secs).unwrap();
        t.sign_policy_at(&policy, Utc::now() - ago)
    };
    post(
        &signed(Duration::minutes(10), 20 * 60),
        &FilePart::new("good.txt", b"x"),
    )
    .await
    .assert_ok("POST of a policy signed 10 min ago, valid 20 min");
    // Within every server's 15 min clock-skew window: only the expiration can refuse it.
    post(
        &signed(Duration::minutes(10), 5 * 60),
        &FilePart::new("evil.txt", b"x"),
    )
    .await
    .assert_rejected("POST of a policy signed 10 min ago, valid 5 min");
    post(
        &signed(Duration::hours(2), 3600),
        &FilePart::new("evil.txt", b"x"),
    )
    .await
    .assert_rejected("POST of a policy signed 2 h ago, valid 1 h");
    t.assert_keys(&["up/good.txt"], "after the refused POSTs")
        .await;
}

/// A form signed long ago whose policy has not expired yet.
///
/// AWS and Ceph accept it: a POST policy lives until its `expiration`, and `x-amz-date` only
/// names the day of the signing key. s3s 0.17 also applies its 15 min clock-skew window to
/// the form's `x-amz-date` (`validate_sig_v4_clock_skew` in `check_post_signature`,
/// s3s-0.17.0/src/ops/signature.rs:565) and answers 403 `RequestTimeTooSkewed`, so on s3s-fs
/// a signed form is usable for at most 15 minutes whatever its expiration. This test pins
/// both behaviours, so a change on either side shows up.
async fn old_but_unexpired_policy(t: Ctx) {
    let mut policy = t.policy(KeyRule::Prefix("up/".into()));
    policy.expires = Expiry::from_secs(3 * 3600).unwrap();
    let form = t.sign_policy_at(&policy, Utc::now() - Duration::hours(2));
    let reply = post(&form, &FilePart::new("old.txt", b"x")).await;
    match t.bed.server {
        Server::Ceph => {
            reply.assert_ok("POST of a policy signed 2 h ago, valid 3 h");
            t.assert_keys(&["up/old.txt"], "after the POST").await;
        }
        Server::S3sFs => {
            reply.assert_rejected("s3s-fs: POST of a policy signed 2 h ago, valid 3 h");
            assert!(
                reply.text().contains("RequestTimeTooSkewed"),
                "s3s-fs refused the old form for another reason than its clock-skew window: {}",
                reply.text()
            );
            t.assert_keys(&[], "after the refused POST").await;
        }
    }
}

async fn missing_or_changed_signed_field(t: Ctx) {
    let mut policy = t.policy(KeyRule::Prefix("up/".into()));
    policy.fields = vec![("x-amz-meta-owner".into(), "alice".into())];
    let form = t.sign_policy(&policy);
    post(&form, &FilePart::new("good.txt", b"x"))
        .await
        .assert_ok("POST with every signed field");

    let mut missing = fields(&form);
    missing.retain(|(name, _)| name != "x-amz-meta-owner");
    post_fields(&form.url, &missing, &FilePart::new("evil.txt", b"x"))
        .await
        .assert_rejected("POST without the signed x-amz-meta-owner");
    let mut changed = fields(&form);
    set_field(&mut changed, "x-amz-meta-owner", "mallory");
    post_fields(&form.url, &changed, &FilePart::new("evil.txt", b"x"))
        .await
        .assert_rejected("POST with x-amz-meta-owner changed");
    t.assert_keys(&["up/good.txt"], "after the refused POSTs")
        .await;
}

async fn extra_unsigned_field(t: Ctx) {
    let form = t.sign_policy(&t.policy(KeyRule::Prefix("up/".into())));
    post(&form, &FilePart::new("good.txt", b"x"))
        .await
        .assert_ok("POST as signed");
    for (name, value) in [
        ("x-amz-meta-evil", "1"),
        ("acl", "public-read"),
        ("Content-Type", "text/html"),
    ] {
        let mut cheat = fields(&form);
        set_field(&mut cheat, name, value);
        post_fields(&form.url, &cheat, &FilePart::new("evil.txt", b"x"))
            .await
            .assert_rejected(&format!("POST with the unsigned field {name}"));
    }
    t.assert_keys(&["up/good.txt"], "after the refused POSTs")
        .await;
}
