//! A JWKS server started by the test: rotation, issuer down, unknown-`kid` flood.

use super::support::*;

#[tokio::test]
async fn jwks_rotation_accepts_a_new_kid_after_one_refetch() {
    let server = TestServer::start(jwk_set(&[jwk(EC1_JWK, "ec-1", json!({}))])).await;
    let auth = authenticator(&jwks_config(&server.url));
    let t0 = Utc::now();
    accepted(&auth, &es256(EC1_KEY, "ec-1", &claims(t0)), t0).await;
    assert_eq!(fetches(&auth), 1);

    // The issuer rotates: ec-2 is published next to ec-1.
    server.set(
        200,
        jwk_set(&[
            jwk(EC1_JWK, "ec-1", json!({})),
            jwk(EC2_JWK, "ec-2", json!({})),
        ]),
    );
    let new_token = es256(EC2_KEY, "ec-2", &claims(t0));
    // Within the minimum refetch interval of the last fetch, no refetch happens.
    assert_eq!(
        refused(&auth, &new_token, t0).await,
        TokenRejection::UnknownKey
    );
    assert_eq!(fetches(&auth), 1);
    // Past the interval (1 s, counted from when the fetch really started, a little after t0),
    // one refetch finds the new key.
    let t1 = t0 + secs(2);
    accepted(&auth, &new_token, t1).await;
    assert_eq!(fetches(&auth), 2);
    accepted(&auth, &new_token, t1).await;
    accepted(&auth, &es256(EC1_KEY, "ec-1", &claims(t0)), t1).await;
    assert_eq!(fetches(&auth), 2, "known kids need no fetch");

    // The issuer retires ec-1: after the next fetch its tokens are refused.
    server.set(200, jwk_set(&[jwk(EC2_JWK, "ec-2", json!({}))]));
    let t2 = t1 + secs(2);
    auth.warm_up(t2).await.expect("refresh");
    assert_eq!(
        refused(&auth, &es256(EC1_KEY, "ec-1", &claims(t0)), t2).await,
        TokenRejection::UnknownKey
    );
    accepted(&auth, &new_token, t2).await;
    assert_eq!(fetches(&auth), 3);
    assert_eq!(server.connections(), 3);
}

#[tokio::test]
async fn issuer_down_with_a_warm_cache_keeps_working() {
    let server = TestServer::start(jwk_set(&[jwk(EC1_JWK, "ec-1", json!({}))])).await;
    let auth = authenticator(&jwks_config(&server.url));
    let t0 = Utc::now();
    auth.warm_up(t0).await.expect("warm-up fetch");
    let token = es256(EC1_KEY, "ec-1", &claims(t0));
    accepted(&auth, &token, t0).await;
    server.stop().await;

    // Past the refresh interval: a background refresh is attempted and fails; cached keys serve.
    let stale = t0 + secs(120);
    accepted(&auth, &token, stale).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while auth.jwks_stats().expect("stats").failures == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the background refresh never ran"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    accepted(&auth, &token, stale + secs(5)).await;
    let stats = auth.jwks_stats().expect("stats");
    assert!(stats.failures >= 1 && stats.keys == 1, "{stats:?}");
    assert_eq!(stats.last_success, Some(t0));

    // Unknown keys still fail closed.
    let other = es256(EC2_KEY, "ec-2", &claims(t0));
    assert_eq!(
        refused(&auth, &other, stale + secs(10)).await,
        TokenRejection::UnknownKey
    );
}

#[tokio::test]
async fn no_key_ever_fetched_fails_closed() {
    let auth = authenticator(&jwks_config(&dead_url().await));
    let t0 = Utc::now();
    let token = es256(EC1_KEY, "ec-1", &claims(t0));
    assert_eq!(refused(&auth, &token, t0).await, TokenRejection::NoKey);
    assert_eq!(refused(&auth, &token, t0).await, TokenRejection::NoKey);
    assert_eq!(
        fetches(&auth),
        1,
        "a failed fetch is not retried within the interval"
    );
    assert!(auth.warm_up(t0 + secs(1)).await.is_err());

    for (status, body) in [
        (404, "{}".to_owned()),
        (200, "not json".to_owned()),
        (200, "{\"keys\":7}".to_owned()),
    ] {
        let server = TestServer::start(String::new()).await;
        server.set(status, body);
        let auth = authenticator(&jwks_config(&server.url));
        assert_eq!(
            refused(&auth, &token, t0).await,
            TokenRejection::NoKey,
            "{status}"
        );
    }
}

