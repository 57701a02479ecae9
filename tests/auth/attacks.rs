//! Token and API-key attacks (forged, confused, expired, oversized...), each answered with an
//! error; `doc/security.md` lists the threats.

use super::support::*;

#[tokio::test]
async fn no_token_is_refused() {
    let auth = authenticator(&static_config());
    let now = Utc::now();
    assert_eq!(
        auth.authenticate_bearer("", now).await,
        Err(AuthError::MissingCredentials)
    );
    let missing = PresentedCredential::from_headers(None, None);
    assert_eq!(missing, Err(AuthError::MissingCredentials));
    assert_eq!(
        PresentedCredential::from_headers(Some(&b"Bearer "[..]), None),
        Err(AuthError::MissingCredentials)
    );
    assert!(
        !Code::from(&AuthError::MissingCredentials)
            .challenge()
            .unwrap()
            .contains("error=")
    );
}

#[tokio::test]
async fn malformed_tokens_are_refused() {
    let auth = authenticator(&static_config());
    let now = Utc::now();
    let good = hs256(&claims(now));
    let parts: Vec<&str> = good.split('.').collect();
    for bad in [
        "not-a-token".to_owned(),
        "a.b.c".to_owned(),
        format!("{}.{}", parts[0], parts[1]),
        format!("{good}.extra"),
        format!("{}.!!!.{}", parts[0], parts[2]),
        format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode("[1,2]"),
            parts[2]
        ),
        format!("{}=.{}.{}", parts[0], parts[1], parts[2]),
        "x".repeat(20_000),
    ] {
        let reason = refused(&auth, &bad, now).await;
        assert!(
            matches!(
                reason,
                TokenRejection::Malformed | TokenRejection::TooLong | TokenRejection::BadSignature
            ),
            "{reason:?}"
        );
    }
}

#[tokio::test]
async fn alg_none_is_refused() {
    let auth = authenticator(&static_config());
    let now = Utc::now();
    for alg in ["none", "None", "NONE", ""] {
        let token = raw_token(&json!({"alg": alg, "typ": "JWT"}), &claims(now), b"");
        assert_eq!(
            refused(&auth, &token, now).await,
            TokenRejection::AlgorithmNotAllowed,
            "{alg}"
        );
    }
    let token = raw_token(&json!({"typ": "JWT"}), &claims(now), b"sig");
    assert_eq!(
        refused(&auth, &token, now).await,
        TokenRejection::AlgorithmNotAllowed
    );
}

#[tokio::test]
async fn hs256_signed_with_the_rsa_public_key_is_refused() {
    let now = Utc::now();
    let confused = sign(
        &header(Algorithm::HS256, Some("rsa-1")),
        &claims(now),
        &EncodingKey::from_secret(RSA1_PUB.as_bytes()),
    );
    // With HS256 pinned too, the public key is still never an HMAC secret.
    let auth = authenticator(&static_config());
    assert_eq!(
        refused(&auth, &confused, now).await,
        TokenRejection::BadSignature
    );
    // With only RS256 pinned, HS256 is not even considered.
    let rsa_only = format!(
        "issuer = \"{ISSUER}\"\naudience = \"{AUDIENCE}\"\nalgorithms = [\"RS256\"]\n\
         [[public_keys]]\nkid = \"rsa-1\"\nalg = \"RS256\"\npem = \"\"\"{RSA1_PUB}\"\"\"\n"
    );
    let auth = authenticator(&rsa_only);
    assert_eq!(
        refused(&auth, &confused, now).await,
        TokenRejection::AlgorithmNotAllowed
    );
    accepted(&auth, &rs256(Some("rsa-1"), &claims(now)), now).await;
}

#[tokio::test]
async fn unknown_kid_is_refused() {
    let auth = authenticator(&static_config());
    let now = Utc::now();
    // rsa-1 is the only keyed RS256 key; the other RS256 keys have no kid either.
    let token = rs256(Some("rsa-9"), &claims(now));
    assert_eq!(
        refused(&auth, &token, now).await,
        TokenRejection::UnknownKey
    );
}

#[tokio::test]
async fn wrong_key_or_tampered_payload_is_refused() {
    let auth = authenticator(&static_config());
    let now = Utc::now();
    let other = EncodingKey::from_rsa_pem(RSA2_KEY.as_bytes()).expect("rsa2 key");
    let forged = sign(
        &header(Algorithm::RS256, Some("rsa-1")),
        &claims(now),
        &other,
    );
    assert_eq!(
        refused(&auth, &forged, now).await,
        TokenRejection::BadSignature
    );

    let good = rs256(Some("rsa-1"), &claims(now));
    let parts: Vec<&str> = good.split('.').collect();
    let bob = URL_SAFE_NO_PAD.encode(with(claims(now), "sub", json!("bob")).to_string());
    let tampered = format!("{}.{bob}.{}", parts[0], parts[2]);
    assert_eq!(
        refused(&auth, &tampered, now).await,
        TokenRejection::BadSignature
    );

    let wrong_secret = sign(
        &header(Algorithm::HS256, None),
        &claims(now),
        &EncodingKey::from_secret(b"another-secret-0123456789abcdef-0123"),
    );
    assert_eq!(
        refused(&auth, &wrong_secret, now).await,
        TokenRejection::BadSignature
    );
}

