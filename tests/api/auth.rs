//! Authentication attacks through the application: each forged, stale or misplaced credential
//! gets 401 with a `WWW-Authenticate: Bearer` challenge and a problem+json `code`, and no grant.
//! Every test first sends the honest credential of the same kind, built the same way, and
//! gets a grant: a refusal then proves the rule and not a broken token builder.

use crate::support::{
    API_KEY, API_KEY_PRINCIPAL, AUDIENCE, Broker, HS_SECRET, ISSUER, REVOKED_API_KEY,
    RSA_PUBLIC_PEM, claims, sign_hs256, sign_rs256,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

fn upload_request() -> Value {
    json!({ "filename": "a.txt", "content_type": "text/plain", "size": 1 })
}

fn hs256() -> Value {
    json!({ "alg": "HS256", "typ": "JWT" })
}

/// An HS256 token of `claims` with the broker's secret.
fn good_hs256(claims: &Value) -> String {
    sign_hs256(&hs256(), claims, HS_SECRET.as_bytes())
}

/// Asserts `token` gets an upload grant.
async fn accepted(broker: &Broker, token: &str, what: &str) {
    let grant = broker
        .upload(token, upload_request())
        .await
        .grant(&format!("honest: {what}"));
    assert!(grant.key().starts_with("users/"), "{}", grant.json);
}

/// Asserts `token` gets 401 `invalid_token` on each endpoint.
async fn refused(broker: &Broker, token: &str, what: &str) {
    broker
        .upload(token, upload_request())
        .await
        .unauthorized("invalid_token", &format!("upload with {what}"));
    broker
        .download(token, "users/alice/f/a.txt")
        .await
        .unauthorized("invalid_token", &format!("download with {what}"));
    broker
        .list(token)
        .await
        .unauthorized("invalid_token", &format!("listing with {what}"));
}

/// `claims` with `name` set to `value` (or removed when `value` is null).
fn with(mut claims: Value, name: &str, value: Value) -> Value {
    let map = claims.as_object_mut().expect("claims are an object");
    if value.is_null() {
        map.remove(name);
    } else {
        map.insert(name.to_owned(), value);
    }
    claims
}

#[actix_web::test]
async fn no_credentials() {
    let broker = &Broker::start().await;
    accepted(broker, &broker.token("alice"), "a dev token").await;
    for (method, path) in [
        ("POST", "/v1/uploads"),
        ("POST", "/v1/downloads"),
        ("GET", "/v1/objects"),
    ] {
        let mut call = broker.call(method, path);
        if method == "POST" {
            call = call.json(&upload_request());
        }
        let reply = call.send().await;
        reply.unauthorized(
            "missing_credentials",
            &format!("{method} {path} without credentials"),
        );
        assert_eq!(
            reply.header("www-authenticate"),
            Some("Bearer realm=\"s3-broker\""),
            "no error code when no credential was sent (RFC 6750 §3.1)"
        );
    }
    for empty in ["", "Bearer", "Bearer "] {
        broker
            .call("POST", "/v1/uploads")
            .header("authorization", empty)
            .json(&upload_request())
            .send()
            .await
            .unauthorized("missing_credentials", &format!("Authorization: {empty:?}"));
    }
}

#[actix_web::test]
async fn malformed_tokens() {
    let broker = &Broker::start().await;
    accepted(
        broker,
        &good_hs256(&claims("alice")),
        "a hand-built HS256 token",
    )
    .await;
    let good = good_hs256(&claims("alice"));
    let (header, rest) = good.split_once('.').unwrap();
    let (payload, signature) = rest.split_once('.').unwrap();
    let b64 = |text: &str| URL_SAFE_NO_PAD.encode(text);
    let cases = [
        "not-a-jwt".to_owned(),
        "a.b".to_owned(),
        format!("{good}.extra"),
        format!("{header}.{payload}"),
        format!("{header}.{payload}."),
        format!(".{payload}.{signature}"),
        format!("{header}..{signature}"),
        format!("{}.{payload}.{signature}", b64("not json")),
        format!("{}.{payload}.{signature}", b64("[\"HS256\"]")),
        format!("{header}.{}.{signature}", b64("not json")),
        format!("{header}.{payload}.{signature}="),
        format!("{header}={payload}.{signature}"),
        good.replace('.', "%2E"),
        "x".repeat(20_000),
    ];
    for token in cases {
        let what = format!("malformed token {:?}", &token[..token.len().min(60)]);
        refused(broker, &token, &what).await;
    }
}

#[actix_web::test]
async fn alg_none() {
    let broker = &Broker::start().await;
    let claims = claims("alice");
    accepted(broker, &good_hs256(&claims), "HS256").await;
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let good = good_hs256(&claims);
    let signature = good.rsplit_once('.').unwrap().1;
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = URL_SAFE_NO_PAD.encode(json!({ "alg": alg, "typ": "JWT" }).to_string());
        refused(
            broker,
            &format!("{header}.{payload}."),
            &format!("alg {alg:?}"),
        )
        .await;
        refused(
            broker,
            &format!("{header}.{payload}.{signature}"),
            &format!("alg {alg:?} with a valid HS256 signature"),
        )
        .await;
    }
    let no_alg = sign_hs256(&json!({ "typ": "JWT" }), &claims, HS_SECRET.as_bytes());
    refused(broker, &no_alg, "no alg").await;
    for alg in ["HS384", "HS512", "ES256", "PS256", "EdDSA"] {
        let token = sign_hs256(&json!({ "alg": alg }), &claims, HS_SECRET.as_bytes());
        refused(broker, &token, &format!("unpinned alg {alg}")).await;
    }
}

