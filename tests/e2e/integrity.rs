//! Integrity and no-overwrite guarantees carried by signed headers: `Content-MD5`,
//! `x-amz-checksum-*` and `If-None-Match: *`.

use crate::support::{Ctx, Server, send};
use s3_broker::domain::{Checksum, ContentMd5};
use s3_broker::sigv4::{PresignedRequest, S3Operation, SignedHeaders};

on_both_servers!(
    content_md5_mismatch,
    checksum_mismatch,
    if_none_match_refuses_overwrite
);

/// Base64 MD5 of `hello world`.
const HELLO_WORLD_MD5: &str = "XrY7u+Ae7tCTyyK7j1rNww==";

/// A presigned PUT of `key` that signs `headers`.
fn put_with(t: &Ctx, key: &str, headers: SignedHeaders) -> PresignedRequest {
    let mut put = t.request(S3Operation::PutObject, key);
    put.headers = headers;
    t.presign(&put)
}

async fn content_md5_mismatch(t: Ctx) {
    let md5 = || SignedHeaders::new().content_md5(&ContentMd5::new(HELLO_WORLD_MD5).unwrap());
    send(
        &put_with(&t, "good.txt", md5()),
        Some(b"hello world".to_vec()),
    )
    .await
    .assert_ok("PUT matching its signed Content-MD5");
    send(
        &put_with(&t, "evil.txt", md5()),
        Some(b"hello w0rld".to_vec()),
    )
    .await
    .assert_rejected("PUT not matching its signed Content-MD5");
    t.assert_keys(&["good.txt"], "after the refused PUT").await;
}

/// A body that does not match its signed `x-amz-checksum-sha256`.
///
/// s3s refuses it (400 `BadDigest`). Ceph radosgw 16.2.15 does not implement the flexible
/// checksums at all: it answers 200 and stores the body. Evidence: its gateway library
/// (`libradosgw.so.2` of Debian's `radosgw 16.2.15+ds-0+deb12u2`) contains no
/// `x-amz-checksum` / `HTTP_X_AMZ_CHECKSUM` string, while it does contain `HTTP_CONTENT_MD5`
/// and `BadDigest` (Content-MD5 is enforced, see `content_md5_mismatch`). Against Ceph,
/// integrity needs `Content-MD5`. This test pins both behaviours.
async fn checksum_mismatch(t: Ctx) {
    let sha256 = || SignedHeaders::new().checksum(&Checksum::sha256_of(b"hello"));
    send(&put_with(&t, "good.txt", sha256()), Some(b"hello".to_vec()))
        .await
        .assert_ok("PUT matching its signed x-amz-checksum-sha256");
    let reply = send(&put_with(&t, "evil.txt", sha256()), Some(b"hellO".to_vec())).await;
    match t.bed.server {
        Server::S3sFs => {
            reply.assert_rejected("PUT not matching its signed x-amz-checksum-sha256");
            t.assert_keys(&["good.txt"], "after the refused PUT").await;
        }
        Server::Ceph => {
            reply.assert_ok("ceph-rgw 16 ignores x-amz-checksum-sha256");
            t.assert_keys(&["evil.txt", "good.txt"], "ceph-rgw 16 stores it")
                .await;
        }
    }
}

async fn if_none_match_refuses_overwrite(t: Ctx) {
    let no_overwrite = || SignedHeaders::new().if_none_match_any();
    send(
        &put_with(&t, "a.txt", no_overwrite()),
        Some(b"first".to_vec()),
    )
    .await
    .assert_ok("first PUT with If-None-Match: *");
    let reply = send(
        &put_with(&t, "a.txt", no_overwrite()),
        Some(b"second".to_vec()),
    )
    .await;
    reply.assert_rejected("second PUT with If-None-Match: *");
    assert_eq!(reply.status, 412, "S3 answers 412 Precondition Failed");
    assert_eq!(t.stored("a.txt").await.bytes, b"first");
}
