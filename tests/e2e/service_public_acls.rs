//! Public ACLs a client adds to a presigned PUT. The broker never signs an ACL, but Ceph
//! radosgw 16 takes the `x-amz-*` headers a presigned URL did not sign: the holder of an upload
//! grant who adds `x-amz-acl: public-read` or an `x-amz-grant-read` for everyone gets an object
//! that anyone reads without a grant. s3s-fs refuses such a request. The fix is the store's:
//! S3 Block Public Access on the bucket, which Ceph implements per bucket since Octopus and
//! `doctor` checks. On Ceph 16, `IgnorePublicAcls` makes every public grant (canned or
//! explicit, set before or after) count for nothing, while `BlockPublicAcls` refuses every
//! PutObject, honest ones included, so it must stay off there. A grant to a named account
//! (a second radosgw user, created with `radosgw-admin`) is not public: the block lets it
//! through; the shipped bucket policy denying uploads that carry `x-amz-grant-*` headers
//! (`policies/bucket-policy-acl-grants-ceph.json`) refuses it, and `doctor` warns until it is
//! applied.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html>

use crate::support::broker::{Broker, Grant, text_upload};
use crate::support::http::send_raw;
use crate::support::{Ctx, Server};
use aws_sdk_s3::types::PublicAccessBlockConfiguration;
use serde_json::json;

on_both_servers!(
    public_acls_on_a_presigned_put_need_the_public_access_block,
    doctor_checks_the_public_access_block,
);

/// What a client adds to the broker's PUT grant to make its object public.
const PUBLIC_ACLS: [(&str, &str); 2] = [
    ("x-amz-acl", "public-read"),
    (
        "x-amz-grant-read",
        "uri=\"http://acs.amazonaws.com/groups/global/AllUsers\"",
    ),
];

/// Other public ACLs, which the block must neutralize as well.
const MORE_PUBLIC_ACLS: [(&str, &str); 3] = [
    ("x-amz-acl", "public-read-write"),
    ("x-amz-acl", "authenticated-read"),
    (
        "x-amz-grant-full-control",
        "uri=\"http://acs.amazonaws.com/groups/global/AllUsers\"",
    ),
];

/// PUT uploads of text under `users/`, for `doctor`.
const PROFILE: &str = r#"
key_template = "users/{principal}/{uuid}/{filename}"
content_types = ["text/plain"]
max_size = "1 MiB"
methods = ["PUT"]
"#;

const BYTES: &[u8] = b"meant for alice only";

/// Sets the bucket's public access block: `BlockPublicAcls` and `IgnorePublicAcls` as given,
/// the two policy settings on.
pub(crate) async fn put_public_access_block(
    t: &Ctx,
    block_public_acls: bool,
    ignore_public_acls: bool,
) -> Result<(), String> {
    let block = PublicAccessBlockConfiguration::builder()
        .block_public_acls(block_public_acls)
        .ignore_public_acls(ignore_public_acls)
        .block_public_policy(true)
        .restrict_public_buckets(true)
        .build();
    t.bed
        .s3
        .put_public_access_block()
        .bucket(t.bucket.as_str())
        .public_access_block_configuration(block)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| format!("{}", aws_sdk_s3::error::DisplayErrorContext(&e)))
}

/// A GET of `key` without any signature, as anyone on the network can send it.
async fn anonymous_get(t: &Ctx, key: &str) -> crate::support::http::Reply {
    let url = format!("{}/{}/{key}", t.bed.endpoint, t.bucket.as_str());
    send_raw("GET", &url, &[], None).await
}

/// Asks the broker for a PUT grant and sends it with `extra` headers added; the object's key
/// and S3's answer.
async fn put_with(
    broker: &Broker,
    token: &str,
    extra: (&str, &str),
) -> (String, crate::support::http::Reply) {
    let grant = honest_grant(broker, token).await;
    let mut headers = grant.put_headers();
    headers.push((extra.0.to_owned(), extra.1.to_owned()));
    let reply = send_raw("PUT", grant.url(), &headers, Some(BYTES.to_vec())).await;
    (grant.str("key").to_owned(), reply)
}

/// A PUT grant for a small text file.
async fn honest_grant(broker: &Broker, token: &str) -> Grant {
    broker
        .upload_grant(token, text_upload("honest.txt", BYTES.len(), json!({})))
        .await
}

