//! Verified uploads on real servers: a client uploads real bytes with its grant, the
//! broker reads what S3 holds (`POST /v1/uploads/verify`) and answers a receipt, which the
//! test checks offline against `GET /.well-known/jwks.json` with `jsonwebtoken`; bytes that
//! are not what was declared (HTML sent as a PNG, an object replaced out of band) get 422 and
//! are deleted, or tagged and kept under `on_mismatch = "quarantine"`.

use crate::support::broker::{Broker, Options};
use crate::support::http::FilePart;
use crate::support::{Ctx, Server};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde_json::{Value, json};

on_both_servers!(
    a_png_gets_a_receipt_that_verifies_offline,
    html_declared_as_png_is_refused_and_deleted,
    an_object_replaced_out_of_band_is_refused,
    quarantine_keeps_and_tags_the_object,
    content_checks_can_be_turned_off,
    nothing_uploaded_is_upload_not_found,
    another_principals_token_is_refused,
);

/// Photos, deleted on a mismatch; images at most 4096 pixels wide.
const PHOTOS: &str = r#"
key_template = "photos/{principal}/{uuid}/{filename}"
content_types = ["image/png", "image/jpeg", "text/html"]
max_size = "1 MiB"
methods = ["PUT", "POST"]
max_width = 4096
"#;

/// The same, kept and tagged on a mismatch.
const HELD: &str = r#"
key_template = "held/{principal}/{uuid}/{filename}"
content_types = ["image/png"]
max_size = "1 MiB"
methods = ["PUT"]
on_mismatch = "quarantine"
"#;

/// No content checks: size, type and checksum only.
const LOOSE: &str = r#"
key_template = "loose/{principal}/{uuid}/{filename}"
content_types = ["image/png"]
max_size = "1 MiB"
methods = ["PUT"]
content_checks = false
"#;

const PNG: &[u8] = include_bytes!("../fixtures/sniff/sample.png");
const HTML_AS_PNG: &[u8] = include_bytes!("../fixtures/sniff/sample-as-png.html");

async fn broker(t: &Ctx) -> Broker {
    let options = Options {
        extra_profiles: vec![("photos", PHOTOS), ("held", HELD), ("loose", LOOSE)],
        ..Options::default()
    };
    Broker::start_with(t.bed, t.bucket.as_str(), options).await
}

fn png_intent(profile: &str, method: &str) -> Value {
    json!({"profile": profile, "filename": "portrait.png", "content_type": "image/png",
           "size": PNG.len(), "method": method})
}

pub(crate) async fn verify(
    broker: &Broker,
    token: &str,
    upload: &str,
) -> crate::support::broker::ApiReply {
    broker
        .call("POST", "/v1/uploads/verify")
        .bearer(token)
        .json(&json!({ "upload": upload }))
        .send()
        .await
}

/// The claims of `receipt` checked against the broker's JWK Set, as an application would.
pub(crate) async fn check_offline(broker: &Broker, receipt: &str) -> Value {
    let jwks = broker.call("GET", "/.well-known/jwks.json").send().await;
    jwks.assert_status(200, "the JWK Set");
    let set: JwkSet = serde_json::from_value(jwks.json()).expect("a JWK Set");
    let header = decode_header(receipt).expect("a JWS header");
    assert_eq!(header.alg, Algorithm::EdDSA);
    let kid = header.kid.expect("a kid");
    let key = DecodingKey::from_jwk(set.find(&kid).expect("the kid is published")).unwrap();
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    decode::<Value>(receipt, &key, &validation)
        .expect("the receipt verifies")
        .claims
}

async fn a_png_gets_a_receipt_that_verifies_offline(t: Ctx) {
    let broker = broker(&t).await;
    let alice = broker.token("alice");
    for method in ["PUT", "POST"] {
        let grant = broker
            .upload_grant(&alice, png_intent("photos", method))
            .await;
        match method {
            "PUT" => grant.put(PNG).await.assert_ok("PUT the PNG"),
            _ => grant
                .post(&FilePart::new("portrait.png", PNG))
                .await
                .assert_ok("POST the PNG"),
        };
        let upload = grant.str("upload").to_owned();
        let reply = verify(&broker, &alice, &upload).await;
        reply.assert_status(200, &format!("{method}: verify a faithful PNG"));
        let answer = reply.json();
        let claims = check_offline(&broker, answer["receipt"].as_str().unwrap()).await;
        assert_eq!(claims["sub"], "alice");
        assert_eq!(claims["profile"], "photos");
        assert_eq!(claims["object"], answer["object"], "{method}");
        assert_eq!(claims["object"]["key"], grant.key());
        assert_eq!(claims["object"]["bucket"], t.bucket.as_str());
        assert_eq!(claims["object"]["size"], PNG.len());
        assert_eq!(claims["object"]["content_type"], "image/png");
        assert!(!claims["object"]["etag"].as_str().unwrap().is_empty());
        assert!(!claims["object"]["etag"].as_str().unwrap().contains('"'));
        // Idempotent: again, an equivalent receipt of the same grant and object.
        let again = verify(&broker, &alice, &upload).await;
        again.assert_status(200, "verify again");
        let claims_again = check_offline(&broker, again.json()["receipt"].as_str().unwrap()).await;
        assert_eq!(claims_again["jti"], claims["jti"]);
        assert_eq!(claims_again["object"], claims["object"]);
        assert_eq!(t.stored(grant.key()).await.bytes, PNG, "the object stays");
    }
}

