//! Verified multipart uploads on real servers: every completion the broker performs
//! (`POST /v1/multipart/complete`, Companion's `/s3/multipart/{uploadId}/complete` and Uppy 6's
//! `/s3/complete`) checks the assembled object and answers a receipt, which the test checks
//! offline against `GET /.well-known/jwks.json`; bytes that are not what was declared get 422
//! and are deleted. The token of each route (the ticket, the sealed upload id, `/s3/sign`'s
//! `upload`) re-verifies the object with `POST /v1/uploads/verify`, idempotently, for its
//! principal only. Uppy's single uploads (`/s3/params`, `/s3/sign` PutObject) carry an
//! `upload` token too.

use crate::service_verify::{check_offline, verify};
use crate::support::Ctx;
use crate::support::broker::{Broker, Options};
use crate::support::http::{Reply, send_raw};
use serde_json::{Value, json};

on_both_servers!(
    each_completion_answers_a_receipt_that_verifies_offline,
    a_multipart_object_of_other_bytes_is_refused_and_deleted,
    content_checks_off_complete_other_bytes,
    another_principals_multipart_token_is_refused,
    uppy_single_uploads_carry_an_upload_token,
);

/// The default profile's rules, without content checks.
const LOOSE: &str = r#"
key_template = "loose/{principal}/{uuid}-{filename}"
content_types = ["image/png"]
max_size = "1 MiB"
multipart = true
content_checks = false
"#;

const PNG: &[u8] = include_bytes!("../fixtures/sniff/sample.png");
const HTML_AS_PNG: &[u8] = include_bytes!("../fixtures/sniff/sample-as-png.html");

/// The three ways the broker completes a multipart upload.
#[derive(Debug, Clone, Copy)]
enum Route {
    /// `POST /v1/multipart...`.
    Native,
    /// Companion's `/s3/multipart...` (Uppy 5, Uppy 6 with `companionEndpoint`).
    Companion,
    /// `POST /s3/sign` and `/s3/complete` (Uppy 6's `signRequest`; the default profile only).
    SignRequest,
}

const ROUTES: [Route; 3] = [Route::Native, Route::Companion, Route::SignRequest];

/// A completed (or refused) upload: the completion's answer, the key, and the token that
/// verify takes for it.
struct Completion {
    reply: Reply,
    key: String,
    token: String,
    /// The grant id the part URL carried (`x-broker-grant`).
    part_grant: String,
}

/// The grant id a presigned URL carries.
fn grant_of(url: &str) -> String {
    url::Url::parse(url)
        .expect("a URL")
        .query_pairs()
        .find(|(name, _)| name == "x-broker-grant")
        .map(|(_, id)| id.into_owned())
        .expect("a grant id in the URL")
}

impl Completion {
    /// The receipt of a successful completion (JSON `receipt`, or `/s3/complete`'s XML
    /// `Receipt` element).
    fn receipt(&self, route: Route) -> String {
        assert_eq!(self.reply.status, 200, "{route:?}: {}", self.reply.text());
        let text = String::from_utf8_lossy(&self.reply.body);
        match route {
            Route::SignRequest => {
                let start = text.find("<Receipt>").expect("a Receipt element") + 9;
                let end = start + text[start..].find('<').expect("its end");
                text[start..end].to_owned()
            }
            _ => self.json()["receipt"]
                .as_str()
                .expect("a receipt")
                .to_owned(),
        }
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.reply.body).expect("a JSON answer")
    }
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// An authenticated call of `token`.
async fn call(broker: &Broker, token: &str, method: &str, path: &str, body: Value) -> Value {
    let mut request = broker.call(method, path).bearer(token);
    if !body.is_null() {
        request = request.json(&body);
    }
    let reply = request.send().await;
    reply.assert_status(200, &format!("{method} {path}"));
    reply.json()
}