#[tokio::test]
async fn expired_beyond_leeway_is_refused() {
    let auth = authenticator(&static_config());
    let now = Utc::now();
    let t = now.timestamp();
    for exp in [t - 31, t - 3600] {
        let token = hs256(&with(claims(now), "exp", json!(exp)));
        assert_eq!(refused(&auth, &token, now).await, TokenRejection::Expired);
    }
}

#[tokio::test]
async fn a_reused_hs256_token_is_refused_once_expired_and_when_altered() {
    // HS256 tokens are remembered once verified (`auth.verified_token_cache`): a reused one
    // is still refused past its `exp` and the leeway, and a copy altered in any byte is
    // verified in full.
    let auth = authenticator(&static_config());
    let now = Utc::now();
    let token = hs256(&claims(now));
    accepted(&auth, &token, now).await;
    accepted(&auth, &token, now + chrono::Duration::seconds(1)).await;
    let (message, signature) = token.rsplit_once('.').expect("a compact JWS");
    let flipped = if signature.starts_with('A') { 'B' } else { 'A' };
    let altered = format!("{message}.{flipped}{}", &signature[1..]);
    assert_eq!(
        refused(&auth, &altered, now).await,
        TokenRejection::BadSignature
    );
    let late = now + chrono::Duration::seconds(600 + 31);
    assert_eq!(refused(&auth, &token, late).await, TokenRejection::Expired);
}

#[tokio::test]
async fn exp_as_a_string_is_refused() {
    let auth = authenticator(&static_config());
    let now = Utc::now();
    let exp = (now.timestamp() + 600).to_string();
    let token = hs256(&with(claims(now), "exp", json!(exp)));
    assert_eq!(
        refused(&auth, &token, now).await,
        TokenRejection::InvalidClaim("exp")
    );
    let token = hs256(&with(claims(now), "nbf", json!("0")));
    assert_eq!(
        refused(&auth, &token, now).await,
        TokenRejection::InvalidClaim("nbf")
    );
}

#[tokio::test]
async fn missing_required_claims_are_refused() {
    let auth = authenticator(&static_config());
    let now = Utc::now();
    for name in ["exp", "iss", "aud", "sub"] {
        let token = hs256(&without(claims(now), name));
        assert_eq!(
            refused(&auth, &token, now).await,
            TokenRejection::MissingClaim(name)
        );
    }
}

#[tokio::test]
async fn wrong_issuer_or_audience_is_refused() {
    let auth = authenticator(&static_config());
    let now = Utc::now();
    let cases = [
        (
            "iss",
            json!("https://evil.test/"),
            TokenRejection::WrongIssuer,
        ),
        (
            "iss",
            json!("https://issuer.test"),
            TokenRejection::WrongIssuer,
        ),
        ("aud", json!("someone-else"), TokenRejection::WrongAudience),
        (
            "aud",
            json!(["someone-else"]),
            TokenRejection::WrongAudience,
        ),
        ("aud", json!([]), TokenRejection::WrongAudience),
    ];
    for (name, value, expected) in cases {
        let token = hs256(&with(claims(now), name, value.clone()));
        assert_eq!(
            refused(&auth, &token, now).await,
            expected,
            "{name} = {value}"
        );
    }
    let token = hs256(&with(claims(now), "aud", json!(["x", AUDIENCE])));
    accepted(&auth, &token, now).await;
}

#[tokio::test]
async fn issuer_or_audience_of_the_wrong_json_type_is_refused() {
    let auth = authenticator(&static_config());
    let now = Utc::now();
    for (name, value) in [
        ("iss", json!([ISSUER])),
        ("iss", json!(42)),
        ("iss", json!({"url": ISSUER})),
        ("iss", json!(null)),
        ("aud", json!(42)),
        ("aud", json!({"aud": AUDIENCE})),
        ("aud", json!([AUDIENCE, 42])),
        ("aud", json!(true)),
        ("sub", json!(["alice"])),
        ("sub", json!("")),
    ] {
        let token = hs256(&with(claims(now), name, value.clone()));
        let reason = refused(&auth, &token, now).await;
        assert!(
            matches!(
                reason,
                TokenRejection::InvalidClaim(_)
                    | TokenRejection::MissingClaim(_)
                    | TokenRejection::Malformed
                    | TokenRejection::WrongIssuer
                    | TokenRejection::WrongAudience
            ),
            "{name} = {value}: {reason:?}"
        );
    }
}

