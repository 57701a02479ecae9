//! Attribution on real servers: every presigned URL the broker hands out carries its grant id
//! as the query parameter `x-broker-grant`, covered by the signature (a changed or removed id
//! is refused and nothing is stored), and the same id is the receipt's `jti`; the URLs of one
//! multipart upload share one id; a POST form carries it as the signed field
//! `x-amz-meta-broker-grant`, which the server stores with the object.

use crate::support::Ctx;
use crate::support::broker::{Broker, text_upload};
use crate::support::http::{FilePart, post_fields, send_raw, set_field};
use crate::support::multipart::{MIB, assert_part_refused, bytes, upload_parts};
use base64::Engine;
use serde_json::{Value, json};

on_both_servers!(
    a_put_url_carries_a_signed_grant_id_that_is_the_receipts_jti,
    a_download_url_carries_a_signed_grant_id,
    the_part_urls_of_an_upload_share_one_signed_grant_id,
    uppy_part_urls_share_one_grant_id,
    a_form_stores_its_signed_grant_id_with_the_object,
);

/// The query parameter of the grant id.
const PARAM: &str = "x-broker-grant";

/// The `x-broker-grant` of `url`; panics when there is none or more than one.
fn grant_id(url: &str) -> String {
    let parsed = url::Url::parse(url).expect("a URL");
    let ids: Vec<String> = parsed
        .query_pairs()
        .filter(|(name, _)| name == PARAM)
        .map(|(_, value)| value.into_owned())
        .collect();
    assert_eq!(ids.len(), 1, "one {PARAM} in {url}");
    uuid::Uuid::parse_str(&ids[0]).unwrap_or_else(|e| panic!("{PARAM} is a UUID: {e}"));
    ids[0].clone()
}

/// `url` with its grant id replaced by `other`, or removed (`None`); nothing else changes.
fn with_grant_id(url: &str, other: Option<&str>) -> String {
    let (base, query) = url.split_once('?').expect("a query");
    let pairs: Vec<String> = query
        .split('&')
        .filter_map(|pair| match pair.split_once('=') {
            Some((PARAM, _)) => other.map(|id| format!("{PARAM}={id}")),
            _ => Some(pair.to_owned()),
        })
        .collect();
    format!("{base}?{}", pairs.join("&"))
}

/// Another well-formed grant id.
fn forged_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The claims of a compact JWS, read without checking it (service_verify checks receipts).
fn claims(jws: &str) -> Value {
    let payload = jws.split('.').nth(1).expect("a compact JWS");
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    serde_json::from_slice(&json).expect("JSON claims")
}

async fn a_put_url_carries_a_signed_grant_id_that_is_the_receipts_jti(t: Ctx) {
    let broker = Broker::start(&t).await;
    let alice = broker.token("alice");
    let body = b"attributed bytes\n";
    let grant = broker
        .upload_grant(&alice, text_upload("a.txt", body.len(), json!({})))
        .await;
    let id = grant_id(grant.url());
    let headers = grant.put_headers();
    for (tampered, what) in [
        (
            with_grant_id(grant.url(), Some(&forged_id())),
            "another grant id",
        ),
        (with_grant_id(grant.url(), None), "no grant id"),
    ] {
        send_raw("PUT", &tampered, &headers, Some(body.to_vec()))
            .await
            .assert_rejected(&format!("a PUT URL with {what}"));
    }
    t.assert_keys(&[], "nothing stored by a tampered URL").await;
    grant.put(body).await.assert_ok("the URL as signed");
    assert_eq!(t.stored(grant.key()).await.bytes, body);

    let reply = broker
        .call("POST", "/v1/uploads/verify")
        .bearer(&alice)
        .json(&json!({ "upload": grant.str("upload") }))
        .send()
        .await;
    reply.assert_status(200, "verify the upload");
    let receipt = reply.json()["receipt"]
        .as_str()
        .expect("a receipt")
        .to_owned();
    assert_eq!(claims(&receipt)["jti"], id.as_str(), "the receipt's jti");

    // Another grant, another id.
    let again = broker
        .upload_grant(&alice, text_upload("b.txt", body.len(), json!({})))
        .await;
    assert_ne!(grant_id(again.url()), id);
}

async fn a_download_url_carries_a_signed_grant_id(t: Ctx) {
    let broker = Broker::start(&t).await;
    let alice = broker.token("alice");
    let body = b"to be read\n";
    let upload = broker
        .upload_grant(&alice, text_upload("r.txt", body.len(), json!({})))
        .await;
    upload.put(body).await.assert_ok("upload");
    let download = broker
        .download(&alice, upload.key())
        .await
        .grant("a download grant");
    let id = grant_id(download.url());
    assert_ne!(id, grant_id(upload.url()), "each grant has its own id");
    for other in [Some(forged_id()), None] {
        send_raw(
            "GET",
            &with_grant_id(download.url(), other.as_deref()),
            &[],
            None,
        )
        .await
        .assert_rejected("a GET URL with another or no grant id");
    }
    let reply = download.get().await;
    reply.assert_ok("the GET URL as signed");
    assert_eq!(reply.body, body);
}

