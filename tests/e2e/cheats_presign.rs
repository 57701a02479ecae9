//! A presigned URL grants exactly what was signed: every deviation is refused with a 4xx and
//! stores nothing. Each test first shows the honest request succeeds, so a refusal proves the
//! rule and not a broken setup.

use crate::support::tamper::{add_query_param, tamper_url_signature};
use crate::support::{Ctx, send, send_raw};
use chrono::{Duration, Utc};
use s3_broker::domain::{ContentType, Expiry};
use s3_broker::sigv4::{PresignRequest, S3Operation, SignedHeaders};

on_both_servers!(
    other_content_type_than_signed,
    other_body_length_than_signed,
    missing_signed_header,
    tampered_signature,
    url_for_one_key_cannot_write_another,
    expired_url,
    other_method_than_signed,
    extra_unsigned_query_parameter,
);

/// A PUT of `key` that signs `Content-Type: image/png`.
fn png_put(t: &Ctx, key: &str) -> PresignRequest {
    let mut put = t.request(S3Operation::PutObject, key);
    put.headers = SignedHeaders::new().content_type(&ContentType::new("image/png").unwrap());
    put
}

/// `headers` with `name` set to `value`, or removed when `value` is `None`.
fn headers_with(
    headers: &[(String, String)],
    name: &str,
    value: Option<&str>,
) -> Vec<(String, String)> {
    let mut out: Vec<_> = headers.iter().filter(|(n, _)| n != name).cloned().collect();
    if let Some(value) = value {
        out.push((name.to_owned(), value.to_owned()));
    }
    out
}

async fn other_content_type_than_signed(t: Ctx) {
    let good = t.presign(&png_put(&t, "good.png"));
    send(&good, Some(b"png".to_vec()))
        .await
        .assert_ok("PUT with the signed Content-Type");

    let cheat = t.presign(&png_put(&t, "evil.png"));
    let headers = headers_with(&cheat.headers.to_vec(), "content-type", Some("text/html"));
    send_raw("PUT", &cheat.url, &headers, Some(b"<script>".to_vec()))
        .await
        .assert_rejected("PUT with another Content-Type than signed");
    t.assert_keys(&["good.png"], "after the refused PUT").await;
}

async fn other_body_length_than_signed(t: Ctx) {
    let sized = |key: &str| {
        let mut put = t.request(S3Operation::PutObject, key);
        put.headers = SignedHeaders::new().content_length(10);
        t.presign(&put)
    };
    send(&sized("good.bin"), Some(vec![0; 10]))
        .await
        .assert_ok("PUT of the signed length");
    // The HTTP client sends the real length: a body of another size changes Content-Length.
    for len in [11, 9, 0] {
        send(&sized("evil.bin"), Some(vec![0; len]))
            .await
            .assert_rejected(&format!("PUT of {len} bytes where 10 were signed"));
    }
    t.assert_keys(&["good.bin"], "after the refused PUTs").await;
}

async fn missing_signed_header(t: Ctx) {
    let signed = |key: &str| {
        let mut put = png_put(&t, key);
        put.headers.insert("x-amz-meta-owner", "alice").unwrap();
        t.presign(&put)
    };
    send(&signed("good.png"), Some(b"png".to_vec()))
        .await
        .assert_ok("PUT with every signed header");

    for omitted in ["x-amz-meta-owner", "content-type"] {
        let cheat = signed("evil.png");
        let headers = headers_with(&cheat.headers.to_vec(), omitted, None);
        send_raw("PUT", &cheat.url, &headers, Some(b"png".to_vec()))
            .await
            .assert_rejected(&format!("PUT without the signed header {omitted}"));
    }
    t.assert_keys(&["good.png"], "after the refused PUTs").await;
}

async fn tampered_signature(t: Ctx) {
    let good = t.presign(&t.request(S3Operation::PutObject, "good.txt"));
    send(&good, Some(b"secret".to_vec()))
        .await
        .assert_ok("PUT as signed");

    let cheat = t.presign(&t.request(S3Operation::PutObject, "evil.txt"));
    send_raw(
        "PUT",
        &tamper_url_signature(&cheat.url),
        &cheat.headers.to_vec(),
        Some(b"x".to_vec()),
    )
    .await
    .assert_rejected("PUT with a changed signature");
    t.assert_keys(&["good.txt"], "after the refused PUT").await;

    let get = t.presign(&t.request(S3Operation::GetObject, "good.txt"));
    send(&get, None).await.assert_ok("GET as signed");
    let reply = send_raw("GET", &tamper_url_signature(&get.url), &[], None).await;
    reply.assert_rejected("GET with a changed signature");
    assert_ne!(reply.body, b"secret", "the refused GET leaked the object");
}

