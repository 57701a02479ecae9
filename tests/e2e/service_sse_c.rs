//! SSE-C through the broker: the client names only the MD5 of its 256-bit key
//! (`sse_customer_key_md5`), the grant signs the algorithm and that MD5, and the client sends
//! the key itself in `x-amz-server-side-encryption-customer-key`, which the broker never sees.
//! The object is then readable only with that key, and the grant works with no other key.
//!
//! Ceph radosgw 16 implements SSE-C (the test bed sets `rgw crypt require ssl = false`, so
//! plain HTTP works; AWS requires HTTPS) and accepts the key header unsigned, as AWS documents
//! for presigned requests. s3s-fs 0.17 has no SSE-C and refuses every unsigned `x-amz-*`
//! header, the key's included: its answers are pinned, so the test shows what it does.

use crate::support::broker::{Broker, Grant};
use crate::support::http::Reply;
use crate::support::{Ctx, FilePart, Server, post_fields, send_raw};
use serde_json::{Value, json};

on_both_servers!(
    sse_c_put_then_download_with_the_key,
    sse_c_grant_works_with_its_key_only,
    sse_c_post_form_binds_the_key_md5,
);

with_shared_broker!(sse_c_requests_without_a_usable_key_are_refused);

/// A 256-bit key (32 × 0x11), base64, and its base64 MD5.
const KEY: &str = "ERERERERERERERERERERERERERERERERERERERERERE=";
const KEY_MD5: &str = "YSbdkQDUu1vJkAgt83fvFg==";
/// Another key (32 × 0x22) and its MD5.
const OTHER_KEY: &str = "IiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiI=";
const OTHER_KEY_MD5: &str = "xv6yX+D2J8md48okxcNG+A==";

const BODY: &[u8] = b"only readable with my key";

const KEY_HEADER: &str = "x-amz-server-side-encryption-customer-key";
const MD5_HEADER: &str = "x-amz-server-side-encryption-customer-key-md5";

fn upload(filename: &str, key_md5: &str) -> Value {
    json!({
        "profile": "vault",
        "filename": filename,
        "content_type": "text/plain",
        "size": BODY.len(),
        "sse_customer_key_md5": key_md5,
    })
}

/// The grant's headers with `name` set to `value` (replacing a signed one when present).
fn with_header(headers: Vec<(String, String)>, name: &str, value: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = headers
        .into_iter()
        .filter(|(n, _)| !n.eq_ignore_ascii_case(name))
        .collect();
    out.push((name.to_owned(), value.to_owned()));
    out
}

/// PUTs [`BODY`] with `grant`'s headers plus the customer key `key`.
async fn put_with_key(grant: &Grant, key: &str) -> Reply {
    let headers = with_header(grant.put_headers(), KEY_HEADER, key);
    send_raw("PUT", grant.url(), &headers, Some(BODY.to_vec())).await
}

/// A download grant for `key` with the customer key's MD5.
async fn download(broker: &Broker, token: &str, object: &str, key_md5: &str) -> Grant {
    broker
        .call("POST", "/v1/downloads")
        .bearer(token)
        .json(&json!({ "key": object, "sse_customer_key_md5": key_md5 }))
        .send()
        .await
        .grant("SSE-C download grant")
}

/// GETs with `grant` and `key` (none: without the customer key header).
async fn get_with_key(grant: &Grant, key: Option<&str>) -> Reply {
    let mut headers: Vec<(String, String)> = grant.json["headers"]
        .as_object()
        .expect("an SSE-C download grant has headers")
        .iter()
        .map(|(n, v)| (n.clone(), v.as_str().expect("a string").to_owned()))
        .collect();
    if let Some(key) = key {
        headers.push((KEY_HEADER.to_owned(), key.to_owned()));
    }
    send_raw("GET", grant.url(), &headers, None).await
}