async fn the_part_urls_of_an_upload_share_one_signed_grant_id(t: Ctx) {
    const SIZE: usize = 5 * MIB + 1000;
    let broker = Broker::start(&t).await;
    let alice = broker.token("alice");
    let upload = broker.create_upload(&alice, "two-parts.bin", SIZE).await;
    let grants = broker.part_grants(&alice, &upload).await;
    assert_eq!(grants.len(), 2);
    let ids: Vec<String> = grants
        .iter()
        .map(|g| grant_id(g["url"].as_str().expect("a url")))
        .collect();
    assert_eq!(ids[0], ids[1], "one id for every part of the upload");
    // Signing again gives the same id: it belongs to the upload.
    let again = broker.part_grants(&alice, &upload).await;
    assert_eq!(grant_id(again[0]["url"].as_str().unwrap()), ids[0]);

    let data = bytes(SIZE, 7);
    let first = &grants[0];
    let size = first["size"].as_u64().unwrap() as usize;
    let mut tampered = first.clone();
    tampered["url"] = with_grant_id(first["url"].as_str().unwrap(), Some(&forged_id())).into();
    assert_part_refused(&tampered, &data[..size], "a part URL with another grant id").await;

    let receipts = upload_parts(&grants, &data).await;
    broker
        .multipart_complete(&alice, &upload.ticket, Value::Array(receipts))
        .await
        .assert_status(200, "complete");
    assert_eq!(t.stored(&upload.key).await.bytes.len(), SIZE);
}

async fn uppy_part_urls_share_one_grant_id(t: Ctx) {
    let broker = Broker::start(&t).await;
    let alice = broker.token("alice");
    let created = broker
        .call("POST", "/s3/multipart")
        .bearer(&alice)
        .json(&json!({ "filename": "uppy.bin", "type": "application/octet-stream" }))
        .send()
        .await;
    created.assert_status(200, "Uppy create");
    let created = created.json();
    let (key, upload_id) = (
        created["key"].as_str().unwrap().to_owned(),
        created["uploadId"].as_str().unwrap().to_owned(),
    );
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("key", &key)
        .append_pair("partNumbers", "1,2,3")
        .finish();
    let encoded_id: String = url::form_urlencoded::byte_serialize(upload_id.as_bytes()).collect();
    let batch = broker
        .call("GET", &format!("/s3/multipart/{encoded_id}/batch?{query}"))
        .bearer(&alice)
        .send()
        .await;
    batch.assert_status(200, "Uppy batch");
    let urls = batch.json()["presignedUrls"].clone();
    let ids: Vec<String> = ["1", "2", "3"]
        .iter()
        .map(|n| grant_id(urls[n].as_str().expect("a part URL")))
        .collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    let part = bytes(1000, 3);
    let url = urls["1"].as_str().unwrap();
    send_raw(
        "PUT",
        &with_grant_id(url, Some(&forged_id())),
        &[],
        Some(part.clone()),
    )
    .await
    .assert_rejected("an Uppy part URL with another grant id");
    send_raw("PUT", url, &[], Some(part))
        .await
        .assert_ok("the Uppy part URL as signed");
}

async fn a_form_stores_its_signed_grant_id_with_the_object(t: Ctx) {
    let broker = Broker::start(&t).await;
    let alice = broker.token("alice");
    let body = b"posted bytes\n";
    let grant = broker
        .upload_grant(
            &alice,
            text_upload("f.txt", body.len(), json!({ "method": "POST" })),
        )
        .await;
    let fields = grant.fields();
    let id = fields
        .iter()
        .find(|(name, _)| name == "x-amz-meta-broker-grant")
        .map(|(_, value)| value.clone())
        .expect("the form carries its grant id");
    uuid::Uuid::parse_str(&id).expect("a UUID");
    let file = FilePart::new("f.txt", body);
    let mut altered = fields.clone();
    set_field(&mut altered, "x-amz-meta-broker-grant", &forged_id());
    post_fields(grant.url(), &altered, &file)
        .await
        .assert_rejected("a form with another grant id");
    let mut dropped = fields.clone();
    dropped.retain(|(name, _)| name != "x-amz-meta-broker-grant");
    post_fields(grant.url(), &dropped, &file)
        .await
        .assert_rejected("a form without its grant id");
    t.assert_keys(&[], "nothing stored by a tampered form")
        .await;

    grant.post(&file).await.assert_ok("the form as signed");
    let stored = t.stored(grant.key()).await;
    assert_eq!(stored.bytes, body);
    assert_eq!(
        stored.metadata.get("broker-grant"),
        Some(&id),
        "the object keeps its grant id: {:?}",
        stored.metadata
    );
    let head = t
        .bed
        .s3
        .head_object()
        .bucket(t.bucket.as_str())
        .key(grant.key())
        .send()
        .await
        .expect("HeadObject");
    assert_eq!(
        head.metadata().and_then(|m| m.get("broker-grant")),
        Some(&id)
    );
}