#[actix_web::test]
async fn hs256_with_another_secret() {
    let broker = &Broker::start().await;
    let claims = claims("alice");
    accepted(broker, &good_hs256(&claims), "the broker's secret").await;
    for secret in [
        "another-secret-0123456789abcdef-0123456789".to_owned(),
        format!("{HS_SECRET} "),
        HS_SECRET[..HS_SECRET.len() - 1].to_owned(),
        String::new(),
    ] {
        let token = sign_hs256(&hs256(), &claims, secret.as_bytes());
        refused(broker, &token, &format!("HS256 under secret {secret:?}")).await;
    }
    // A valid signature over other claims.
    let good = good_hs256(&claims);
    let signature = good.rsplit_once('.').unwrap().1;
    let other = good_hs256(&with(claims.clone(), "sub", json!("bob")));
    let (head, _) = other.rsplit_once('.').unwrap();
    refused(
        broker,
        &format!("{head}.{signature}"),
        "alice's signature on bob's claims",
    )
    .await;
}

#[actix_web::test]
async fn hs256_signed_with_the_rsa_public_key() {
    let broker = &Broker::start().await;
    let claims = claims("alice");
    accepted(
        broker,
        &sign_rs256(&claims, Some("rsa-1")),
        "RS256 with the trusted key",
    )
    .await;
    accepted(broker, &sign_rs256(&claims, None), "RS256 without kid").await;
    let pem = RSA_PUBLIC_PEM.as_bytes();
    let trimmed = RSA_PUBLIC_PEM.trim().as_bytes();
    for header in [
        json!({ "alg": "HS256", "kid": "rsa-1" }),
        json!({ "alg": "HS256" }),
    ] {
        for key in [pem, trimmed] {
            let token = sign_hs256(&header, &claims, key);
            refused(
                broker,
                &token,
                &format!("{header} signed with the RSA public key"),
            )
            .await;
        }
    }
}

/// `claims` signed RS256 by a key the broker does not know (the rsa2 fixture).
fn sign_rs256_untrusted(claims: &Value, kid: Option<&str>) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = kid.map(str::to_owned);
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(
        include_str!("../fixtures/auth/rsa2.key.pem").as_bytes(),
    )
    .expect("the rsa2 fixture");
    jsonwebtoken::encode(&header, claims, &key).expect("an RS256 token")
}

#[actix_web::test]
async fn unknown_kid() {
    let broker = &Broker::start().await;
    let claims = claims("alice");
    accepted(broker, &sign_rs256(&claims, Some("rsa-1")), "the known kid").await;
    // The configured RS256 key has a kid, so no other kid selects it, even when the token
    // is signed by it.
    refused(
        broker,
        &sign_rs256(&claims, Some("rsa-2")),
        "RS256 with an unknown kid",
    )
    .await;
    refused(
        broker,
        &sign_rs256(&claims, Some("../rsa-1")),
        "RS256 with a path as kid",
    )
    .await;
    for kid in [Some("rsa-2"), Some("rsa-1"), None] {
        refused(
            broker,
            &sign_rs256_untrusted(&claims, kid),
            &format!("RS256 by an unknown key, kid {kid:?}"),
        )
        .await;
    }
    // The HS256 secret has no kid: a token naming an unknown kid is only tried against
    // kid-less keys, so its signature must still come from the configured secret.
    let header = json!({ "alg": "HS256", "kid": "attacker-key" });
    refused(
        broker,
        &sign_hs256(&header, &claims, b"attacker-secret-0123456789abcdef"),
        "HS256 by an unknown secret naming its own kid",
    )
    .await;
}