async fn public_acls_on_a_presigned_put_need_the_public_access_block(t: Ctx) {
    let broker = Broker::start(&t).await;
    let alice = broker.token("alice");

    // Without the block: Ceph stores the ACL, and the object is anyone's to read.
    let mut made_public = Vec::new();
    for header in PUBLIC_ACLS {
        let (key, put) = put_with(&broker, &alice, header).await;
        if t.bed.server == Server::S3sFs {
            put.assert_rejected(&format!("s3s-fs: the unsigned {}", header.0));
            anonymous_get(&t, &key)
                .await
                .assert_rejected("s3s-fs: nothing stored");
            continue;
        }
        put.assert_ok(&format!("Ceph 16 takes the unsigned {}", header.0));
        let open = anonymous_get(&t, &key).await;
        open.assert_ok(&format!("Ceph, no block: {} makes it public", header.0));
        assert_eq!(open.body, BYTES);
        made_public.push(key);
    }
    if t.bed.server == Server::S3sFs {
        assert!(
            put_public_access_block(&t, true, true).await.is_err(),
            "s3s-fs has no public access block"
        );
        return;
    }

    // BlockPublicAcls on Ceph 16: every upload is refused, the honest one too.
    put_public_access_block(&t, true, true)
        .await
        .expect("Ceph implements PutPublicAccessBlock");
    let grant = honest_grant(&broker, &alice).await;
    grant
        .put(BYTES)
        .await
        .assert_rejected("Ceph 16 under BlockPublicAcls: even an honest PUT");

    // The fix for Ceph: IgnorePublicAcls (and the policy settings), BlockPublicAcls off.
    put_public_access_block(&t, false, true)
        .await
        .expect("PutPublicAccessBlock");
    // What was made public before the block is private again.
    for key in &made_public {
        anonymous_get(&t, key)
            .await
            .assert_rejected("made public before the block, read after it");
    }
    // And no new upload can make itself public: refused, or stored private.
    for header in PUBLIC_ACLS.into_iter().chain(MORE_PUBLIC_ACLS) {
        let (key, put) = put_with(&broker, &alice, header).await;
        if (200..300).contains(&put.status) {
            anonymous_get(&t, &key)
                .await
                .assert_rejected(&format!("with the block, {}: {}", header.0, header.1));
        } else {
            put.assert_rejected(&format!("with the block, {}: {}", header.0, header.1));
        }
    }
    // An honest grant still works, and its object still downloads with a grant.
    let grant = honest_grant(&broker, &alice).await;
    grant
        .put(BYTES)
        .await
        .assert_ok("an honest PUT under the block");
    let key = grant.str("key").to_owned();
    anonymous_get(&t, &key)
        .await
        .assert_rejected("an honest upload is private");
    let got = broker
        .download(&alice, &key)
        .await
        .grant("download under the block")
        .get()
        .await;
    got.assert_ok("GET with a download grant under the block");
    assert_eq!(got.body, BYTES);

    // What the block leaves: a grant to a named account of the same store is not public.
    create_user(&t, "bob");
    let to_bob = ("x-amz-grant-read", "id=\"bob\"");
    let (key, put) = put_with(&broker, &alice, to_bob).await;
    put.assert_ok("Ceph, under the block: an unsigned grant to another account");
    assert!(
        grantees(&t, &key).await.iter().any(|g| g == "bob"),
        "the grant to bob is stored"
    );
    // doctor warns while nothing denies it.
    let (_, line, report) = doctor_line(&t, &format!("acl-grants {}", t.bucket.as_str())).await;
    assert!(line.starts_with("warn "), "{report}");
    assert!(
        line.contains("bucket-policy-acl-grants-ceph.json"),
        "{report}"
    );

    // `*` in place of `?*` works as well on radosgw 16: a condition on a header the upload
    // does not carry is false there, so honest uploads pass.
    let star = shipped_grant_policy(&t).replace("\"?*\"", "\"*\"");
    crate::service_scan::put_policy(&t, &star)
        .await
        .expect("PutBucketPolicy");
    put_with(&broker, &alice, to_bob)
        .await
        .1
        .assert_rejected("x-amz-grant-read under a Deny of x-amz-grant-* = *");
    honest_grant(&broker, &alice)
        .await
        .put(BYTES)
        .await
        .assert_ok("an honest PUT under a Deny of x-amz-grant-* = *");

    // The shipped policy, a Deny of uploads that carry any x-amz-grant-* header, closes it.
    crate::service_scan::put_policy(&t, &shipped_grant_policy(&t))
        .await
        .expect("PutBucketPolicy");
    for header in [to_bob, ("x-amz-grant-full-control", "id=\"bob\"")] {
        let (_, put) = put_with(&broker, &alice, header).await;
        put.assert_rejected(&format!("{}: {} under the deny policy", header.0, header.1));
    }
    honest_grant(&broker, &alice)
        .await
        .put(BYTES)
        .await
        .assert_ok("an honest PUT under the deny policy");
    let (ok, line, report) = doctor_line(&t, &format!("acl-grants {}", t.bucket.as_str())).await;
    assert!(ok, "{report}");
    assert!(line.starts_with("ok "), "{report}");
}

