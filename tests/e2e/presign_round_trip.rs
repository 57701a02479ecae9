//! Presigned PUT, GET, HEAD and DELETE do what they say, for awkward keys too.

use crate::support::{Ctx, send};
use s3_broker::domain::ContentType;
use s3_broker::sigv4::{QueryParams, S3Operation, SignedHeaders};

on_both_servers!(
    put_then_get_round_trips_awkward_keys,
    signed_headers_and_response_overrides_take_effect,
    head_then_delete,
);

/// Keys that break signers that double-encode, normalise, or turn `+` into a space.
const AWKWARD_KEYS: [&str; 8] = [
    "plain.txt",
    "with space.txt",
    "ünïcødé/文件 ✓.bin",
    "a+b=c&d.txt",
    "tilde~name",
    "nested/dir/deeper/file.txt",
    "literal%20percent",
    "punct!$'()*,;:@[]",
];

async fn put_then_get_round_trips_awkward_keys(t: Ctx) {
    for key in AWKWARD_KEYS {
        let body = format!("content of {key}").into_bytes();
        let put = t.presign(&t.request(S3Operation::PutObject, key));
        send(&put, Some(body.clone()))
            .await
            .assert_ok(&format!("PUT {key:?}"));
        let get = t.presign(&t.request(S3Operation::GetObject, key));
        let reply = send(&get, None).await;
        reply.assert_ok(&format!("GET {key:?}"));
        assert_eq!(reply.body, body, "GET {key:?} returned other bytes");
    }
    // The server stored each key exactly, not a decoded or normalised variant.
    t.assert_keys(&AWKWARD_KEYS, "after the PUTs").await;
}

async fn signed_headers_and_response_overrides_take_effect(t: Ctx) {
    let key = "docs/report 1.pdf";
    let body = b"%PDF-1.7 not really".to_vec();
    let mut put = t.request(S3Operation::PutObject, key);
    put.headers = SignedHeaders::new()
        .content_type(&ContentType::new("application/pdf").unwrap())
        .content_length(body.len() as u64)
        .with("x-amz-meta-owner", "alice")
        .unwrap();
    send(&t.presign(&put), Some(body.clone()))
        .await
        .assert_ok("PUT with signed type, length and metadata");
    let stored = t.stored(key).await;
    assert_eq!(stored.bytes, body);
    assert_eq!(stored.content_type.as_deref(), Some("application/pdf"));
    assert_eq!(
        stored.metadata.get("owner").map(String::as_str),
        Some("alice")
    );

    let disposition = "attachment; filename=\"report 1.pdf\"; filename*=UTF-8''report%201.pdf";
    let mut get = t.request(S3Operation::GetObject, key);
    get.query = QueryParams::new()
        .with("response-content-disposition", disposition)
        .unwrap()
        .with("response-content-type", "application/octet-stream")
        .unwrap();
    let reply = send(&t.presign(&get), None).await;
    reply.assert_ok("GET with signed response overrides");
    assert_eq!(reply.body, body);
    assert_eq!(reply.header("content-disposition"), Some(disposition));
    assert_eq!(
        reply.header("content-type"),
        Some("application/octet-stream")
    );
}

async fn head_then_delete(t: Ctx) {
    let key = "to be deleted/ü+~.bin";
    let body = vec![7u8; 1234];
    let put = t.presign(&t.request(S3Operation::PutObject, key));
    send(&put, Some(body.clone())).await.assert_ok("PUT");

    let head = t.presign(&t.request(S3Operation::HeadObject, key));
    let reply = send(&head, None).await;
    reply.assert_ok("HEAD");
    assert_eq!(reply.header("content-length"), Some("1234"));
    assert!(reply.body.is_empty(), "HEAD returned a body");

    let delete = t.presign(&t.request(S3Operation::DeleteObject, key));
    send(&delete, None).await.assert_ok("DELETE");
    assert!(t.object(key).await.is_none(), "the object survived DELETE");
    t.assert_keys(&[], "after DELETE").await;

    let get = t.presign(&t.request(S3Operation::GetObject, key));
    assert_eq!(send(&get, None).await.status, 404, "GET after DELETE");
    let head = t.presign(&t.request(S3Operation::HeadObject, key));
    assert_eq!(send(&head, None).await.status, 404, "HEAD after DELETE");
}