/// Uploads `data` as `portrait.png` declared `image/png` in one part through `route` under
/// `profile`, and completes it.
async fn upload(
    broker: &Broker,
    token: &str,
    route: Route,
    profile: &str,
    data: &[u8],
) -> Completion {
    let bearer = vec![("authorization".to_owned(), format!("Bearer {token}"))];
    match route {
        Route::Native => {
            let created = call(
                broker,
                token,
                "POST",
                "/v1/multipart",
                json!({"profile": profile, "filename": "portrait.png",
                       "content_type": "image/png", "size": data.len()}),
            )
            .await;
            let ticket = created["upload"].as_str().unwrap().to_owned();
            let upload = crate::support::multipart::Upload {
                json: created.clone(),
                ticket: ticket.clone(),
                key: created["key"].as_str().unwrap().to_owned(),
            };
            let grants = broker.part_grants(token, &upload).await;
            let part_grant = grant_of(grants[0]["url"].as_str().unwrap());
            let parts = crate::support::multipart::upload_parts(&grants, data).await;
            let body = json!({"upload": ticket, "parts": parts});
            let reply = post_json(broker, &bearer, "/v1/multipart/complete", &body).await;
            Completion {
                reply,
                key: upload.key,
                token: ticket,
                part_grant,
            }
        }
        Route::Companion => {
            let created = call(
                broker,
                token,
                "POST",
                "/s3/multipart",
                json!({"profile": profile, "filename": "portrait.png", "type": "image/png"}),
            )
            .await;
            let key = created["key"].as_str().unwrap().to_owned();
            let id = created["uploadId"].as_str().unwrap().to_owned();
            let base = format!("/s3/multipart/{}", encode(&id));
            let key_query = format!("key={}", encode(&key));
            let part = call(
                broker,
                token,
                "GET",
                &format!("{base}/1?{key_query}"),
                Value::Null,
            )
            .await;
            let part_grant = grant_of(part["url"].as_str().unwrap());
            let etag = put(part["url"].as_str().unwrap(), &[], data).await;
            let body = json!({"parts": [{"PartNumber": 1, "ETag": etag}]});
            let path = format!("{base}/complete?{key_query}");
            let reply = post_json(broker, &bearer, &path, &body).await;
            Completion {
                reply,
                key,
                token: id,
                part_grant,
            }
        }
        Route::SignRequest => {
            assert_eq!(profile, "default", "/s3/sign uses the default profile");
            let sign = |request: Value| call(broker, token, "POST", "/s3/sign", request);
            let created = sign(json!({"method": "POST", "key": "portrait.png",
                                      "contentType": "image/png"}))
            .await;
            let key = created["key"].as_str().unwrap().to_owned();
            // The sealed upload id, which `/s3/initiated` hands to Uppy, is `upload`.
            let id = created["upload"]
                .as_str()
                .expect("an upload token")
                .to_owned();
            let initiated = send_raw("POST", created["url"].as_str().unwrap(), &[], None).await;
            let initiated = String::from_utf8_lossy(&initiated.body).into_owned();
            assert!(
                initiated.contains(&format!("<UploadId>{id}</UploadId>")),
                "{initiated}"
            );
            let part = sign(json!({"method": "PUT", "key": key, "uploadId": id,
                                   "partNumber": 1}))
            .await;
            let headers: Vec<(String, String)> = part["headers"]
                .as_object()
                .map(|h| {
                    h.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                        .collect()
                })
                .unwrap_or_default();
            let part_grant = grant_of(part["url"].as_str().unwrap());
            let etag = put(part["url"].as_str().unwrap(), &headers, data).await;
            let complete = sign(json!({"method": "POST", "key": key, "uploadId": id})).await;
            let xml = format!(
                "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>\
                 <ETag>{etag}</ETag></Part></CompleteMultipartUpload>"
            );
            let header = vec![("content-type".to_owned(), "application/xml".to_owned())];
            let url = complete["url"].as_str().unwrap();
            let reply = send_raw("POST", url, &header, Some(xml.into_bytes())).await;
            Completion {
                reply,
                key,
                token: id,
                part_grant,
            }
        }
    }
}

/// PUTs `data` to a part URL; its ETag.
async fn put(url: &str, headers: &[(String, String)], data: &[u8]) -> String {
    let reply = send_raw("PUT", url, headers, Some(data.to_vec())).await;
    reply.assert_ok("PUT the part");
    reply.header("etag").expect("an ETag").to_owned()
}

async fn post_json(
    broker: &Broker,
    headers: &[(String, String)],
    path: &str,
    body: &Value,
) -> Reply {
    let mut headers = headers.to_vec();
    headers.push(("content-type".to_owned(), "application/json".to_owned()));
    let url = format!("{}{path}", broker.url);
    send_raw("POST", &url, &headers, Some(body.to_string().into_bytes())).await
}

async fn broker(t: &Ctx) -> Broker {
    let options = Options {
        extra_profiles: vec![("loose", LOOSE)],
        ..Options::default()
    };
    Broker::start_with(t.bed, t.bucket.as_str(), options).await
}

/// The `check` of each reason of a 422 `upload_mismatch` (problem+json or Companion-shaped).
fn mismatch_checks(reply: &Reply, what: &str) -> Vec<String> {
    assert_eq!(reply.status, 422, "{what}: {}", reply.text());
    let body: Value = serde_json::from_slice(&reply.body).expect("a JSON error");
    assert_eq!(body["code"], "upload_mismatch", "{what}: {body}");
    assert_eq!(body["action"], "deleted", "{what}: {body}");
    body["reasons"]
        .as_array()
        .unwrap_or_else(|| panic!("{what}: reasons in {body}"))
        .iter()
        .map(|r| r["check"].as_str().unwrap().to_owned())
        .collect()
}