#[tokio::test]
async fn nbf_in_the_future_is_refused() {
    let auth = authenticator(&static_config());
    let now = Utc::now();
    let token = hs256(&with(claims(now), "nbf", json!(now.timestamp() + 120)));
    assert_eq!(
        refused(&auth, &token, now).await,
        TokenRejection::NotYetValid
    );
    accepted(&auth, &token, now + secs(120)).await;
}

#[tokio::test]
async fn key_url_headers_are_never_fetched() {
    let attacker = TestServer::start(jwk_set(&[jwk(EC2_JWK, "evil", json!({}))])).await;
    let issuer = TestServer::start(jwk_set(&[jwk(EC1_JWK, "ec-1", json!({}))])).await;
    let now = Utc::now();
    let evil_key = EncodingKey::from_ec_pem(EC2_KEY.as_bytes()).expect("ec2 key");
    let jwks_auth = authenticator(&jwks_config(&issuer.url));
    let static_auth = authenticator(&static_config().replace(
        "algorithms = [\"HS256\", \"RS256\", \"EdDSA\"]",
        &format!(
            "algorithms = [\"HS256\", \"RS256\", \"EdDSA\", \"ES256\"]\n\
             [[public_keys]]\nalg = \"ES256\"\nkid = \"ec-1\"\npem = \"\"\"{EC1_PUB}\"\"\""
        ),
    ));
    for auth in [&jwks_auth, &static_auth] {
        for (kid, name) in [
            ("evil", "jku"),
            ("ec-1", "jku"),
            ("evil", "x5u"),
            ("ec-1", "x5u"),
        ] {
            let mut h = header(Algorithm::ES256, Some(kid));
            if name == "jku" {
                h.jku = Some(attacker.url.clone());
            } else {
                h.x5u = Some(attacker.url.clone());
            }
            let token = sign(&h, &claims(now), &evil_key);
            assert_eq!(
                refused(auth, &token, now).await,
                TokenRejection::UntrustedKeyHeader(name)
            );
        }
        // An embedded key is never trusted either, even when it is the one that signed.
        let mut h = header(Algorithm::ES256, Some("evil"));
        h.jwk = Some(serde_json::from_str(EC2_JWK).expect("fixture JWK"));
        let token = sign(&h, &claims(now), &evil_key);
        assert_eq!(
            refused(auth, &token, now).await,
            TokenRejection::UntrustedKeyHeader("jwk")
        );
    }
    assert_eq!(
        attacker.connections(),
        0,
        "the jku/x5u server was never contacted"
    );
    assert_eq!(issuer.connections(), 0, "refused before any key lookup");
}

#[tokio::test]
async fn unknown_or_revoked_api_keys_are_refused() {
    let auth = authenticator(&static_config());
    for key in [
        "revoked-api-key",
        "unknown-key",
        "good-api-key ",
        "GOOD-API-KEY",
        &sha256_hex("good-api-key"),
    ] {
        assert_eq!(
            auth.authenticate_api_key(key),
            Err(AuthError::InvalidApiKey),
            "{key}"
        );
    }
    let error = AuthError::InvalidApiKey;
    assert!(
        Code::from(&error)
            .challenge()
            .unwrap()
            .contains(r#"error="invalid_token""#)
    );
    assert!(!error.to_string().contains("revoked-api-key"));
}

#[test]
fn bad_configuration_names_the_key() {
    let cases = [
        ("leeway_secs = 61", "auth.leeway_secs: at most 60"),
        (
            "jwks_url = \"http://issuer.test/jwks\"",
            "auth.jwks_url: must be https:// (http:// only to localhost)",
        ),
    ];
    for (line, expected) in cases {
        let text = static_config().replace("algorithms = [", &format!("{line}\nalgorithms = ["));
        let config: AuthConfig = toml::from_str(&text).expect("parses");
        let error = Authenticator::from_config(&config).expect_err("refused");
        assert_eq!(error.to_string(), expected);
    }
    let text = static_config().replace(
        "algorithms = [\"HS256\",",
        "algorithms = [\"none\", \"HS256\",",
    );
    let config: AuthConfig = toml::from_str(&text).expect("parses");
    let error = Authenticator::from_config(&config).expect_err("refused");
    assert!(
        error
            .to_string()
            .starts_with("auth.algorithms[0]: unknown algorithm \"none\"")
    );
}
