//! Uppy upload ids bound to their key and principal, on both servers (s3s-fs does not tie S3
//! upload ids to keys, so there only the broker can refuse): bob, with a key of his own and
//! alice's upload id, on every `/s3/multipart/{uploadId}...` route and on `POST /s3/sign`, is
//! refused before any S3 call (the broker's S3-call counter does not move); so are an altered
//! id, an id used with another key of the same caller, and S3's own id in place of the sealed
//! one. Alice's upload is untouched: it still holds its part and completes to her bytes.
//! Uppy 6's create goes through the broker (`/s3/initiated`), which hands out a sealed id too.

use crate::support::Ctx;
use crate::support::broker::{ApiReply, Broker};
use crate::support::send_raw;
use serde_json::{Value, json};

on_both_servers!(foreign_upload_ids_are_refused_without_an_s3_call);

pub(crate) fn enc(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The sum of the broker's S3 calls, all operations and outcomes.
async fn s3_calls(broker: &Broker) -> f64 {
    let reply = broker.call("GET", "/metrics").send().await;
    reply.assert_status(200, "GET /metrics");
    s3_calls_in(&String::from_utf8_lossy(&reply.body))
}

/// The sum of the S3 calls counted in the text of `GET /metrics`.
pub(crate) fn s3_calls_in(metrics: &str) -> f64 {
    metrics
        .lines()
        .filter(|line| line.starts_with("s3_broker_s3_requests_total{"))
        .map(|line| {
            line.rsplit(' ')
                .next()
                .and_then(|v| v.parse::<f64>().ok())
                .expect("a sample value")
        })
        .sum()
}

/// An upload created with `POST /s3/multipart`: its key and sealed id.
async fn create(broker: &Broker, token: &str, filename: &str) -> (String, String) {
    let reply = broker
        .call("POST", "/s3/multipart")
        .bearer(token)
        .json(&json!({ "filename": filename, "type": "application/octet-stream" }))
        .send()
        .await;
    reply.assert_status(200, "POST /s3/multipart");
    let json = reply.json();
    (
        json["key"].as_str().expect("a key").to_owned(),
        json["uploadId"].as_str().expect("an uploadId").to_owned(),
    )
}

/// Every route on one upload, as `token` naming `key` and `upload_id`.
async fn every_route(
    broker: &Broker,
    token: &str,
    key: &str,
    upload_id: &str,
) -> Vec<(String, ApiReply)> {
    let mut replies = Vec::new();
    for (method, path, body) in every_route_request(key, upload_id) {
        let mut call = broker.call(method, &path).bearer(token);
        if let Some(body) = &body {
            call = call.json(body);
        }
        let what = match &body {
            Some(body) if path == "/s3/sign" => format!("POST /s3/sign {body}"),
            _ => format!("{method} {path}"),
        };
        replies.push((what, call.send().await));
    }
    replies
}

/// The requests of every Uppy route on one upload, naming `key` and `upload_id`: each
/// `/s3/multipart/{uploadId}...` route, then `POST /s3/sign` for each S3 call on an upload.
pub(crate) fn every_route_request(
    key: &str,
    upload_id: &str,
) -> Vec<(&'static str, String, Option<Value>)> {
    let (id, key_q) = (enc(upload_id), format!("key={}", enc(key)));
    let mut requests = vec![
        ("GET", format!("/s3/multipart/{id}?{key_q}"), None),
        ("GET", format!("/s3/multipart/{id}/1?{key_q}"), None),
        (
            "GET",
            format!("/s3/multipart/{id}/batch?{key_q}&partNumbers=1,2"),
            None,
        ),
        (
            "POST",
            format!("/s3/multipart/{id}/complete?{key_q}"),
            Some(
                json!({ "parts": [{ "PartNumber": 1, "ETag": "\"0123456789abcdef0123456789abcdef\"" }] }),
            ),
        ),
        ("DELETE", format!("/s3/multipart/{id}?{key_q}"), None),
    ];
    for request in [
        json!({ "method": "PUT", "key": key, "uploadId": upload_id, "partNumber": 1 }),
        json!({ "method": "GET", "key": key, "uploadId": upload_id }),
        json!({ "method": "POST", "key": key, "uploadId": upload_id }),
        json!({ "method": "DELETE", "key": key, "uploadId": upload_id }),
    ] {
        requests.push(("POST", "/s3/sign".to_owned(), Some(request)));
    }
    requests
}

#[track_caller]
fn refused(reply: &ApiReply, status: u16, code: &str, what: &str) {
    reply.assert_status(status, what);
    let json: Value = reply.json();
    assert_eq!(json["code"], code, "{what}: {json}");
    assert!(
        !reply.text().contains("X-Amz-Signature"),
        "{what}: a refusal carries no URL"
    );
}

async fn foreign_upload_ids_are_refused_without_an_s3_call(t: Ctx) {
    let broker = Broker::start(&t).await;
    let (alice, bob) = (broker.token("alice"), broker.token("bob"));
    let (alice_key, alice_id) = create(&broker, &alice, "alice.bin").await;
    let (bob_key, bob_id) = create(&broker, &bob, "bob.bin").await;
    let (bob_other_key, _) = create(&broker, &bob, "bob-other.bin").await;
    assert!(
        !alice_id.contains(alice_key.rsplit('/').next().unwrap()),
        "the id is opaque"
    );
    // Alice uploads her one part.
    let data = b"alice's bytes, which bob must never reach".to_vec();
    let signed = broker
        .call(
            "GET",
            &format!("/s3/multipart/{}/1?key={}", enc(&alice_id), enc(&alice_key)),
        )
        .bearer(&alice)
        .send()
        .await;
    signed.assert_status(200, "alice signs her part");
    let url = signed.json()["url"].as_str().unwrap().to_owned();
    let put = send_raw("PUT", &url, &[], Some(data.clone())).await;
    put.assert_ok("alice's part");
    let etag = put.header("etag").expect("an ETag").to_owned();

    let before = s3_calls(&broker).await;
    // Bob, with his own key and alice's id, on every route.
    for (what, reply) in every_route(&broker, &bob, &bob_key, &alice_id).await {
        refused(
            &reply,
            403,
            "not_owner",
            &format!("bob with alice's id: {what}"),
        );
    }
    // Bob's own id with another of his keys: an id is bound to one key.
    for (what, reply) in every_route(&broker, &bob, &bob_other_key, &bob_id).await {
        refused(
            &reply,
            403,
            "not_owner",
            &format!("bob's id, other key: {what}"),
        );
    }
    // An altered id, and the bare S3 id inside alice's: not ids this broker handed out.
    let mut altered = bob_id.clone().into_bytes();
    let last = altered.len() - 1;
    altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(altered).unwrap();
    let bare = s3_upload_id(&alice_id);
    for forged in [altered.as_str(), bare.as_str()] {
        for (what, reply) in every_route(&broker, &bob, &bob_key, forged).await {
            refused(
                &reply,
                400,
                "invalid_upload_id",
                &format!("a forged id: {what}"),
            );
        }
    }
    assert_eq!(
        s3_calls(&broker).await,
        before,
        "no refusal made an S3 call"
    );

    // Alice's upload is untouched: one part, which completes to her bytes.
    let listed = broker
        .call(
            "GET",
            &format!("/s3/multipart/{}?key={}", enc(&alice_id), enc(&alice_key)),
        )
        .bearer(&alice)
        .send()
        .await;
    listed.assert_status(200, "alice lists her parts");
    let parts = listed.json();
    assert_eq!(parts.as_array().map(Vec::len), Some(1), "{parts}");
    let done = broker
        .call(
            "POST",
            &format!(
                "/s3/multipart/{}/complete?key={}",
                enc(&alice_id),
                enc(&alice_key)
            ),
        )
        .bearer(&alice)
        .json(&json!({ "parts": [{ "PartNumber": 1, "ETag": etag }] }))
        .send()
        .await;
    done.assert_status(200, "alice completes her upload");
    assert!(t.stored(&alice_key).await.bytes == data, "alice's bytes");
    // Bob's own calls still work: he aborts his upload.
    broker
        .call(
            "DELETE",
            &format!("/s3/multipart/{}?key={}", enc(&bob_id), enc(&bob_key)),
        )
        .bearer(&bob)
        .send()
        .await
        .assert_status(200, "bob aborts his own upload");

    // Uppy 6: the create of `POST /s3/sign` goes through the broker, which hands over a
    // sealed id in S3's XML; bob cannot use it either.
    let created = broker
        .call("POST", "/s3/sign")
        .bearer(&alice)
        .json(&json!({ "method": "POST", "key": "clip.bin" }))
        .send()
        .await;
    created.assert_status(200, "Uppy 6's create");
    let created = created.json();
    let url = created["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("{}/s3/initiated?upload=", broker.url)),
        "{created}"
    );
    let initiated = send_raw("POST", url, &[], None).await;
    initiated.assert_ok("POST /s3/initiated");
    let xml = String::from_utf8_lossy(&initiated.body).into_owned();
    let sealed = xml
        .split("<UploadId>")
        .nth(1)
        .and_then(|rest| rest.split("</UploadId>").next())
        .expect("an UploadId")
        .to_owned();
    let six_key = created["key"].as_str().unwrap();
    assert!(xml.contains(&format!("<Key>{six_key}</Key>")), "{xml}");
    let before = s3_calls(&broker).await;
    for (what, reply) in every_route(&broker, &bob, &bob_key, &sealed).await {
        refused(
            &reply,
            403,
            "not_owner",
            &format!("bob with a Uppy 6 id: {what}"),
        );
    }
    assert_eq!(s3_calls(&broker).await, before, "no S3 call for Uppy 6 ids");
    let forged = send_raw(
        "POST",
        &format!("{}/s3/initiated?upload={}", broker.url, enc(&altered)),
        &[],
        None,
    )
    .await;
    assert_eq!(forged.status, 403, "{}", forged.text());
    assert!(
        forged.text().contains("invalid_ticket"),
        "{}",
        forged.text()
    );
}

/// The S3 upload id a sealed one wraps (its payload is readable, not forgeable).
fn s3_upload_id(sealed: &str) -> String {
    use base64::Engine;
    let payload = sealed.split('.').nth(2).expect("a sealed id");
    let json: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .expect("base64url"),
    )
    .expect("JSON");
    json["u"].as_str().expect("the S3 id").to_owned()
}