#[actix_web::test]
async fn expired_tokens() {
    let broker = &Broker::start().await;
    let now = chrono::Utc::now().timestamp();
    let claims = claims("alice");
    // Within the 30 s leeway: still accepted.
    accepted(
        broker,
        &good_hs256(&with(claims.clone(), "exp", json!(now - 10))),
        "exp 10 s ago",
    )
    .await;
    for (exp, what) in [
        (json!(now - 120), "exp 2 minutes ago"),
        (json!(now - 86_400), "exp a day ago"),
        (json!(0), "exp 1970"),
        (json!(-1), "exp negative"),
        (Value::Null, "no exp"),
    ] {
        refused(broker, &good_hs256(&with(claims.clone(), "exp", exp)), what).await;
    }
    let rs = sign_rs256(
        &with(claims.clone(), "exp", json!(now - 120)),
        Some("rsa-1"),
    );
    refused(broker, &rs, "RS256 expired 2 minutes ago").await;
}

#[actix_web::test]
async fn exp_of_the_wrong_type() {
    let broker = &Broker::start().await;
    let later = chrono::Utc::now().timestamp() + 600;
    let claims = claims("alice");
    accepted(
        broker,
        &good_hs256(&with(claims.clone(), "exp", json!(later))),
        "numeric exp",
    )
    .await;
    for exp in [
        json!(later.to_string()),
        json!([later]),
        json!({ "at": later }),
        json!(true),
        json!(format!("{later}.5")),
    ] {
        let token = good_hs256(&with(claims.clone(), "exp", exp.clone()));
        refused(broker, &token, &format!("exp {exp}")).await;
    }
}

#[actix_web::test]
async fn wrong_or_missing_audience_and_issuer() {
    let broker = &Broker::start().await;
    let claims = claims("alice");
    accepted(
        broker,
        &good_hs256(&with(
            claims.clone(),
            "aud",
            json!(["other-service", AUDIENCE]),
        )),
        "aud as a list naming the broker",
    )
    .await;
    for (name, value) in [
        ("aud", json!("other-service")),
        ("aud", json!(["other-service"])),
        ("aud", json!([])),
        ("aud", json!(format!("{AUDIENCE} "))),
        ("aud", json!(AUDIENCE.to_uppercase())),
        ("aud", Value::Null),
        ("iss", json!("https://evil.example/")),
        ("iss", json!(ISSUER.trim_end_matches('/'))),
        ("iss", json!("")),
        ("iss", Value::Null),
        ("sub", Value::Null),
        ("sub", json!("")),
    ] {
        let token = good_hs256(&with(claims.clone(), name, value.clone()));
        refused(broker, &token, &format!("{name} = {value}")).await;
    }
}

#[actix_web::test]
async fn audience_and_issuer_of_the_wrong_type() {
    let broker = &Broker::start().await;
    let claims = claims("alice");
    accepted(broker, &good_hs256(&claims), "aud and iss as strings").await;
    for (name, value) in [
        ("aud", json!(42)),
        ("aud", json!({ "aud": AUDIENCE })),
        ("aud", json!([AUDIENCE, 7])),
        ("aud", json!(true)),
        ("iss", json!([ISSUER])),
        ("iss", json!({ "iss": ISSUER })),
        ("iss", json!(1)),
        ("sub", json!(["alice"])),
        ("sub", json!(7)),
    ] {
        let token = good_hs256(&with(claims.clone(), name, value.clone()));
        refused(broker, &token, &format!("{name} = {value}")).await;
    }
}

#[actix_web::test]
async fn nbf_in_the_future() {
    let broker = &Broker::start().await;
    let now = chrono::Utc::now().timestamp();
    let claims = claims("alice");
    accepted(
        broker,
        &good_hs256(&with(claims.clone(), "nbf", json!(now + 10))),
        "nbf in 10 s (leeway)",
    )
    .await;
    for nbf in [
        json!(now + 300),
        json!(now + 86_400),
        json!((now + 300).to_string()),
    ] {
        let token = good_hs256(&with(claims.clone(), "nbf", nbf.clone()));
        refused(broker, &token, &format!("nbf {nbf}")).await;
    }
}

/// A TCP listener on 127.0.0.1 that counts connections; the URL of a JWKS on it.
async fn counting_listener() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a listener");
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&count);
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(socket);
        }
    });
    (url, count)
}

#[actix_web::test]
async fn key_headers_are_never_fetched() {
    let broker = &Broker::start().await;
    let claims = claims("alice");
    let (url, connections) = counting_listener().await;
    accepted(broker, &good_hs256(&claims), "HS256 without key headers").await;
    let jwk =
        json!({ "kty": "oct", "k": URL_SAFE_NO_PAD.encode("attacker-secret-0123456789abcdef") });
    for (name, value) in [
        ("jku", json!(url)),
        ("x5u", json!(url)),
        ("jwk", jwk.clone()),
        ("x5c", json!(["MIIB"])),
    ] {
        let mut header = hs256();
        header[name] = value;
        for secret in [HS_SECRET, "attacker-secret-0123456789abcdef"] {
            let token = sign_hs256(&header, &claims, secret.as_bytes());
            refused(
                broker,
                &token,
                &format!("a `{name}` header, signed with {secret:?}"),
            )
            .await;
        }
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        connections.load(Ordering::SeqCst),
        0,
        "the broker fetched a key from a URL named in a token header"
    );
}