/// `policies/bucket-policy-acl-grants-ceph.json` for the test's bucket.
fn shipped_grant_policy(t: &Ctx) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("policies/bucket-policy-acl-grants-ceph.json");
    std::fs::read_to_string(path)
        .expect("the shipped policy")
        .replace("my-uploads", t.bucket.as_str())
}

/// `doctor` with `backend` of the test bed: whether it passed, the line of `check`, the report.
async fn doctor_line(t: &Ctx, check: &str) -> (bool, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = crate::doctor::backend_config(dir.path(), t, PROFILE);
    let secret = t.bed.credentials.secret_access_key.expose();
    let out = crate::doctor::doctor(&path).await;
    let report = crate::doctor::report(&out, &[secret]);
    let line = crate::doctor::line(&report, check).to_owned();
    (out.status.success(), line, report)
}

/// Creates a second account on the test bed's radosgw.
fn create_user(t: &Ctx, uid: &str) {
    let conf = t.bed.data_dir.join("ceph.conf");
    let out = std::process::Command::new("radosgw-admin")
        .arg("-c")
        .arg(&conf)
        .args([
            "user",
            "create",
            &format!("--uid={uid}"),
            &format!("--display-name={uid}"),
        ])
        .output()
        .expect("radosgw-admin");
    assert!(
        out.status.success(),
        "radosgw-admin user create: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The ids of the accounts the object's ACL grants something to.
async fn grantees(t: &Ctx, key: &str) -> Vec<String> {
    let acl = t
        .bed
        .s3
        .get_object_acl()
        .bucket(t.bucket.as_str())
        .key(key)
        .send()
        .await
        .expect("GetObjectAcl");
    acl.grants()
        .iter()
        .filter_map(|g| g.grantee()?.id().map(str::to_owned))
        .collect()
}

/// `doctor` on the bucket's public access block, with `backend = "ceph"` on Ceph: FAIL without
/// it, with `IgnorePublicAcls` off, and with `BlockPublicAcls` on (no upload would work); ok with
/// the settings of the fix. On s3s-fs (no such call, and no unsigned ACL taken) a warning.
async fn doctor_checks_the_public_access_block(t: Ctx) {
    let check = format!("public-access {}", t.bucket.as_str());
    let run = || doctor_line(&t, &check);

    let (_, line, report) = run().await;
    if t.bed.server == Server::S3sFs {
        assert!(line.starts_with("warn "), "{report}");
        assert!(
            line.contains("does not implement GetPublicAccessBlock"),
            "{report}"
        );
        return;
    }
    // Ceph answers a bucket without a block with every setting off.
    let fix = "put-public-access-block --bucket";
    assert!(line.starts_with("FAIL "), "{report}");
    assert!(line.contains("IgnorePublicAcls off"), "{report}");
    assert!(line.contains(fix), "{report}");

    for (block, ignore, named) in [
        (true, false, "IgnorePublicAcls off"),
        (true, true, "refuses every upload"),
    ] {
        put_public_access_block(&t, block, ignore)
            .await
            .expect("PutPublicAccessBlock");
        let (ok, line, report) = run().await;
        assert!(!ok, "{report}");
        assert!(line.starts_with("FAIL "), "{report}");
        assert!(line.contains(named), "{report}");
        assert!(
            line.contains("BlockPublicAcls=false,IgnorePublicAcls=true"),
            "{report}"
        );
    }
    put_public_access_block(&t, false, true)
        .await
        .expect("PutPublicAccessBlock");
    let (ok, line, report) = run().await;
    assert!(ok, "{report}");
    assert!(line.starts_with("ok "), "{report}");
}
