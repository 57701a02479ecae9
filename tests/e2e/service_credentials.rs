//! Honest lifetimes against the broker's own credentials: a grant never outlives them minus
//! the 300 s margin, and with credentials that are expired or inside the margin the broker
//! signs nothing, calls S3 for nothing, and answers 503 `credentials_unavailable` with
//! `Retry-After`.

use crate::support::broker::{Broker, Options};
use crate::support::{Ctx, FilePart};
use chrono::{Duration, Utc};
use serde_json::json;

on_both_servers!(
    grants_end_before_the_credentials,
    expired_credentials_sign_nothing
);

fn upload(method: &str) -> serde_json::Value {
    json!({
        "filename": "a.txt",
        "content_type": "text/plain",
        "size": 4,
        "method": method,
        "expires_in": 3600,
    })
}

async fn grants_end_before_the_credentials(t: Ctx) {
    // Credentials (the bed's keys) that expire in 400 s: 100 s are left to sign for.
    let end = Utc::now() + Duration::seconds(400);
    let broker = Broker::start_with(
        t.bed,
        t.bucket.as_str(),
        Options {
            expiring_credentials: Some(end),
            ..Options::default()
        },
    )
    .await;
    let alice = broker.token("alice");
    broker
        .call("GET", "/readyz")
        .send()
        .await
        .assert_status(200, "ready with 100 s of credentials left");
    let put = broker
        .upload(&alice, upload("PUT"))
        .await
        .grant("PUT grant");
    let post = broker
        .upload(&alice, upload("POST"))
        .await
        .grant("POST grant");
    for grant in [&put, &post] {
        assert!(
            grant.expires_at <= end - Duration::seconds(300),
            "expires_at {} is not 300 s before the credentials end at {end}",
            grant.expires_at
        );
        assert!(
            grant.lifetime_secs() >= 90,
            "the grant still gets what is left: {} s",
            grant.lifetime_secs()
        );
    }
    put.put(b"good").await.assert_ok("PUT with a capped grant");
    post.post(&FilePart::new("a.txt", b"good"))
        .await
        .assert_ok("form POST with a capped grant");
    let download = broker.download(&alice, put.key()).await.grant("download");
    assert!(download.expires_at <= end - Duration::seconds(300));
    download.get().await.assert_ok("GET with a capped grant");
    t.assert_keys(&[put.key(), post.key()], "after the uploads")
        .await;
}

async fn expired_credentials_sign_nothing(t: Ctx) {
    // Honest: the same keys with an expiry far away sign grants that S3 accepts.
    let fresh = Broker::start_with(
        t.bed,
        t.bucket.as_str(),
        Options {
            expiring_credentials: Some(Utc::now() + Duration::hours(2)),
            ..Options::default()
        },
    )
    .await;
    let alice = fresh.token("alice");
    let grant = fresh
        .upload(&alice, upload("PUT"))
        .await
        .grant("fresh credentials");
    grant
        .put(b"good")
        .await
        .assert_ok("PUT signed with fresh credentials");

    for (end, what) in [
        (Utc::now() - Duration::hours(1), "expired an hour ago"),
        (Utc::now() - Duration::seconds(1), "expired a second ago"),
        (
            Utc::now() + Duration::seconds(120),
            "expiring within the 300 s margin",
        ),
        (
            Utc::now() + Duration::seconds(299),
            "expiring 1 s inside the margin",
        ),
    ] {
        let broker = Broker::start_with(
            t.bed,
            t.bucket.as_str(),
            Options {
                expiring_credentials: Some(end),
                ..Options::default()
            },
        )
        .await;
        let alice = broker.token("alice");
        let replies = [
            broker.upload(&alice, upload("PUT")).await,
            broker.upload(&alice, upload("POST")).await,
            broker.download(&alice, grant.key()).await,
            // A route that calls S3 itself: no call with such credentials.
            broker.list(&alice, None, None).await,
            broker.call("GET", "/readyz").send().await,
        ];
        for reply in replies {
            let request = reply.request.clone();
            reply.problem(
                503,
                "credentials_unavailable",
                &format!("{request}: {what}"),
            );
            let retry = reply.header("retry-after").unwrap_or_default();
            assert!(
                retry.parse::<u32>().is_ok_and(|s| s > 0),
                "{request}: {what}: Retry-After {retry:?}"
            );
        }
        broker
            .call("GET", "/healthz")
            .send()
            .await
            .assert_status(200, &format!("alive though {what}"));
    }
    t.assert_keys(&[grant.key()], "after the refusals").await;
}
