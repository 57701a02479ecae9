//! `POST /v1/uploads/verify` before S3: every grant carries an `upload` token; a tampered,
//! foreign or scope-less request is refused without an S3 call (the store here is a closed
//! port, so a call would answer 503), and a genuine one does reach S3. The receipt keys are
//! published at `/.well-known/jwks.json`. Matches and mismatches need real bytes: they are
//! in the end-to-end suite (`service_verify`).

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
        // A multipart ticket is no upload token, and garbage is not either.
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
