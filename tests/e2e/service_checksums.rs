//! Integrity of uploaded bytes through the broker: a grant binds one `x-amz-checksum-*`
//! value (CRC32, CRC32C, CRC64NVME, SHA1 or SHA256) and/or a `Content-MD5`, and the S3
//! server refuses bytes that do not match.
//!
//! s3s-fs 0.17 verifies both. Ceph radosgw 16 verifies `Content-MD5` only and stores bytes
//! whatever their `x-amz-checksum-*` says (see `integrity.rs` for the evidence): those cases
//! are pinned per server, so a change in either server shows up here.

use crate::support::broker::{Broker, Grant, text_upload};
use crate::support::{Ctx, FilePart, Server, send_raw};
use aws_smithy_checksums::ChecksumAlgorithm as Algo;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

on_both_servers!(
    put_grants_bind_every_checksum_algorithm,
    put_grant_binds_content_md5,
    put_without_a_signed_integrity_header_is_refused,
    post_grant_binds_the_checksum_fields,
);

with_shared_broker!(checksum_fields_are_validated);

const BODY: &[u8] = b"the bytes the client hashed";
const OTHER: &[u8] = b"the bytes somebody swapped!";

/// Base64 of `algorithm`'s digest of `bytes`, as S3 expects it.
fn digest(algorithm: &str, bytes: &[u8]) -> String {
    let mut hasher = algorithm
        .parse::<Algo>()
        .expect("a checksum algorithm")
        .into_impl();
    hasher.update(bytes);
    STANDARD.encode(hasher.finalize())
}

/// Base64 MD5 of [`BODY`].
const BODY_MD5: &str = "xwNU1d7kTurMB+Nfe6DviA==";

/// An upload of a file of `BODY`'s size, with `extra` fields.
fn upload(filename: &str, extra: Value) -> Value {
    text_upload(filename, BODY.len(), extra)
}

async fn put_grants_bind_every_checksum_algorithm(t: Ctx) {
    let broker = Broker::start(&t).await;
    let alice = broker.token("alice");
    let mut honest_keys = Vec::new();
    for algorithm in ["crc32", "crc32c", "crc64nvme", "sha1", "sha256"] {
        let field = format!("checksum_{algorithm}");
        let header = format!("x-amz-checksum-{algorithm}");
        let value = digest(algorithm, BODY);
        let honest = broker
            .upload_grant(&alice, upload("good.txt", json!({ &field: value })))
            .await;
        assert_eq!(
            honest.json["headers"][&header], value,
            "{algorithm}: the grant signs {header}: {}",
            honest.json
        );
        let url = url::Url::parse(honest.url()).expect("a URL");
        assert!(
            url.query_pairs()
                .all(|(name, _)| !name.to_ascii_lowercase().starts_with("x-amz-checksum")),
            "{algorithm}: the checksum is a signed header, never a query parameter: {url}"
        );
        honest
            .put(BODY)
            .await
            .assert_ok(&format!("PUT matching its signed {header}"));
        honest_keys.push(honest.key().to_owned());

        let cheat = broker
            .upload_grant(&alice, upload("evil.txt", json!({ &field: value })))
            .await;
        let reply = cheat.put(OTHER).await;
        match t.bed.server {
            Server::S3sFs => {
                reply.assert_rejected(&format!("PUT of other bytes than its signed {header}"));
            }
            Server::Ceph => {
                reply.assert_ok(&format!("ceph-rgw 16 ignores {header}"));
                honest_keys.push(cheat.key().to_owned());
            }
        }
    }
    let mut expected: Vec<&str> = honest_keys.iter().map(String::as_str).collect();
    expected.sort_unstable();
    t.assert_keys(&expected, "after the refused PUTs (ceph-rgw 16: stored)")
        .await;
}

async fn put_grant_binds_content_md5(t: Ctx) {
    let broker = Broker::start(&t).await;
    let alice = broker.token("alice");
    let md5 = json!({ "content_md5": BODY_MD5 });
    let honest = broker
        .upload_grant(&alice, upload("good.txt", md5.clone()))
        .await;
    assert_eq!(honest.json["headers"]["content-md5"], BODY_MD5);
    honest
        .put(BODY)
        .await
        .assert_ok("PUT matching its signed Content-MD5");
    let cheat = broker.upload_grant(&alice, upload("evil.txt", md5)).await;
    cheat
        .put(OTHER)
        .await
        .assert_rejected("PUT of other bytes than its signed Content-MD5");
    let both = json!({ "content_md5": BODY_MD5, "checksum_crc32c": digest("crc32c", BODY) });
    let cheat = broker.upload_grant(&alice, upload("both.txt", both)).await;
    cheat
        .put(OTHER)
        .await
        .assert_rejected("PUT of other bytes than its signed Content-MD5 and CRC32C");
    t.assert_keys(&[honest.key()], "after the refused PUTs")
        .await;
}