async fn html_declared_as_png_is_refused_and_deleted(t: Ctx) {
    let broker = broker(&t).await;
    let alice = broker.token("alice");
    assert_eq!(
        HTML_AS_PNG.len(),
        PNG.len(),
        "same size, so S3 accepts the PUT"
    );
    let grant = broker
        .upload_grant(&alice, png_intent("photos", "PUT"))
        .await;
    grant
        .put(HTML_AS_PNG)
        .await
        .assert_ok("S3 takes any bytes of the signed size");
    let reply = verify(&broker, &alice, grant.str("upload")).await;
    let problem = reply.problem(422, "upload_mismatch", "HTML declared as a PNG");
    assert_eq!(problem["action"], "deleted");
    let checks: Vec<&str> = problem["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["check"].as_str().unwrap())
        .collect();
    assert_eq!(checks, ["signature", "extension"], "{problem}");
    assert!(t.object(grant.key()).await.is_none(), "the object is gone");
    verify(&broker, &alice, grant.str("upload")).await.problem(
        404,
        "upload_not_found",
        "verify after the deletion",
    );
}

async fn an_object_replaced_out_of_band_is_refused(t: Ctx) {
    let broker = broker(&t).await;
    let alice = broker.token("alice");
    let grant = broker
        .upload_grant(&alice, png_intent("photos", "PUT"))
        .await;
    grant.put(PNG).await.assert_ok("PUT the PNG");
    verify(&broker, &alice, grant.str("upload"))
        .await
        .assert_status(200, "the original verifies");
    // Someone with bucket access writes other bytes at the key.
    t.put(grant.key(), b"<html>not a picture</html>").await;
    let reply = verify(&broker, &alice, grant.str("upload")).await;
    let problem = reply.problem(422, "upload_mismatch", "the replaced object");
    let checks: Vec<&str> = problem["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["check"].as_str().unwrap())
        .collect();
    assert!(
        checks.contains(&"size") && checks.contains(&"signature"),
        "{problem}"
    );
    assert!(t.object(grant.key()).await.is_none(), "the object is gone");
}

async fn quarantine_keeps_and_tags_the_object(t: Ctx) {
    let broker = broker(&t).await;
    let alice = broker.token("alice");
    let grant = broker.upload_grant(&alice, png_intent("held", "PUT")).await;
    grant
        .put(HTML_AS_PNG)
        .await
        .assert_ok("PUT HTML declared as PNG");
    let reply = verify(&broker, &alice, grant.str("upload")).await;
    if t.bed.server == Server::S3sFs {
        // s3s-fs has no object tagging (501): no receipt, and the object is kept, not
        // deleted, until the store can tag it.
        reply.problem(503, "s3_unavailable", "s3s-fs cannot tag");
        assert_eq!(t.stored(grant.key()).await.bytes, HTML_AS_PNG, "kept");
        return;
    }
    let problem = reply.problem(422, "upload_mismatch", "quarantined mismatch");
    assert_eq!(problem["action"], "quarantined");
    assert_eq!(t.stored(grant.key()).await.bytes, HTML_AS_PNG, "kept");
    let tags = t
        .bed
        .s3
        .get_object_tagging()
        .bucket(t.bucket.as_str())
        .key(grant.key())
        .send()
        .await
        .expect("GetObjectTagging");
    let tags: Vec<(&str, &str)> = tags
        .tag_set()
        .iter()
        .map(|t| (t.key(), t.value()))
        .collect();
    assert_eq!(tags, [("s3-broker-verification", "mismatch")]);
}

async fn content_checks_can_be_turned_off(t: Ctx) {
    let broker = broker(&t).await;
    let alice = broker.token("alice");
    let grant = broker
        .upload_grant(&alice, png_intent("loose", "PUT"))
        .await;
    grant
        .put(HTML_AS_PNG)
        .await
        .assert_ok("PUT HTML declared as PNG");
    let reply = verify(&broker, &alice, grant.str("upload")).await;
    reply.assert_status(200, "without content checks, size and type match");
    assert_eq!(reply.json()["object"]["size"], PNG.len());
}

async fn nothing_uploaded_is_upload_not_found(t: Ctx) {
    let broker = broker(&t).await;
    let alice = broker.token("alice");
    let grant = broker
        .upload_grant(&alice, png_intent("photos", "PUT"))
        .await;
    verify(&broker, &alice, grant.str("upload")).await.problem(
        404,
        "upload_not_found",
        "nothing uploaded yet",
    );
}

async fn another_principals_token_is_refused(t: Ctx) {
    let broker = broker(&t).await;
    let alice = broker.token("alice");
    let grant = broker
        .upload_grant(&alice, png_intent("photos", "PUT"))
        .await;
    grant
        .put(HTML_AS_PNG)
        .await
        .assert_ok("PUT HTML declared as PNG");
    verify(&broker, &broker.token("bob"), grant.str("upload"))
        .await
        .problem(403, "not_owner", "Bob presents Alice's token");
    // Bob's attempt changed nothing: a mismatch would have deleted the object.
    assert_eq!(t.stored(grant.key()).await.bytes, HTML_AS_PNG);
}