async fn url_for_one_key_cannot_write_another(t: Ctx) {
    let granted = t.presign(&t.request(S3Operation::PutObject, "users/alice/a.txt"));
    let stolen = granted.url.replace("/users/alice/", "/users/bob/");
    assert_ne!(stolen, granted.url);
    send_raw(
        "PUT",
        &stolen,
        &granted.headers.to_vec(),
        Some(b"x".to_vec()),
    )
    .await
    .assert_rejected("PUT to another key with alice's URL");
    t.assert_keys(&[], "after the refused PUT").await;
    send(&granted, Some(b"x".to_vec()))
        .await
        .assert_ok("PUT to the granted key");
    t.assert_keys(&["users/alice/a.txt"], "after the PUT").await;
}

async fn expired_url(t: Ctx) {
    let signed = |key: &str, op: S3Operation, ago: Duration, valid_secs: u64| {
        let mut request = t.request(op, key);
        request.expires = Expiry::from_secs(valid_secs).unwrap();
        t.presign_at(&request, Utc::now() - ago)
    };
    let (ten_min, two_hours) = (Duration::minutes(10), Duration::hours(2));
    // Signed long ago but not expired: an old X-Amz-Date alone is fine.
    let put = signed("good.txt", S3Operation::PutObject, two_hours, 3 * 3600);
    send(&put, Some(b"x".to_vec()))
        .await
        .assert_ok("PUT signed 2 h ago, valid 3 h");
    let get = signed("good.txt", S3Operation::GetObject, ten_min, 20 * 60);
    send(&get, None)
        .await
        .assert_ok("GET signed 10 min ago, valid 20 min");

    for (ago, valid, what) in [
        (ten_min, 5 * 60, "10 min ago, valid 5 min"),
        (two_hours, 3600, "2 h ago, valid 1 h"),
    ] {
        send(
            &signed("evil.txt", S3Operation::PutObject, ago, valid),
            Some(b"x".to_vec()),
        )
        .await
        .assert_rejected(&format!("PUT signed {what}"));
        let reply = send(
            &signed("good.txt", S3Operation::GetObject, ago, valid),
            None,
        )
        .await;
        reply.assert_rejected(&format!("GET signed {what}"));
        assert_ne!(reply.body, b"x", "the refused GET leaked the object");
    }
    t.assert_keys(&["good.txt"], "after the refused PUTs").await;
}

async fn other_method_than_signed(t: Ctx) {
    t.put("kept.txt", b"kept").await;
    let get = t.presign(&t.request(S3Operation::GetObject, "new.txt"));
    let head = t.presign(&t.request(S3Operation::HeadObject, "kept.txt"));
    send(&head, None).await.assert_ok("HEAD as signed");

    send_raw("PUT", &get.url, &get.headers.to_vec(), Some(b"x".to_vec()))
        .await
        .assert_rejected("PUT with a URL signed for GET");
    send_raw("DELETE", &head.url, &head.headers.to_vec(), None)
        .await
        .assert_rejected("DELETE with a URL signed for HEAD");
    let put = t.presign(&t.request(S3Operation::PutObject, "kept.txt"));
    send_raw("DELETE", &put.url, &put.headers.to_vec(), None)
        .await
        .assert_rejected("DELETE with a URL signed for PUT");
    t.assert_keys(&["kept.txt"], "after the refused requests")
        .await;
    assert_eq!(t.stored("kept.txt").await.bytes, b"kept");
}

async fn extra_unsigned_query_parameter(t: Ctx) {
    let good = t.presign(&t.request(S3Operation::PutObject, "good.txt"));
    send(&good, Some(b"x".to_vec()))
        .await
        .assert_ok("PUT as signed");

    let cheat = t.presign(&t.request(S3Operation::PutObject, "evil.txt"));
    for param in ["foo=bar", "x-amz-acl=public-read", "tagging="] {
        send_raw(
            "PUT",
            &add_query_param(&cheat.url, param),
            &cheat.headers.to_vec(),
            Some(b"x".to_vec()),
        )
        .await
        .assert_rejected(&format!("PUT with the unsigned parameter {param}"));
    }
    t.assert_keys(&["good.txt"], "after the refused PUTs").await;

    let get = t.presign(&t.request(S3Operation::GetObject, "good.txt"));
    let reply = send_raw(
        "GET",
        &add_query_param(&get.url, "response-content-type=text%2Fhtml"),
        &[],
        None,
    )
    .await;
    reply.assert_rejected("GET with an unsigned response-content-type");
    assert_ne!(reply.header("content-type"), Some("text/html"));
}
