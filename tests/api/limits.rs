//! `[limits]` and `[revocation]` on the memory store, in-process: rates per principal and route
//! class with their 429 and `RateLimit` headers, failed authentications per client address,
//! quotas, per-profile overrides and the revocation file. The shared store (Redis) and the
//! failure modes are in the end-to-end suite (`tests/e2e/limits/`).

use crate::support::{
    API_KEY, AUDIENCE, Broker, HS_SECRET, ISSUER, REVOKED_API_KEY, claims, sign_hs256,
};
use s3_broker::config::ConfigBuilder;
use serde_json::{Value, json};
use std::time::Duration;

fn rate(requests: i64, window_secs: i64) -> toml::Value {
    let mut table = toml::Table::new();
    table.insert("requests".into(), requests.into());
    table.insert("window_secs".into(), window_secs.into());
    toml::Value::Table(table)
}

fn upload(size: u64) -> Value {
    json!({ "filename": "a.txt", "content_type": "text/plain", "size": size })
}

async fn broker(adjust: impl FnOnce(ConfigBuilder) -> ConfigBuilder) -> Broker {
    Broker::start_with(adjust, false).await
}

#[actix_web::test]
async fn a_caller_over_its_rate_gets_429_with_retry_after_and_ratelimit_headers() {
    let broker = broker(|c| c.set("limits.rates", "grants", rate(3, 60))).await;
    let (alice, bob) = (broker.token("alice"), broker.token("bob"));
    for remaining in [2, 1, 0] {
        let reply = broker.upload(&alice, upload(1)).await;
        reply.assert_status(200, "alice within her rate");
        assert_eq!(
            reply.header("ratelimit-policy"),
            Some("\"grants\";q=3;w=60")
        );
        let state = reply.header("ratelimit").unwrap_or_default().to_owned();
        assert!(
            state.starts_with(&format!("\"grants\";r={remaining};t=")),
            "{state}"
        );
    }
    let refused = broker.upload(&alice, upload(1)).await;
    refused.problem(429, "rate_limited", "alice's fourth grant in a minute");
    let retry: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=20).contains(&retry), "Retry-After {retry}");
    assert_eq!(
        refused.header("ratelimit-policy"),
        Some("\"grants\";q=3;w=60")
    );
    let state = refused.header("ratelimit").unwrap();
    assert!(state.starts_with("\"grants\";r=0;t="), "{state}");
    // Downloads are grants too; another caller is unaffected.
    broker.download(&alice, "users/alice/x.txt").await.problem(
        429,
        "rate_limited",
        "alice's download",
    );
    broker
        .upload(&bob, upload(1))
        .await
        .assert_status(200, "bob has a budget of his own");
    let metrics = broker.call("GET", "/metrics").send().await;
    let metrics = String::from_utf8_lossy(&metrics.body);
    assert!(
        metrics.contains("s3_broker_rate_limited_total{class=\"grants\"} 2"),
        "{metrics}"
    );
    assert!(!metrics.contains("alice"), "no metric names a caller");
}

#[actix_web::test]
async fn classes_have_budgets_of_their_own_and_unlimited_ones_send_no_headers() {
    let broker = broker(|c| c.set("limits.rates", "multipart", rate(1, 60))).await;
    let alice = broker.token("alice");
    for _ in 0..5 {
        let reply = broker.upload(&alice, upload(1)).await;
        reply.assert_status(200, "grants have no rate");
        assert_eq!(reply.header("ratelimit"), None);
    }
    let create = |body: Value| {
        broker
            .call("POST", "/v1/multipart/parts")
            .bearer(&alice)
            .json(&body)
    };
    // The first call of the class is admitted (and refused for its bad ticket), the second is
    // over the rate before its body is read.
    create(json!({ "upload": "x", "part_numbers": [1] }))
        .send()
        .await
        .problem(403, "invalid_ticket", "a made-up ticket");
    create(json!({ "upload": "x", "part_numbers": [1] }))
        .send()
        .await
        .problem(429, "rate_limited", "the second multipart call");
}

#[actix_web::test]
async fn a_profile_sets_its_own_grant_rate() {
    let broker = broker(|c| c.set("limits.profiles.brief", "grants", rate(1, 60))).await;
    let alice = broker.token("alice");
    let brief =
        json!({ "filename": "a.txt", "content_type": "text/plain", "size": 1, "profile": "brief" });
    broker
        .upload(&alice, brief.clone())
        .await
        .assert_status(200, "first brief grant");
    broker
        .upload(&alice, brief)
        .await
        .problem(429, "rate_limited", "second brief grant");
    broker
        .upload(&alice, upload(1))
        .await
        .assert_status(200, "the default profile has no such rate");
}

