//! Server-side encryption a profile requires (SSE-S3 here) is a signed header of every PUT
//! grant: a client that leaves it out, or changes it, is refused by S3 and nothing is stored.

use crate::support::broker::{Broker, Options};
use crate::support::{Ctx, send_raw};
use serde_json::json;

on_both_servers!(a_put_without_its_signed_encryption_header_is_refused);

const ENCRYPTED_PROFILE: &str = r#"
key_template = "sealed/{principal}/{uuid}/{filename}"
content_types = ["text/plain"]
max_size = "1 MiB"
methods = ["PUT"]
server_side_encryption = "AES256"
"#;

async fn a_put_without_its_signed_encryption_header_is_refused(t: Ctx) {
    let broker = Broker::start_with(
        t.bed,
        t.bucket.as_str(),
        Options {
            extra_profiles: vec![("sealed", ENCRYPTED_PROFILE)],
            ..Options::default()
        },
    )
    .await;
    let alice = broker.token("alice");
    let grant = broker
        .upload(
            &alice,
            json!({ "profile": "sealed", "filename": "a.txt", "content_type": "text/plain", "size": 5 }),
        )
        .await
        .grant("a grant of an SSE-S3 profile");
    let headers = grant.put_headers();
    assert!(
        headers
            .iter()
            .any(|(n, v)| n == "x-amz-server-side-encryption" && v == "AES256"),
        "the encryption is a signed header: {headers:?}"
    );
    let without: Vec<(String, String)> = headers
        .iter()
        .filter(|(n, _)| n != "x-amz-server-side-encryption")
        .cloned()
        .collect();
    send_raw("PUT", grant.url(), &without, Some(b"hello".to_vec()))
        .await
        .assert_rejected("PUT leaving out the signed x-amz-server-side-encryption");
    let changed: Vec<(String, String)> = headers
        .iter()
        .map(|(n, v)| {
            if n == "x-amz-server-side-encryption" {
                (n.clone(), "aws:kms".to_owned())
            } else {
                (n.clone(), v.clone())
            }
        })
        .collect();
    send_raw("PUT", grant.url(), &changed, Some(b"hello".to_vec()))
        .await
        .assert_rejected("PUT changing the signed x-amz-server-side-encryption");
    t.assert_keys(&[], "after the refused PUTs").await;
    grant.put(b"hello").await.assert_ok("the PUT as granted");
    t.assert_keys(&[grant.key()], "the honest PUT").await;
}
