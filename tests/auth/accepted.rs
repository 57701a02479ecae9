//! Accepted tokens and keys: every key kind, scopes, leeway, dev tokens and API keys.

use super::support::*;

#[tokio::test]
async fn hs256_token_is_accepted_with_its_scopes() {
    let auth = authenticator(&static_config());
    let now = Utc::now();
    let principal = accepted(&auth, &hs256(&claims(now)), now).await;
    assert_eq!(&*principal.subject, "alice");
    assert_eq!(
        principal.issuer.as_deref(),
        Some(ISSUER),
        "the issuer is the token's `iss`"
    );
    assert_eq!(principal.segment.as_str(), "alice");
    assert!(principal.may(Scope::Upload) && principal.may(Scope::Download));
    assert!(!principal.may(Scope::List) && !principal.may(Scope::Delete));
}

#[tokio::test]
async fn rs256_token_verifies_with_a_pem_key_with_or_without_kid() {
    let auth = authenticator(&static_config());
    let now = Utc::now();
    accepted(&auth, &rs256(Some("rsa-1"), &claims(now)), now).await;
    accepted(&auth, &rs256(None, &claims(now)), now).await;
}

#[tokio::test]
async fn eddsa_token_verifies_with_a_pem_key() {
    let auth = authenticator(&static_config());
    let now = Utc::now();
    let key = EncodingKey::from_ed_pem(ED1_KEY.as_bytes()).expect("ed1 key");
    let token = sign(&header(Algorithm::EdDSA, None), &claims(now), &key);
    accepted(&auth, &token, now).await;
}

#[tokio::test]
async fn ps256_token_verifies_with_an_rsa_pem_key() {
    let config = format!(
        "issuer = \"{ISSUER}\"\naudience = \"{AUDIENCE}\"\nalgorithms = [\"PS256\"]\n\
         [[public_keys]]\nalg = \"PS256\"\npem = \"\"\"{RSA1_PUB}\"\"\"\n"
    );
    let auth = authenticator(&config);
    let now = Utc::now();
    let key = EncodingKey::from_rsa_pem(RSA1_KEY.as_bytes()).expect("rsa1 key");
    accepted(
        &auth,
        &sign(&header(Algorithm::PS256, None), &claims(now), &key),
        now,
    )
    .await;
    let rs = rs256(None, &claims(now));
    assert_eq!(
        refused(&auth, &rs, now).await,
        TokenRejection::AlgorithmNotAllowed
    );
}

#[tokio::test]
async fn es256_token_verifies_with_a_jwks_key() {
    let server = TestServer::start(jwk_set(&[jwk(
        EC1_JWK,
        "ec-1",
        json!({"use": "sig", "alg": "ES256"}),
    )]))
    .await;
    let auth = authenticator(&jwks_config(&server.url));
    let now = Utc::now();
    accepted(&auth, &es256(EC1_KEY, "ec-1", &claims(now)), now).await;
    accepted(&auth, &es256(EC1_KEY, "ec-1", &claims(now)), now).await;
    assert_eq!(fetches(&auth), 1, "the JWKS is cached");
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn scopes_come_from_the_configured_claim_as_string_or_array() {
    let config = static_config().replace(
        "algorithms = [",
        "scope_claim = \"permissions\"\nalgorithms = [",
    );
    let auth = authenticator(&config);
    let now = Utc::now();
    let array = with(
        claims(now),
        "permissions",
        json!(["list", "delete", "admin"]),
    );
    let p = accepted(&auth, &hs256(&array), now).await;
    assert_eq!(
        p.scopes.names(),
        ["list", "delete"],
        "unknown names are ignored"
    );
    let string = with(claims(now), "permissions", json!("download"));
    let p = accepted(&auth, &hs256(&string), now).await;
    assert_eq!(p.scopes.names(), ["download"]);
    let none = without(claims(now), "permissions");
    let p = accepted(&auth, &hs256(&none), now).await;
    assert_eq!(
        p.scopes,
        Scopes::NONE,
        "`scope` is not read when another claim is configured"
    );
    let wrong_type = with(claims(now), "permissions", json!(7));
    assert_eq!(
        refused(&auth, &hs256(&wrong_type), now).await,
        TokenRejection::InvalidClaim("scope")
    );
}

#[tokio::test]
async fn leeway_accepts_small_clock_skew() {
    let auth = authenticator(&static_config());
    let now = Utc::now();
    let t = now.timestamp();
    let just_expired = with(claims(now), "exp", json!(t - 20));
    accepted(&auth, &hs256(&just_expired), now).await;
    let almost_valid = with(claims(now), "nbf", json!(t + 20));
    accepted(&auth, &hs256(&almost_valid), now).await;
}

#[tokio::test]
async fn dev_tokens_verify() {
    let auth = authenticator(&static_config());
    let now = Utc::now();
    let scopes = Scopes::NONE.with(Scope::Upload).with(Scope::List);
    let token = auth
        .mint_dev_token("dev-user", scopes, Duration::from_secs(3600), now)
        .expect("minted");
    let p = accepted(&auth, &token, now).await;
    assert_eq!((&*p.subject, p.scopes), ("dev-user", scopes));
    let token = mint_dev_token(
        SECRET.as_bytes(),
        ISSUER,
        AUDIENCE,
        "bob",
        Scopes::all(),
        Duration::from_secs(60),
        now,
    )
    .expect("minted");
    assert_eq!(accepted(&auth, &token, now).await.scopes, Scopes::all());
    let later = now + secs(60 + 30);
    assert_eq!(refused(&auth, &token, later).await, TokenRejection::Expired);
}

#[tokio::test]
async fn api_keys_authenticate_from_the_header_only() {
    let auth = authenticator(&static_config());
    let p = auth
        .authenticate_api_key("good-api-key")
        .expect("known key");
    assert_eq!(&*p.subject, "backup-job");
    assert_eq!(p.issuer, None);
    assert!(p.may(Scope::Upload) && p.may(Scope::List) && !p.may(Scope::Download));
    let credential =
        PresentedCredential::from_headers(None, Some(&b"good-api-key"[..])).expect("a credential");
    let p = auth
        .authenticate(credential, Utc::now())
        .await
        .expect("known key");
    assert_eq!(&*p.subject, "backup-job");
    assert!(query_has_credentials("prefix=&api_key=good-api-key"));
    assert!(query_has_credentials("access_token=x.y.z"));
}