async fn each_completion_answers_a_receipt_that_verifies_offline(t: Ctx) {
    let broker = broker(&t).await;
    let alice = broker.token("alice");
    for route in ROUTES {
        let done = upload(&broker, &alice, route, "default", PNG).await;
        let claims = check_offline(&broker, &done.receipt(route)).await;
        assert_eq!(claims["sub"], "alice", "{route:?}");
        assert_eq!(claims["profile"], "default", "{route:?}");
        assert_eq!(claims["object"]["key"], done.key.as_str(), "{route:?}");
        assert_eq!(claims["object"]["bucket"], t.bucket.as_str(), "{route:?}");
        assert_eq!(claims["object"]["size"], PNG.len(), "{route:?}");
        assert_eq!(claims["object"]["content_type"], "image/png", "{route:?}");
        // The receipt names the grant every URL of the upload carried.
        assert_eq!(claims["jti"], done.part_grant.as_str(), "{route:?}");
        if !matches!(route, Route::SignRequest) {
            assert_eq!(done.json()["object"], claims["object"], "{route:?}");
        }
        // The route's token re-verifies it, as often as asked: the same grant and object.
        for attempt in 1..=2 {
            let reply = verify(&broker, &alice, &done.token).await;
            reply.assert_status(200, &format!("{route:?}: verify #{attempt}"));
            let again = check_offline(&broker, reply.json()["receipt"].as_str().unwrap()).await;
            assert_eq!(again["jti"], claims["jti"], "{route:?}");
            assert_eq!(again["object"], claims["object"], "{route:?}");
        }
        assert_eq!(t.stored(&done.key).await.bytes, PNG, "{route:?}: stays");
    }
}

async fn a_multipart_object_of_other_bytes_is_refused_and_deleted(t: Ctx) {
    let broker = broker(&t).await;
    let alice = broker.token("alice");
    assert_eq!(HTML_AS_PNG.len(), PNG.len());
    for route in ROUTES {
        let done = upload(&broker, &alice, route, "default", HTML_AS_PNG).await;
        let checks = mismatch_checks(&done.reply, &format!("{route:?}"));
        assert_eq!(checks, ["signature", "extension"], "{route:?}");
        assert!(t.object(&done.key).await.is_none(), "{route:?}: gone");
        verify(&broker, &alice, &done.token).await.problem(
            404,
            "upload_not_found",
            &format!("{route:?}: verify after the deletion"),
        );
    }
}

async fn content_checks_off_complete_other_bytes(t: Ctx) {
    let broker = broker(&t).await;
    let alice = broker.token("alice");
    for route in [Route::Native, Route::Companion] {
        let done = upload(&broker, &alice, route, "loose", HTML_AS_PNG).await;
        let claims = check_offline(&broker, &done.receipt(route)).await;
        assert_eq!(claims["profile"], "loose");
        assert_eq!(t.stored(&done.key).await.bytes, HTML_AS_PNG, "{route:?}");
    }
}

async fn another_principals_multipart_token_is_refused(t: Ctx) {
    let broker = broker(&t).await;
    let alice = broker.token("alice");
    let bob = broker.token("bob");
    for route in ROUTES {
        let done = upload(&broker, &alice, route, "default", PNG).await;
        done.receipt(route);
        // Replaced out of band: a verify that reached S3 would delete it.
        t.put(&done.key, HTML_AS_PNG).await;
        verify(&broker, &bob, &done.token).await.problem(
            403,
            "not_owner",
            &format!("{route:?}: Bob presents Alice's token"),
        );
        assert_eq!(t.stored(&done.key).await.bytes, HTML_AS_PNG, "{route:?}");
        let reply = verify(&broker, &alice, &done.token).await;
        reply.problem(422, "upload_mismatch", &format!("{route:?}: Alice's"));
        assert!(t.object(&done.key).await.is_none(), "{route:?}: gone");
    }
}

async fn uppy_single_uploads_carry_an_upload_token(t: Ctx) {
    let broker = broker(&t).await;
    let alice = broker.token("alice");
    let params = format!(
        "/s3/params?filename=portrait.png&type={}",
        encode("image/png")
    );
    let companion = call(&broker, &alice, "GET", &params, Value::Null).await;
    let sign = json!({"method": "PUT", "key": "portrait.png", "contentType": "image/png"});
    let signed = call(&broker, &alice, "POST", "/s3/sign", sign).await;
    for (what, grant, body) in [
        ("/s3/params", &companion, PNG),
        ("/s3/sign", &signed, HTML_AS_PNG),
    ] {
        let token = grant["upload"].as_str().expect("an upload token");
        let key = grant["fields"]["key"].as_str().unwrap();
        let fields: Vec<(String, String)> = grant["fields"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .collect();
        let mut file = crate::support::FilePart::new("portrait.png", body);
        file.content_type = "image/png".into();
        crate::support::post_fields(grant["url"].as_str().unwrap(), &fields, &file)
            .await
            .assert_ok(what);
        let reply = verify(&broker, &alice, token).await;
        if body == PNG {
            reply.assert_status(200, what);
            let claims = check_offline(&broker, reply.json()["receipt"].as_str().unwrap()).await;
            assert_eq!(claims["object"]["key"], key, "{what}");
            assert_eq!(claims["object"]["size"], PNG.len(), "{what}");
        } else {
            reply.problem(422, "upload_mismatch", what);
            assert!(t.object(key).await.is_none(), "{what}: gone");
        }
    }
}