/// Whether the test bed's SDK client, which has no customer key, can read `key`.
async fn readable_without_the_key(t: &Ctx, key: &str) -> bool {
    t.bed
        .s3
        .get_object()
        .bucket(t.bucket.as_str())
        .key(key)
        .send()
        .await
        .is_ok()
}

async fn sse_c_put_then_download_with_the_key(t: Ctx) {
    let broker = Broker::start(&t).await;
    let alice = broker.token("alice");
    let put = broker
        .upload_grant(&alice, upload("secret.txt", KEY_MD5))
        .await;
    assert_eq!(put.json["headers"][MD5_HEADER], KEY_MD5, "{}", put.json);
    assert_eq!(
        put.json["headers"]["x-amz-server-side-encryption-customer-algorithm"],
        "AES256"
    );
    assert!(
        put.json["headers"].get(KEY_HEADER).is_none(),
        "the key is never part of a grant: {}",
        put.json
    );
    assert_eq!(put.json["client_headers"], json!([KEY_HEADER]));
    let signed = url::Url::parse(put.url())
        .expect("a URL")
        .query_pairs()
        .find(|(n, _)| n == "X-Amz-SignedHeaders")
        .map(|(_, v)| v.into_owned())
        .expect("signed headers");
    assert!(
        signed.contains(MD5_HEADER) && !signed.split(';').any(|h| h == KEY_HEADER),
        "the key's MD5 is signed, the key is not: {signed}"
    );

    let reply = put_with_key(&put, KEY).await;
    if t.bed.server == Server::S3sFs {
        reply.assert_rejected("s3s-fs refuses the unsigned customer key header (no SSE-C)");
        t.assert_keys(&[], "s3s-fs stores nothing").await;
        return;
    }
    reply.assert_ok("PUT with the key whose MD5 is signed");
    assert!(
        !readable_without_the_key(&t, put.key()).await,
        "an SSE-C object cannot be read without its key"
    );
    let get = download(&broker, &alice, put.key(), KEY_MD5).await;
    assert_eq!(get.json["client_headers"], json!([KEY_HEADER]));
    get_with_key(&get, None)
        .await
        .assert_rejected("GET without the customer key");
    let reply = get_with_key(&get, Some(KEY)).await;
    reply.assert_ok("GET with the customer key");
    assert_eq!(reply.body, BODY, "decrypted with the key");

    let wrong = download(&broker, &alice, put.key(), OTHER_KEY_MD5).await;
    get_with_key(&wrong, Some(OTHER_KEY))
        .await
        .assert_rejected("GET with another key (and its MD5)");
}

async fn sse_c_grant_works_with_its_key_only(t: Ctx) {
    let broker = Broker::start(&t).await;
    let alice = broker.token("alice");
    // Another key with its own MD5: the MD5 header is signed, so the signature breaks.
    let cheat = broker
        .upload_grant(&alice, upload("evil.txt", KEY_MD5))
        .await;
    let headers = with_header(
        with_header(cheat.put_headers(), MD5_HEADER, OTHER_KEY_MD5),
        KEY_HEADER,
        OTHER_KEY,
    );
    send_raw("PUT", cheat.url(), &headers, Some(BODY.to_vec()))
        .await
        .assert_rejected("PUT with another key and that key's MD5");
    // Another key with the signed MD5: S3 checks the key against the MD5.
    put_with_key(&cheat, OTHER_KEY)
        .await
        .assert_rejected("PUT with another key under the signed MD5");
    // No key at all: S3 cannot encrypt (and, for s3s-fs, the signed SSE-C headers are there).
    let reply = send_raw(
        "PUT",
        cheat.url(),
        &cheat.put_headers(),
        Some(BODY.to_vec()),
    )
    .await;
    match t.bed.server {
        Server::Ceph => {
            reply.assert_rejected("PUT without the customer key");
            t.assert_keys(&[], "after the refused PUTs").await;
        }
        Server::S3sFs => {
            // s3s-fs ignores SSE-C: with only signed headers it stores the plain bytes.
            reply.assert_ok("s3s-fs ignores the SSE-C headers it has no key for");
            t.assert_keys(&[cheat.key()], "s3s-fs stores the plain bytes")
                .await;
        }
    }
}

