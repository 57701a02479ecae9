//! Grants adapt to what the configured storage backend enforces (`[s3] backend`, see
//! `src/backend.rs`). There is no R2 or older Ceph here, so the broker is told it fronts one
//! while it really fronts the test's server: what matters is what it signs, and that the
//! adapted grants still work against a real S3 server.

use crate::support::Ctx;
use crate::support::broker::{Broker, Grant, Options};
use crate::support::send_raw;
use serde_json::{Value, json};

on_both_servers!(
    r2_gets_put_grants_where_it_would_get_forms,
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

/// PUTs `body` to `url` with the string `headers` of a JSON object, as a browser would
/// (`content-length` left to the HTTP client).
async fn put(url: &str, headers: &Value, body: &[u8], what: &str) {
    let headers: Vec<(String, String)> = headers
        .as_object()
        .unwrap_or_else(|| panic!("{what}: headers to send: {headers}"))
        .iter()
        .filter(|(name, _)| !name.eq_ignore_ascii_case("content-length"))
        .map(|(n, v)| (n.clone(), v.as_str().expect("a string").to_owned()))
        .collect();
    send_raw("PUT", url, &headers, Some(body.to_vec()))
        .await
        .assert_ok(what);
}

async fn r2_gets_put_grants_where_it_would_get_forms(t: Ctx) {
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

    let params = broker
        .call("GET", "/s3/params?filename=b.txt&type=text/plain")
        .bearer(&alice)
        .send()
        .await
        .json();
    assert_eq!(params["method"], "PUT", "Uppy 5 gets a PUT: {params}");
    assert!(params.get("fields").is_none(), "{params}");
    assert_eq!(params["headers"]["content-type"], "text/plain");
    assert_eq!(
        params["headers"]["if-none-match"], "*",
        "r2 honours If-None-Match on PUT: {params}"
    );
    assert!(params["expires"].as_i64().unwrap_or(0) > 60, "{params}");
    let params_url = params["url"].as_str().expect("a url");
    put(
        params_url,
        &params["headers"],
        b"from uppy 5",
        "PUT from /s3/params",
    )
    .await;

    let signed = broker
        .call("POST", "/s3/sign")
        .bearer(&alice)
        .json(&json!({ "method": "PUT", "key": "c.txt", "contentType": "text/plain" }))
        .send()
        .await
        .json();
    assert!(
        signed.get("fields").is_none(),
        "Uppy 6 gets a PUT: {signed}"
    );
    let signed_key = signed["key"].as_str().expect("the broker's key").to_owned();
    assert!(signed_key.ends_with("/c.txt"), "{signed}");
    let signed_url = signed["url"].as_str().expect("a url");
    put(
        signed_url,
        &signed["headers"],
        b"from uppy 6",
        "PUT from /s3/sign",
    )
    .await;

    let params_key = url::Url::parse(params_url)
        .expect("a URL")
        .path()
        .trim_start_matches(&format!("/{}/", t.bucket.as_str()))
        .to_owned();
    let mut expected = [grant.key().to_owned(), params_key, signed_key];
    expected.sort_unstable();
    let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
    t.assert_keys(&expected, "the three PUTs").await;
    assert_eq!(
        t.stored(expected[0]).await.content_type.as_deref(),
        Some("text/plain")
    );
}

async fn ceph_refuses_checksums_it_would_ignore(t: Ctx) {
    let broker = broker(&t, "ceph").await;
    let alice = broker.token("alice");
    let body = b"hello world";
    let upload = |extra: Value| {
        let mut request = json!({ "filename": "a.txt", "content_type": "text/plain", "size": 11 });
        for (name, value) in extra.as_object().expect("an object") {
            request[name] = value.clone();
        }
        request
    };
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
