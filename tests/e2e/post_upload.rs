//! Browser-style POST form uploads: the signed fields in order, then the file last.

use crate::support::{Ctx, FilePart, post};
use s3_broker::domain::ContentType;
use s3_broker::sigv4::{ContentTypeRule, KeyRule};

on_both_servers!(
    prefix_rule_stores_under_prefix_and_filename,
    exact_key_rule_stores_that_key,
    size_range_bounds_are_inclusive,
    exact_content_type_is_stored,
    content_type_prefix_lets_the_client_choose_the_rest,
    signed_metadata_field_is_stored,
);

async fn prefix_rule_stores_under_prefix_and_filename(t: Ctx) {
    let form = t.sign_policy(&t.policy(KeyRule::Prefix("uploads/user-1/".into())));
    assert_eq!(form.field("key"), Some("uploads/user-1/${filename}"));
    let file = FilePart::new("photo 1+2.png", b"not really a png");
    post(&form, &file).await.assert_ok("POST with ${filename}");
    t.assert_keys(&["uploads/user-1/photo 1+2.png"], "after the POST")
        .await;
    assert_eq!(
        t.stored("uploads/user-1/photo 1+2.png").await.bytes,
        file.bytes
    );
}

async fn exact_key_rule_stores_that_key(t: Ctx) {
    let key = "dir/ünï cødé+~.txt";
    let form = t.sign_policy(&t.policy(KeyRule::Exact(t.key(key))));
    // The browser's file name does not matter with an exact key.
    let file = FilePart::new("whatever.txt", b"exact key content");
    post(&form, &file).await.assert_ok("POST to an exact key");
    t.assert_keys(&[key], "after the POST").await;
    assert_eq!(t.stored(key).await.bytes, file.bytes);
}

async fn size_range_bounds_are_inclusive(t: Ctx) {
    let mut policy = t.policy(KeyRule::Prefix("sized/".into()));
    policy.size = Some((5, 10));
    let form = t.sign_policy(&policy);
    post(&form, &FilePart::new("min.bin", &[1; 5]))
        .await
        .assert_ok("POST of the smallest allowed size");
    post(&form, &FilePart::new("max.bin", &[2; 10]))
        .await
        .assert_ok("POST of the largest allowed size");
    t.assert_keys(&["sized/max.bin", "sized/min.bin"], "after the POSTs")
        .await;
}

async fn exact_content_type_is_stored(t: Ctx) {
    let mut policy = t.policy(KeyRule::Prefix("img/".into()));
    policy.content_type = Some(ContentTypeRule::Exact(
        ContentType::new("image/png").unwrap(),
    ));
    let form = t.sign_policy(&policy);
    post(&form, &FilePart::new("a.png", b"png bytes"))
        .await
        .assert_ok("POST with the signed Content-Type");
    let stored = t.stored("img/a.png").await;
    assert_eq!(stored.content_type.as_deref(), Some("image/png"));
}

async fn content_type_prefix_lets_the_client_choose_the_rest(t: Ctx) {
    let mut policy = t.policy(KeyRule::Prefix("img/".into()));
    policy.content_type = Some(ContentTypeRule::Prefix("image/".into()));
    let mut form = t.sign_policy(&policy);
    assert_eq!(form.field("Content-Type"), Some("image/"));
    for field in &mut form.fields {
        if field.name == "Content-Type" {
            field.value = "image/webp".into();
        }
    }
    post(&form, &FilePart::new("b.webp", b"webp bytes"))
        .await
        .assert_ok("POST with a Content-Type under the signed prefix");
    let stored = t.stored("img/b.webp").await;
    assert_eq!(stored.content_type.as_deref(), Some("image/webp"));
}

async fn signed_metadata_field_is_stored(t: Ctx) {
    let mut policy = t.policy(KeyRule::Exact(t.key("meta.txt")));
    policy.fields = vec![("x-amz-meta-owner".into(), "alice".into())];
    let form = t.sign_policy(&policy);
    post(&form, &FilePart::new("meta.txt", b"with metadata"))
        .await
        .assert_ok("POST with a signed metadata field");
    let stored = t.stored("meta.txt").await;
    assert_eq!(
        stored.metadata.get("owner").map(String::as_str),
        Some("alice")
    );
}