#[tokio::test]
async fn jwks_keys_for_other_uses_are_not_trusted() {
    let body = jwk_set(&[
        jwk(EC1_JWK, "ec-1", json!({"use": "enc"})),
        jwk(EC2_JWK, "ec-2", json!({"alg": "ES384"})),
    ]);
    let server = TestServer::start(body).await;
    let auth = authenticator(&jwks_config(&server.url));
    let t0 = Utc::now();
    assert_eq!(
        refused(&auth, &es256(EC1_KEY, "ec-1", &claims(t0)), t0).await,
        TokenRejection::UnknownKey
    );
    assert_eq!(
        refused(&auth, &es256(EC2_KEY, "ec-2", &claims(t0)), t0).await,
        TokenRejection::UnknownKey
    );
    assert_eq!(auth.jwks_stats().expect("stats").keys, 0);
}

#[tokio::test]
async fn a_broken_jwks_answer_keeps_the_cached_keys() {
    let server = TestServer::start(jwk_set(&[jwk(EC1_JWK, "ec-1", json!({}))])).await;
    let auth = authenticator(&jwks_config(&server.url));
    let t0 = Utc::now();
    auth.warm_up(t0).await.expect("warm-up fetch");
    server.set(200, "<html>maintenance</html>".to_owned());
    assert!(auth.warm_up(t0 + secs(1)).await.is_err());
    server.set(500, String::new());
    assert!(auth.warm_up(t0 + secs(2)).await.is_err());
    accepted(&auth, &es256(EC1_KEY, "ec-1", &claims(t0)), t0 + secs(2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unknown_kid_flood_causes_bounded_refetches() {
    let server = TestServer::start(jwk_set(&[jwk(EC1_JWK, "ec-1", json!({}))])).await;
    let auth = Arc::new(authenticator(&jwks_config(&server.url)));
    let t0 = Utc::now();

    // A cold cache hit by 50 concurrent tokens with random kids: one fetch.
    let flood = |at: DateTime<Utc>| {
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..50 {
            let auth = auth.clone();
            let token = es256(EC1_KEY, &uuid::Uuid::new_v4().to_string(), &claims(t0));
            tasks.spawn(async move { auth.authenticate_bearer(&token, at).await });
        }
        tasks
    };
    let results = flood(t0).join_all().await;
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Err(AuthError::InvalidToken(TokenRejection::UnknownKey))))
    );
    assert_eq!(fetches(&auth), 1);

    // Later, another flood on a warm cache: at most one refetch.
    let results = flood(t0 + secs(5)).join_all().await;
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Err(AuthError::InvalidToken(TokenRejection::UnknownKey))))
    );
    assert_eq!(fetches(&auth), 2);
    // And sequentially, at the same instant: none.
    for _ in 0..50 {
        let token = es256(EC1_KEY, &uuid::Uuid::new_v4().to_string(), &claims(t0));
        assert_eq!(
            refused(&auth, &token, t0 + secs(5)).await,
            TokenRejection::UnknownKey
        );
    }
    assert_eq!(fetches(&auth), 2);
    assert_eq!(server.connections(), 2);
    // Valid tokens are still served throughout.
    accepted(&auth, &es256(EC1_KEY, "ec-1", &claims(t0)), t0 + secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_unknown_kids_respect_the_minimum_refetch_interval() {
    // A slow issuer (each answer takes 300 ms, well under the 1 s interval) and tokens with
    // unknown kids arriving from many tasks for 3.5 s, each stamped with the time it arrived:
    // the fetches the server sees are at least 1 s apart.
    let server = TestServer::start(jwk_set(&[jwk(EC1_JWK, "ec-1", json!({}))])).await;
    server.set_delay(Duration::from_millis(300));
    let auth = Arc::new(authenticator(&jwks_config(&server.url)));
    let claims_now = claims(Utc::now());
    let started = std::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    while started.elapsed() < Duration::from_millis(3500) {
        for _ in 0..4 {
            let auth = auth.clone();
            let kid = uuid::Uuid::new_v4();
            let token = es256(EC1_KEY, &kid.to_string(), &claims_now);
            // Stamped on arrival, checked a little later (0 to 30 ms), as a handler does.
            let lag = Duration::from_millis(u64::from(kid.as_bytes()[0] % 31));
            tasks.spawn(async move {
                let now = Utc::now();
                tokio::time::sleep(lag).await;
                auth.authenticate_bearer(&token, now).await
            });
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let results = tasks.join_all().await;
    assert!(
        results.iter().all(Result::is_err),
        "unknown kids are refused"
    );
    let arrivals = server.arrivals();
    let gaps: Vec<Duration> = arrivals.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        (2..=5).contains(&arrivals.len()),
        "{} fetches in 3.5 s (gaps {gaps:?})",
        arrivals.len()
    );
    // The interval is measured by the broker's clock when a fetch starts; the server sees the
    // connection a little later, so allow a few milliseconds of scheduling either way.
    for gap in &gaps {
        assert!(
            *gap >= Duration::from_millis(950),
            "fetches {gap:?} apart with a 1 s minimum (gaps {gaps:?})"
        );
    }
    assert_eq!(fetches(&auth), arrivals.len() as u64);
}
