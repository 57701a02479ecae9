//! `POST /v1/uploads/verify` before S3: every grant carries an `upload` token; a tampered,
//! foreign or scope-less request is refused without an S3 call (the store here is a closed
//! port, so a call would answer 503), and a genuine one does reach S3. The receipt keys are
//! published at `/.well-known/jwks.json`. The multipart tokens verify also takes (tickets,
//! Uppy's sealed upload ids) are checked the same way, against the S3 stub. Matches and
//! mismatches need real bytes: they are in the end-to-end suite (`service_verify`,
//! `service_verify_multipart`).

use crate::support::Broker;
use s3_broker::domain::Scope;
use serde_json::{Value, json};

fn png_intent(method: &str) -> Value {
    json!({"filename": "a.png", "content_type": "image/png", "size": 1020, "method": method,
           "profile": "avatars"})
}

async fn verify(broker: &Broker, token: &str, upload: &str) -> crate::support::ApiReply {
    broker
        .call("POST", "/v1/uploads/verify")
        .bearer(token)
        .json(&json!({ "upload": upload }))
        .send()
        .await
}

#[actix_web::test]
async fn grants_carry_a_token_that_only_their_principal_can_verify() {
    let broker = &Broker::start().await;
    let alice = broker.token("alice");
    for method in ["PUT", "POST"] {
        let reply = broker.upload(&alice, png_intent(method)).await;
        reply.assert_status(200, method);
        let grant = reply.json();
        let upload = grant["upload"]
            .as_str()
            .expect("an upload token")
            .to_owned();
        assert!(upload.starts_with("v1."), "{method}: {upload}");
        // Bob presents Alice's token: refused before S3.
        verify(broker, &broker.token("bob"), &upload).await.problem(
            403,
            "not_owner",
            "another principal's token",
        );
        // Alice without the upload scope.
        verify(
            broker,
            &broker.token_with("alice", &[Scope::Download]),
            &upload,
        )
        .await
        .problem(403, "insufficient_scope", "no upload scope");
        // One altered character.
        let mut altered = upload.clone().into_bytes();
        let at = altered.len() - 3;
        altered[at] = if altered[at] == b'A' { b'B' } else { b'A' };
        verify(broker, &alice, &String::from_utf8(altered).unwrap())
            .await
            .problem(403, "invalid_ticket", "an altered token");
        // Garbage is no token.
        verify(broker, &alice, "v1.api.e30.AAAA").await.problem(
            403,
            "invalid_ticket",
            "a forged token",
        );
        // The genuine token reaches S3, which is a closed port here.
        verify(broker, &alice, &upload).await.problem(
            503,
            "s3_unavailable",
            "the genuine token calls S3",
        );
    }
}

#[actix_web::test]
async fn verify_refuses_bad_bodies_and_other_methods() {
    let broker = &Broker::start().await;
    let alice = broker.token("alice");
    broker
        .call("POST", "/v1/uploads/verify")
        .bearer(&alice)
        .json(&json!({"upload": "x", "extra": 1}))
        .send()
        .await
        .problem(400, "unknown_field", "an extra field");
    broker
        .call("POST", "/v1/uploads/verify")
        .bearer(&alice)
        .json(&json!({}))
        .send()
        .await
        .problem(400, "invalid_field", "no upload");
    broker
        .call("GET", "/v1/uploads/verify")
        .bearer(&alice)
        .send()
        .await
        .problem(405, "method_not_allowed", "GET");
    broker
        .call("POST", "/v1/uploads/verify")
        .json(&json!({"upload": "x"}))
        .send()
        .await
        .unauthorized("missing_credentials", "no credentials");
}

#[actix_web::test]
async fn receipt_keys_are_published() {
    let broker = &Broker::start().await;
    let reply = broker.call("GET", "/.well-known/jwks.json").send().await;
    reply.assert_status(200, "jwks");
    let jwks = reply.json();
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "OKP");
    assert_eq!(key["crv"], "Ed25519");
    assert_eq!(key["alg"], "EdDSA");
    assert!(key["kid"].as_str().unwrap().starts_with("ephemeral-"));
    assert_eq!(key["x"].as_str().unwrap().len(), 43);
    assert!(key.get("d").is_none(), "never the private key");
}

/// The multipart tokens verify takes (a native ticket, an Uppy sealed upload id) are refused
/// like upload tokens, before any S3 read: another principal's, one without the upload scope,
/// an altered one. The owner's reaches S3 (HeadObject): nothing completed yet, 404.
#[actix_web::test]
async fn multipart_tokens_are_checked_before_s3() {
    use crate::s3_stub::{OnComplete, S3Stub};
    let stub = S3Stub::start(OnComplete::Answer, &[(1, 100)]);
    let broker = &Broker::against_s3(&stub.endpoint, 3).await;
    let alice = broker.token("alice");
    let native = broker
        .call("POST", "/v1/multipart")
        .bearer(&alice)
        .json(&json!({"filename": "a.png", "content_type": "image/png", "size": 100}))
        .send()
        .await;
    native.assert_status(200, "create a native upload");
    let uppy = broker
        .call("POST", "/s3/multipart")
        .bearer(&alice)
        .json(&json!({"filename": "b.png", "type": "image/png"}))
        .send()
        .await;
    uppy.assert_status(200, "create an Uppy upload");
    for (what, token) in [
        (
            "ticket",
            native.json()["upload"].as_str().unwrap().to_owned(),
        ),
        (
            "uppy id",
            uppy.json()["uploadId"].as_str().unwrap().to_owned(),
        ),
    ] {
        let reads = stub.reads().len();
        verify(broker, &broker.token("bob"), &token)
            .await
            .problem(403, "not_owner", what);
        let download_only = broker.token_with("alice", &[Scope::Download]);
        verify(broker, &download_only, &token)
            .await
            .problem(403, "insufficient_scope", what);
        let mut altered = token.clone().into_bytes();
        let at = altered.len() - 3;
        altered[at] = if altered[at] == b'A' { b'B' } else { b'A' };
        verify(broker, &alice, &String::from_utf8(altered).unwrap())
            .await
            .problem(403, "invalid_ticket", what);
        assert_eq!(stub.reads().len(), reads, "{what}: no S3 read yet");
        verify(broker, &alice, &token)
            .await
            .problem(404, "upload_not_found", what);
        assert_eq!(stub.reads().last(), Some(&"HeadObject"), "{what}");
    }
}
