//! Uppy upload ids on the embedded store of `s3-broker dev`, which does not tie S3 upload ids
//! to keys (there, any key reaches any upload): bob, with a key of his own and alice's sealed
//! upload id, on every `/s3/multipart/{uploadId}...` route and on `POST /s3/sign`, is refused
//! with `not_owner` before any S3 call (the broker's S3-call counter does not move). Alice's
//! upload is untouched: it still holds its part and completes to her bytes.

use crate::dev_store::{Dev, answer, with_dev};
use crate::service_uppy_ids::{enc, every_route_request, s3_calls_in};
use reqwest::Method;
use serde_json::json;

/// An upload created with `POST /s3/multipart` by `token`: its key and sealed id.
async fn create(dev: &Dev, token: &str, filename: &str) -> (String, String) {
    let body = json!({ "filename": filename, "type": "application/octet-stream" });
    let reply = dev
        .api_as(token, Method::POST, "/s3/multipart", Some(body))
        .await;
    assert_eq!(reply.status, 200, "POST /s3/multipart: {}", reply.text());
    let json = reply.json();
    (
        json["key"].as_str().expect("a key").to_owned(),
        json["uploadId"].as_str().expect("an uploadId").to_owned(),
    )
}

/// The broker's S3 calls so far.
async fn s3_calls(dev: &Dev) -> f64 {
    let reply = dev.api_as("", Method::GET, "/metrics", None).await;
    assert_eq!(reply.status, 200, "GET /metrics");
    s3_calls_in(&reply.text())
}

#[test]
fn foreign_upload_ids_are_refused_without_a_store_call() {
    with_dev(async |dev| {
        let (alice, bob) = (dev.token.clone(), dev.token_of("bob"));
        let (alice_key, alice_id) = create(dev, &alice, "alice.bin").await;
        let (bob_key, _) = create(dev, &bob, "bob.bin").await;
        let (id, key) = (enc(&alice_id), enc(&alice_key));
        // Alice uploads her one part.
        let data = b"alice's bytes, which bob must never reach".to_vec();
        let path = format!("/s3/multipart/{id}/1?key={key}");
        let signed = dev.api_as(&alice, Method::GET, &path, None).await;
        assert_eq!(
            signed.status,
            200,
            "alice signs her part: {}",
            signed.text()
        );
        let url = signed.json()["url"].as_str().expect("a URL").to_owned();
        let put = answer(dev.http.put(url).body(data.clone())).await;
        assert_eq!(put.status, 200, "alice's part: {}", put.text());
        let etag = put.header("etag").expect("an ETag").to_owned();

        let before = s3_calls(dev).await;
        assert!(before >= 2.0, "the two creates were counted: {before}");
        for (method, path, body) in every_route_request(&bob_key, &alice_id) {
            let what = format!("bob with alice's id: {method} {path} {body:?}");
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            let reply = dev.api_as(&bob, method, &path, body).await;
            assert_eq!(reply.status, 403, "{what}: {}", reply.text());
            assert_eq!(reply.json()["code"], "not_owner", "{what}");
            assert!(
                !reply.text().contains("X-Amz-Signature"),
                "{what}: a refusal carries no URL"
            );
        }
        assert_eq!(s3_calls(dev).await, before, "no refusal made an S3 call");

        // Alice's upload is untouched: one part, which completes to her bytes.
        let path = format!("/s3/multipart/{id}?key={key}");
        let listed = dev.api_as(&alice, Method::GET, &path, None).await;
        assert_eq!(
            listed.status,
            200,
            "alice lists her parts: {}",
            listed.text()
        );
        let parts = listed.json();
        assert_eq!(parts.as_array().map(Vec::len), Some(1), "{parts}");
        let path = format!("/s3/multipart/{id}/complete?key={key}");
        let parts = json!({ "parts": [{ "PartNumber": 1, "ETag": etag }] });
        let done = dev.api_as(&alice, Method::POST, &path, Some(parts)).await;
        assert_eq!(done.status, 200, "alice completes: {}", done.text());
        assert_eq!(dev.download(&alice_key).await, data, "alice's bytes");
    });
}
