//! Grants adapt to what the configured storage backend enforces (`[s3] backend`, see
//! `src/backend.rs`). There is no R2 or older Ceph here, so the broker is told it fronts one
//! while it really fronts the test's server: what matters is what it signs, and that the
//! adapted grants still work against a real S3 server.

use crate::support::Ctx;
use crate::support::broker::{Broker, Grant, Options, text_upload};
use serde_json::{Value, json};

on_both_servers!(
    r2_gets_put_grants_where_it_would_get_forms_and_uppy_singles_are_refused,
    ceph_refuses_checksums_it_would_ignore,
);

/// A profile whose uploads are forms unless the client asks for PUT.
const FORMS_PROFILE: &str = r#"
key_template = "forms/{principal}/{uuid}/{filename}"
content_types = ["text/plain"]
max_size = "1 MiB"
methods = ["PUT", "POST"]
default_method = "POST"
"#;

async fn broker(t: &Ctx, backend: &'static str) -> Broker {
    Broker::start_with(
        t.bed,
        t.bucket.as_str(),
        Options {
            backend: Some(backend),
            extra_profiles: vec![("forms", FORMS_PROFILE)],
            ..Options::default()
        },
    )
    .await
}

async fn r2_gets_put_grants_where_it_would_get_forms_and_uppy_singles_are_refused(t: Ctx) {
    let broker = broker(&t, "r2").await;
    let alice = broker.token("alice");
    let request = json!({
        "profile": "forms", "filename": "a.txt", "content_type": "text/plain", "size": 5
    });

    let grant: Grant = broker
        .upload(&alice, request.clone())
        .await
        .grant("the profile's default POST on r2");
    assert_eq!(grant.str("method"), "PUT", "{}", grant.json);
    assert!(grant.json.get("fields").is_none(), "{}", grant.json);
    grant
        .put(b"hello")
        .await
        .assert_ok("the PUT that stands in for the form");

    let mut post = request.clone();
    post["method"] = "POST".into();
    let refused = broker.upload(&alice, post).await.problem(
        400,
        "method_not_supported",
        "an explicit POST on r2",
    );
    assert!(
        refused["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("r2"),
        "{refused}"
    );

    // Uppy's single uploads declare no size: without POST Object nothing could bound it, so
    // the broker refuses and points to multipart (whose total it checks before completing).
    for (method, path, body) in [
        ("GET", "/s3/params?filename=b.txt&type=text/plain", None),
        (
            "POST",
            "/s3/sign",
            Some(json!({ "method": "PUT", "key": "c.txt", "contentType": "text/plain" })),
        ),
    ] {
        let mut call = broker.call(method, path).bearer(&alice);
        if let Some(body) = &body {
            call = call.json(body);
        }
        let reply = call.send().await;
        reply.assert_status(400, path);
        let json = reply.json();
        assert_eq!(json["code"], "method_not_supported", "{path}: {json}");
        assert!(
            json["message"]
                .as_str()
                .is_some_and(|m| m.contains("shouldUseMultipart")),
            "{path}: {json}"
        );
    }
    t.assert_keys(&[grant.key()], "only the PUT grant's upload")
        .await;
    assert_eq!(
        t.stored(grant.key()).await.content_type.as_deref(),
        Some("text/plain")
    );
}

async fn ceph_refuses_checksums_it_would_ignore(t: Ctx) {
    let broker = broker(&t, "ceph").await;
    let alice = broker.token("alice");
    let body = b"hello world";
    let upload = |extra: Value| text_upload("a.txt", body.len(), extra);
    let refused = broker
        .upload(
            &alice,
            upload(json!({ "checksum_sha256": "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=" })),
        )
        .await
        .problem(
            400,
            "checksum_not_supported",
            "SHA-256 on a backend that ignores it",
        );
    assert!(
        refused["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("content_md5"),
        "the refusal names what works: {refused}"
    );
    broker
        .call("POST", "/v1/multipart")
        .bearer(&alice)
        .json(&json!({
            "filename": "big.bin", "content_type": "application/octet-stream",
            "size": 10, "checksum_algorithm": "SHA256"
        }))
        .send()
        .await
        .problem(
            400,
            "checksum_not_supported",
            "part checksums on a backend that ignores them",
        );
    let md5 = broker
        .upload(
            &alice,
            upload(json!({ "content_md5": "XrY7u+Ae7tCTyyK7j1rNww==" })),
        )
        .await
        .grant("Content-MD5, which every backend verifies");
    md5.put(body)
        .await
        .assert_ok("PUT matching its Content-MD5");
    t.assert_keys(&[md5.key()], "the honest PUT").await;
}