async fn sse_c_post_form_binds_the_key_md5(t: Ctx) {
    let broker = Broker::start(&t).await;
    let alice = broker.token("alice");
    let mut request = upload("form.txt", KEY_MD5);
    request["method"] = "POST".into();
    let form = broker.upload_grant(&alice, request.clone()).await;
    let fields = form.fields();
    let field = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(
        field("x-amz-server-side-encryption-customer-key-MD5"),
        Some(KEY_MD5)
    );
    assert_eq!(
        field("x-amz-server-side-encryption-customer-algorithm"),
        Some("AES256")
    );
    assert!(field(KEY_HEADER).is_none(), "the key is never in a grant");
    assert_eq!(form.json["client_fields"], json!([KEY_HEADER]));
    let with_key = |key: &str| {
        let mut fields = fields.clone();
        fields.push((KEY_HEADER.to_owned(), key.to_owned()));
        fields
    };
    let file = FilePart::new("form.txt", BODY);

    let cheat = broker.upload_grant(&alice, request.clone()).await;
    let mut cheat_fields = cheat.fields();
    cheat_fields.push((KEY_HEADER.to_owned(), OTHER_KEY.to_owned()));
    let reply = post_fields(cheat.url(), &cheat_fields, &file).await;
    match t.bed.server {
        Server::Ceph => {
            reply.assert_rejected("POST with another key under the bound MD5");
            post_fields(form.url(), &with_key(KEY), &file)
                .await
                .assert_ok("POST with the key whose MD5 is bound");
            assert!(!readable_without_the_key(&t, form.key()).await);
            let get = download(&broker, &alice, form.key(), KEY_MD5).await;
            let reply = get_with_key(&get, Some(KEY)).await;
            reply.assert_ok("GET with the customer key");
            assert_eq!(reply.body, BODY);
            t.assert_keys(&[form.key()], "after the refused POST").await;
        }
        Server::S3sFs => {
            // s3s-fs ignores SSE-C fields: it stores plain bytes, whatever the key.
            reply.assert_ok("s3s-fs ignores SSE-C form fields");
        }
    }
}

async fn sse_c_requests_without_a_usable_key_are_refused(broker: &'static Broker) {
    let alice = broker.token("alice");
    let mut no_md5 = upload("a.txt", KEY_MD5);
    no_md5
        .as_object_mut()
        .unwrap()
        .remove("sse_customer_key_md5");
    broker.upload(&alice, no_md5).await.problem(
        400,
        "sse_customer_key_required",
        "an SSE-C upload without the key's MD5",
    );
    broker
        .upload(&alice, upload("a.txt", "not an md5"))
        .await
        .problem(400, "invalid_sse_customer_key_md5", "a malformed key MD5");
    let mut plain = upload("a.txt", KEY_MD5);
    plain["profile"] = "default".into();
    broker.upload(&alice, plain).await.problem(
        400,
        "sse_customer_key_not_allowed",
        "a key MD5 for a profile without SSE-C",
    );
    broker
        .call("POST", "/v1/multipart")
        .bearer(&alice)
        .json(&json!({
            "profile": "vault", "filename": "big.txt", "content_type": "text/plain", "size": 10
        }))
        .send()
        .await
        .problem(
            400,
            "upload_method_not_allowed",
            "multipart with SSE-C (the broker has no key)",
        );
    broker
        .call("POST", "/v1/downloads")
        .bearer(&alice)
        .json(&json!({ "key": "vault/alice/x/a.txt" }))
        .send()
        .await
        .problem(
            400,
            "sse_customer_key_required",
            "an SSE-C download without the key's MD5",
        );
}