#[actix_web::test]
async fn failed_authentications_are_limited_per_client_address() {
    let broker = broker(|c| {
        c.set("limits.rates", "auth_failures", rate(2, 60)).set(
            "limits",
            "client_ip_header",
            "X-Forwarded-For",
        )
    })
    .await;
    let guess = |ip: &'static str, token: String| {
        broker
            .call("POST", "/v1/uploads")
            .bearer(&token)
            .header("x-forwarded-for", &format!("198.51.100.1, {ip}"))
            .json(&upload(1))
    };
    for _ in 0..3 {
        guess("203.0.113.9", "not-a-token".into())
            .send()
            .await
            .unauthorized("invalid_token", "a guess");
    }
    // The budget is spent: even a valid token from that address waits, unverified.
    let blocked = guess("203.0.113.9", broker.token("alice")).send().await;
    blocked.problem(429, "rate_limited", "a blocked address");
    assert!(blocked.header("retry-after").is_some());
    assert!(
        blocked
            .header("ratelimit-policy")
            .is_some_and(|p| p.starts_with("\"auth_failures\";q=2;w=60"))
    );
    // The proxy's own address (first in the list) is not the client's: another client is
    // served.
    guess("203.0.113.10", broker.token("alice"))
        .send()
        .await
        .assert_status(200, "another client address");
    // Refused API keys (checked without waiting, then counted) spend the budget alike, one
    // failure per request: the third is still answered 401, the fourth request is blocked.
    let key_guess = |key: &'static str| {
        broker
            .call("POST", "/v1/uploads")
            .api_key(key)
            .header("x-forwarded-for", "203.0.113.11")
            .json(&upload(1))
    };
    for key in [REVOKED_API_KEY, "api-unknown-key", REVOKED_API_KEY] {
        key_guess(key)
            .send()
            .await
            .unauthorized("invalid_api_key", "a refused API key");
    }
    key_guess(API_KEY).send().await.problem(
        429,
        "rate_limited",
        "an address whose API keys were refused",
    );
}

#[actix_web::test]
async fn quotas_are_enforced_and_reset_with_their_window() {
    let broker = broker(|c| {
        c.set("limits", "quota_window_secs", 2)
            .set("limits.quotas", "bytes_per_day", 100)
            .set("limits.quotas", "grants_per_day", 3)
    })
    .await;
    let (alice, bob) = (broker.token("alice"), broker.token("bob"));
    // Start at the beginning of a window, so the test cannot straddle two.
    let now = chrono::Utc::now();
    let into_window = now.timestamp() % 2;
    let wait = Duration::from_millis(
        (2 - into_window) as u64 * 1000 - u64::from(now.timestamp_subsec_millis()) + 50,
    );
    tokio::time::sleep(wait).await;
    broker
        .upload(&alice, upload(60))
        .await
        .assert_status(200, "60 of 100 bytes");
    let over = broker.upload(&alice, upload(41)).await;
    let problem = over.problem(429, "quota_exceeded", "101 of 100 bytes");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("bytes_per_day")
    );
    assert!(
        over.header("retry-after")
            .is_some_and(|s| s == "1" || s == "2")
    );
    broker
        .upload(&alice, upload(40))
        .await
        .assert_status(200, "100 of 100 bytes");
    // A refused grant is not counted: this download is the third grant.
    broker
        .download(&alice, "users/alice/a.txt")
        .await
        .assert_status(200, "the third grant of 3");
    broker.download(&alice, "users/alice/a.txt").await.problem(
        429,
        "quota_exceeded",
        "a fourth grant of 3",
    );
    broker
        .upload(&bob, upload(100))
        .await
        .assert_status(200, "bob's own quota");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    broker
        .upload(&alice, upload(100))
        .await
        .assert_status(200, "the next window");
}

#[actix_web::test]
async fn the_revocation_file_refuses_a_subjects_earlier_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("revoked.json");
    let broker = broker(|c| {
        c.set("revocation", "file", file.to_string_lossy().as_ref())
            .set("revocation", "poll_secs", 1)
    })
    .await;
    let now = chrono::Utc::now().timestamp();
    let issued = |subject: &str, iat: Option<i64>| {
        let mut claims = claims(subject);
        match iat {
            Some(iat) => claims["iat"] = iat.into(),
            None => {
                claims.as_object_mut().unwrap().remove("iat");
            }
        }
        sign_hs256(
            &json!({ "alg": "HS256", "typ": "JWT" }),
            &claims,
            HS_SECRET.as_bytes(),
        )
    };
    let (old_alice, old_bob) = (
        issued("alice", Some(now - 60)),
        issued("bob", Some(now - 60)),
    );
    let no_iat = issued("alice", None);
    broker
        .upload(&old_alice, upload(1))
        .await
        .assert_status(200, "before the revocation");
    std::fs::write(
        &file,
        json!({ "principals": { "alice": chrono::DateTime::from_timestamp(now - 30, 0) } })
            .to_string(),
    )
    .unwrap();
    // The file is polled every second.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    broker
        .upload(&old_alice, upload(1))
        .await
        .unauthorized("revoked", "alice's token issued before the revocation");
    broker
        .upload(&no_iat, upload(1))
        .await
        .unauthorized("revoked", "alice's token without iat");
    broker
        .upload(&old_bob, upload(1))
        .await
        .assert_status(200, "bob is unaffected");
    broker
        .upload(&issued("alice", Some(now)), upload(1))
        .await
        .assert_status(200, "alice's token issued after the revocation");
    let _ = (ISSUER, AUDIENCE);
}