/// The grant's headers without `name` (and without `content-length`, which the HTTP client
/// sets from the body).
fn headers_without(grant: &Grant, name: &str) -> Vec<(String, String)> {
    grant
        .put_headers()
        .into_iter()
        .filter(|(n, _)| !n.eq_ignore_ascii_case(name))
        .collect()
}

async fn put_without_a_signed_integrity_header_is_refused(t: Ctx) {
    let broker = Broker::start(&t).await;
    let alice = broker.token("alice");
    for (extra, header) in [
        (
            json!({ "checksum_sha1": digest("sha1", BODY) }),
            "x-amz-checksum-sha1",
        ),
        (
            json!({ "checksum_crc32": digest("crc32", BODY) }),
            "x-amz-checksum-crc32",
        ),
        (json!({ "content_md5": BODY_MD5 }), "content-md5"),
    ] {
        let cheat = broker.upload_grant(&alice, upload("evil.txt", extra)).await;
        let headers = headers_without(&cheat, header);
        assert_eq!(
            headers.len() + 1,
            cheat.put_headers().len(),
            "{header} was signed"
        );
        send_raw("PUT", cheat.url(), &headers, Some(OTHER.to_vec()))
            .await
            .assert_rejected(&format!("PUT leaving out its signed {header}"));
    }
    t.assert_keys(&[], "after the refused PUTs").await;
}

async fn post_grant_binds_the_checksum_fields(t: Ctx) {
    let broker = Broker::start(&t).await;
    let alice = broker.token("alice");
    let crc32c = json!({ "method": "POST", "checksum_crc32c": digest("crc32c", BODY) });
    let honest = broker
        .upload_grant(&alice, upload("good.txt", crc32c.clone()))
        .await;
    let fields = honest.fields();
    let field = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(field("x-amz-checksum-algorithm").as_deref(), Some("CRC32C"));
    assert_eq!(field("x-amz-checksum-crc32c"), Some(digest("crc32c", BODY)));
    honest
        .post(&FilePart::new("good.txt", BODY))
        .await
        .assert_ok("POST matching its x-amz-checksum-crc32c field");
    let cheat = broker
        .upload_grant(&alice, upload("evil.txt", crc32c))
        .await;
    let reply = cheat.post(&FilePart::new("evil.txt", OTHER)).await;
    match t.bed.server {
        Server::S3sFs => {
            reply.assert_rejected("POST of other bytes than its x-amz-checksum-crc32c field");
            t.assert_keys(&[honest.key()], "after the refused POST")
                .await;
        }
        Server::Ceph => {
            reply.assert_ok("ceph-rgw 16 ignores x-amz-checksum-crc32c fields");
            let mut keys = [honest.key(), cheat.key()];
            keys.sort_unstable();
            t.assert_keys(&keys, "ceph-rgw 16 stores it").await;
        }
    }
}

async fn checksum_fields_are_validated(broker: &'static Broker) {
    let alice = broker.token("alice");
    for (extra, code, what) in [
        (
            json!({ "checksum_sha256": digest("sha256", BODY), "checksum_crc32": digest("crc32", BODY) }),
            "invalid_checksum",
            "two x-amz-checksum values",
        ),
        (
            json!({ "checksum_crc64nvme": digest("crc32", BODY) }),
            "invalid_checksum",
            "a CRC32 given as CRC64NVME",
        ),
        (
            json!({ "content_md5": "not base64" }),
            "invalid_checksum",
            "a Content-MD5 that is not base64",
        ),
        (
            json!({ "method": "POST", "content_md5": BODY_MD5 }),
            "checksum_not_supported",
            "Content-MD5 on a POST policy",
        ),
    ] {
        broker
            .upload(&alice, upload("x.txt", extra))
            .await
            .problem(400, code, what);
    }
}