#[actix_web::test]
async fn api_keys() {
    let broker = &Broker::start().await;
    let grant = broker
        .call("POST", "/v1/uploads")
        .api_key(API_KEY)
        .json(&upload_request())
        .send()
        .await
        .grant("upload with the configured API key");
    // API-key principals live under `k-<name>`, apart from any token subject of that name.
    assert!(
        grant
            .key()
            .starts_with(&format!("users/k-{API_KEY_PRINCIPAL}/")),
        "{}",
        grant.json
    );
    for (key, what) in [
        (
            "e2e-api-key-unknown-0000000000000000000000000000",
            "an unknown API key",
        ),
        (REVOKED_API_KEY, "a revoked API key"),
        (&API_KEY[..API_KEY.len() - 1], "a truncated API key"),
        (&API_KEY.to_uppercase(), "an API key in another case"),
    ] {
        broker
            .call("POST", "/v1/uploads")
            .api_key(key)
            .json(&upload_request())
            .send()
            .await
            .unauthorized("invalid_api_key", what);
        broker
            .call("GET", "/v1/objects")
            .api_key(key)
            .send()
            .await
            .unauthorized("invalid_api_key", &format!("listing with {what}"));
    }
    let long = "k".repeat(10_000);
    broker
        .call("POST", "/v1/uploads")
        .api_key(&long)
        .json(&upload_request())
        .send()
        .await
        .unauthorized("invalid_api_key", "a 10 000-byte API key");
    // A token and a key at once is ambiguous: refused, whichever is valid
    // (`ambiguous_credentials.rs` tries every route and every kind of ambiguity).
    broker
        .call("POST", "/v1/uploads")
        .bearer(&broker.token("alice"))
        .api_key(API_KEY)
        .json(&upload_request())
        .send()
        .await
        .problem(
            400,
            "ambiguous_credentials",
            "a token and an API key together",
        );
}

#[actix_web::test]
async fn credentials_in_the_url_are_refused() {
    let broker = &Broker::start().await;
    let token = broker.token("alice");
    broker
        .call("POST", "/v1/uploads")
        .api_key(API_KEY)
        .json(&upload_request())
        .send()
        .await
        .grant("the API key in its header");
    accepted(broker, &token, "the token in its header").await;
    let in_query = [
        format!("api_key={API_KEY}"),
        format!("apikey={API_KEY}"),
        format!("x-api-key={API_KEY}"),
        format!("API_KEY={API_KEY}"),
        format!("api%5Fkey={API_KEY}"),
        format!("access_token={token}"),
        format!("ACCESS_TOKEN={token}"),
    ];
    for query in &in_query {
        let short = &query[..query.len().min(24)];
        broker
            .call("POST", &format!("/v1/uploads?{query}"))
            .json(&upload_request())
            .send()
            .await
            .unauthorized("credentials_in_url", &format!("upload with ?{short}..."));
        broker
            .call("GET", &format!("/v1/objects?{query}"))
            .send()
            .await
            .unauthorized("credentials_in_url", &format!("listing with ?{short}..."));
        // Even next to a valid header: a credential in a URL leaks into logs and history.
        broker
            .call("POST", &format!("/v1/uploads?{query}"))
            .bearer(&token)
            .json(&upload_request())
            .send()
            .await
            .unauthorized(
                "credentials_in_url",
                &format!("upload with a header and ?{short}..."),
            );
    }
}

#[actix_web::test]
async fn other_authorization_schemes() {
    let broker = &Broker::start().await;
    let token = broker.token("alice");
    for scheme in ["Bearer", "bearer", "BEARER"] {
        broker
            .call("POST", "/v1/uploads")
            .header("authorization", &format!("{scheme} {token}"))
            .json(&upload_request())
            .send()
            .await
            .grant(&format!("scheme {scheme:?}"));
    }
    for value in [
        format!("Basic {}", URL_SAFE_NO_PAD.encode("alice:password")),
        format!("Token {token}"),
        format!("JWT {token}"),
        token.clone(),
    ] {
        broker
            .call("POST", "/v1/uploads")
            .header("authorization", &value)
            .json(&upload_request())
            .send()
            .await
            .unauthorized(
                "unsupported_credentials",
                &format!("Authorization: {}...", &value[..value.len().min(12)]),
            );
    }
}
