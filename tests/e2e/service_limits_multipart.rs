//! Limits that need S3: open multipart uploads counted per principal (`concurrent_multipart`)
//! in the shared store, released by abort; and multipart tickets sealed before a revocation of
//! their principal refused (401 `revoked`, nothing reaches S3), with the store and with the
//! file, while another principal's upload goes on.

use crate::support::Ctx;
use crate::support::broker::{Broker, ISSUER, Options};
use crate::support::multipart::MIB;
use crate::support::redis::{Redis, limiter};
use s3_broker::config::ConfigBuilder;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

on_both_servers!(
    open_multipart_uploads_are_bounded_and_released,
    uppy_uploads_give_their_place_back_on_abort,
    uppy_6_creates_count_as_open_uploads,
    uppy_6_signs_are_one_script_call_each,
    creates_are_one_script_call_each,
    a_create_refused_for_open_uploads_debits_nothing,
    an_oversized_uppy_upload_gives_its_place_back,
    tickets_sealed_before_a_revocation_in_the_store_are_refused,
    tickets_sealed_before_a_revocation_in_the_file_are_refused,
);

async fn broker(t: &Ctx, adjust: impl FnOnce(ConfigBuilder) -> ConfigBuilder + 'static) -> Broker {
    let options = Options {
        adjust: Some(Box::new(adjust)),
        ..Options::default()
    };
    Broker::start_with(t.bed, t.bucket.as_str(), options).await
}

fn create_body() -> serde_json::Value {
    json!({
        "filename": "big.bin",
        "content_type": "application/octet-stream",
        "size": 6 * MIB,
        "part_size": 5 * MIB,
    })
}

async fn open_multipart_uploads_are_bounded_and_released(t: Ctx) {
    let redis = Redis::start();
    let url = redis.url.clone();
    let broker = broker(&t, move |c| {
        c.set("limits", "store", url.as_str())
            .set("limits.quotas", "concurrent_multipart", 2)
    })
    .await;
    let (alice, bob) = (broker.token("alice"), broker.token("bob"));
    let first = broker.create_upload(&alice, "a.bin", 6 * MIB).await;
    broker.create_upload(&alice, "b.bin", 6 * MIB).await;
    let refused = broker.multipart_create(&alice, create_body()).await;
    let problem = refused.problem(429, "quota_exceeded", "a third open upload of 2");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("concurrent_multipart"),
        "{problem}"
    );
    assert!(refused.header("retry-after").is_some());
    broker.create_upload(&bob, "c.bin", 6 * MIB).await;
    broker
        .multipart_abort(&alice, &first.ticket)
        .await
        .assert_status(204, "abort releases the place");
    broker.create_upload(&alice, "d.bin", 6 * MIB).await;
    broker
        .multipart_create(&alice, create_body())
        .await
        .problem(429, "quota_exceeded", "full again");
}

/// Alice and bob each create an upload; `revoke_alice` runs; alice (with a token issued after
/// the revocation) can no longer use her ticket, bob still can.
async fn tickets_before_a_revocation_are_refused(
    broker: &Broker,
    revoke_alice: impl AsyncFnOnce(),
    wait: Duration,
) {
    let (alice, bob) = (broker.token("alice"), broker.token("bob"));
    let hers = broker.create_upload(&alice, "a.bin", 6 * MIB).await;
    let his = broker.create_upload(&bob, "b.bin", 6 * MIB).await;
    revoke_alice().await;
    tokio::time::sleep(wait + Duration::from_millis(1100)).await;
    // Issued now, after the revocation.
    let fresh = broker.token("alice");
    broker
        .upload(
            &fresh,
            json!({ "filename": "a.txt", "content_type": "text/plain", "size": 1 }),
        )
        .await
        .assert_status(200, "a token issued after the revocation");
    let sign = json!({ "upload": hers.ticket, "part_numbers": [1] });
    broker
        .multipart_sign(&fresh, sign)
        .await
        .unauthorized("revoked", "her earlier ticket");
    broker
        .multipart_list(&fresh, &hers.ticket)
        .await
        .unauthorized("revoked", "listing with her earlier ticket");
    broker
        .multipart_abort(&fresh, &hers.ticket)
        .await
        .unauthorized("revoked", "aborting with her earlier ticket");
    broker
        .multipart_list(&bob, &his.ticket)
        .await
        .assert_status(200, "bob's ticket");
    broker
        .multipart_abort(&bob, &his.ticket)
        .await
        .assert_status(204, "bob's abort");
}

/// Now, rounded up to the next second as `s3-broker revoke` does.
fn revocation_time() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(chrono::Utc::now().timestamp() + 1, 0).unwrap()
}

async fn tickets_sealed_before_a_revocation_in_the_store_are_refused(t: Ctx) {
    let redis = Redis::start();
    let url = redis.url.clone();
    let store = url.clone();
    let broker = broker(&t, move |c| c.set("limits", "store", store.as_str())).await;
    let revoke = async || {
        let limiter = limiter(&format!("store = \"{url}\""));
        let alice = s3_broker::domain::NamespaceSegment::for_subject(Some(ISSUER), "alice");
        limiter
            .revoke(Some(&alice), revocation_time())
            .await
            .unwrap();
    };
    tickets_before_a_revocation_are_refused(&broker, revoke, Duration::ZERO).await;
}

async fn tickets_sealed_before_a_revocation_in_the_file_are_refused(t: Ctx) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("revoked.json");
    let path = file.to_string_lossy().into_owned();
    let broker = broker(&t, move |c| {
        c.set("revocation", "file", path.as_str())
            .set("revocation", "poll_secs", 1)
    })
    .await;
    let revoke = async || {
        s3_broker::revocation::write_file(&file, &["alice".into()], false, revocation_time())
            .unwrap();
    };
    tickets_before_a_revocation_are_refused(&broker, revoke, Duration::from_millis(1500)).await;
}

async fn uppy_uploads_give_their_place_back_on_abort(t: Ctx) {
    let broker = broker(&t, |c| c.set("limits.quotas", "concurrent_multipart", 1)).await;
    let alice = broker.token("alice");
    let create = || {
        broker
            .call("POST", "/s3/multipart")
            .bearer(&alice)
            .json(&json!({ "filename": "big.bin", "type": "application/octet-stream" }))
            .send()
    };
    let first = create().await;
    first.assert_status(200, "the first Uppy upload");
    let first = first.json();
    // In Companion's error shape, with the same status, code and Retry-After.
    let refused = create().await;
    refused.assert_status(429, "a second open Uppy upload of 1");
    assert_eq!(refused.json()["code"], "quota_exceeded");
    assert!(refused.header("retry-after").is_some());
    let key = first["key"].as_str().unwrap();
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("key", key)
        .finish();
    let path = format!(
        "/s3/multipart/{}?{query}",
        first["uploadId"].as_str().unwrap()
    );
    broker
        .call("DELETE", &path)
        .bearer(&alice)
        .send()
        .await
        .assert_status(200, "Uppy aborts");
    create()
        .await
        .assert_status(200, "the place came back with the abort");
}

/// Uppy 6 creates its multipart upload through `/s3/sign` (the broker makes the S3 call): that
/// path counts against `concurrent_multipart` like `POST /s3/multipart`.
async fn uppy_6_creates_count_as_open_uploads(t: Ctx) {
    let broker = broker(&t, |c| c.set("limits.quotas", "concurrent_multipart", 1)).await;
    let (alice, bob) = (broker.token("alice"), broker.token("bob"));
    let create = |token: &str| {
        broker
            .call("POST", "/s3/sign")
            .bearer(token)
            .json(&json!({ "method": "POST", "key": "big.bin", "contentType": "application/octet-stream" }))
            .send()
    };
    create(&alice)
        .await
        .assert_status(200, "the first Uppy 6 create");
    let refused = create(&alice).await;
    refused.assert_status(429, "a second open Uppy 6 upload of 1");
    assert_eq!(refused.json()["code"], "quota_exceeded");
    assert!(refused.header("retry-after").is_some());
    create(&bob)
        .await
        .assert_status(200, "another caller is unaffected");
}

/// Each `/s3/sign` call is one round trip to the store: a CreateMultipartUpload's `uppy` rate
/// is checked by its grant's script, with the quota; a call that grants nothing (a part, an
/// abort) checks the rate alone. Nothing else is sent to the store.
async fn uppy_6_signs_are_one_script_call_each(t: Ctx) {
    let redis = Redis::start();
    let url = redis.url.clone();
    let broker = broker(&t, move |c| {
        let mut daily = toml::Table::new();
        daily.insert("requests".into(), 1000.into());
        daily.insert("window_secs".into(), 86_400.into());
        c.set("limits", "store", url.as_str())
            .set("limits.rates", "uppy", toml::Value::Table(daily))
            .set("limits.quotas", "grants_per_day", 1000)
    })
    .await;
    let alice = broker.token("alice");
    let sign = async |body: serde_json::Value, remaining: u32| {
        let reply = broker
            .call("POST", "/s3/sign")
            .bearer(&alice)
            .json(&body)
            .send()
            .await;
        reply.assert_status(200, &format!("sign {body}"));
        let state = reply.header("ratelimit").unwrap_or_default();
        assert!(
            state.starts_with(&format!("\"uppy\";r={remaining};t=")),
            "{body}: {state}"
        );
        reply.json()
    };
    let create =
        json!({ "method": "POST", "key": "big.bin", "contentType": "application/octet-stream" });
    let part = |created: &serde_json::Value| json!({ "method": "PUT", "key": created["key"], "uploadId": created["upload"], "partNumber": 1 });
    // The first call of each script may load it (EVALSHA, NOSCRIPT, SCRIPT LOAD, EVALSHA):
    // the grant's, then the check of a call that grants nothing.
    let first = sign(create.clone(), 999).await;
    sign(part(&first), 998).await;
    let before = redis.command_calls().await;
    let created = sign(create, 997).await;
    assert!(created["upload"].is_string(), "{created}");
    sign(part(&created), 996).await;
    let abort = json!({ "method": "DELETE", "key": created["key"], "uploadId": created["upload"] });
    sign(abort, 995).await;
    let after = redis.command_calls().await;
    assert_eq!(
        after.scripts_since(&before),
        3,
        "one script per call: {after:?}"
    );
    // The create's script reads the revocation times and its counter (one `MGET`), checks the
    // rate (`GET`, `TIME`, `SET`) and debits the counter; each other call's reads both
    // revocation times and checks the rate (`GET` three times, `TIME`, `SET`).
    after.assert_calls_since(
        &before,
        &[
            ("evalsha", 3),
            ("mget", 1),
            ("get", 7),
            ("time", 3),
            ("set", 3),
            ("incrby", 1),
        ],
    );
}

/// An Uppy upload whose parts exceed its profile at completion is aborted by the broker: its
/// place among the open uploads comes back with that abort, as with the caller's own.
async fn an_oversized_uppy_upload_gives_its_place_back(t: Ctx) {
    let options = Options {
        extra_profiles: vec![(
            "small",
            "key_template = \"small/{principal}/{uuid}-{filename}\"\n\
             content_types = [\"application/octet-stream\"]\nmax_size = 100\nmultipart = true\n",
        )],
        adjust: Some(Box::new(|c| {
            c.set("limits.quotas", "concurrent_multipart", 1)
        })),
        ..Options::default()
    };
    let broker = Broker::start_with(t.bed, t.bucket.as_str(), options).await;
    let alice = broker.token("alice");
    let body =
        json!({ "filename": "o.bin", "type": "application/octet-stream", "profile": "small" });
    let created = broker
        .call("POST", "/s3/multipart")
        .bearer(&alice)
        .json(&body)
        .send()
        .await;
    created.assert_status(200, "the first Uppy upload");
    let created = created.json();
    let id: String =
        url::form_urlencoded::byte_serialize(created["uploadId"].as_str().unwrap().as_bytes())
            .collect();
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("key", created["key"].as_str().unwrap())
        .finish();
    let part = broker
        .call("GET", &format!("/s3/multipart/{id}/1?{query}"))
        .bearer(&alice)
        .send()
        .await;
    part.assert_status(200, "a part URL");
    let part_url = part.json()["url"].as_str().unwrap().to_owned();
    let uploaded = crate::support::http::send_raw("PUT", &part_url, &[], Some(vec![7; 1000])).await;
    uploaded.assert_ok("1000 bytes, over the profile's 100");
    let etag = uploaded.headers["etag"].to_str().unwrap().to_owned();
    let refused = broker
        .call("POST", &format!("/s3/multipart/{id}/complete?{query}"))
        .bearer(&alice)
        .json(&json!({ "parts": [{ "PartNumber": 1, "ETag": etag }] }))
        .send()
        .await;
    refused.assert_status(400, "over max_size");
    assert_eq!(refused.json()["code"], "size_out_of_range");
    broker
        .call("POST", "/s3/multipart")
        .bearer(&alice)
        .json(&body)
        .send()
        .await
        .assert_status(200, "the place came back with the broker's abort");
}

/// The daily quota counters of `subject` in the store: each counter's key → what it holds.
async fn counters_of(redis: &Redis, subject: &str) -> BTreeMap<String, u64> {
    let segment = s3_broker::domain::NamespaceSegment::for_subject(Some(ISSUER), subject);
    let mut con = redis.connection().await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*:quota:*")
        .query_async(&mut con)
        .await
        .unwrap();
    let mut counters = BTreeMap::new();
    for key in keys
        .into_iter()
        .filter(|k| k.ends_with(&format!(":{segment}")))
    {
        let used: u64 = redis::cmd("GET")
            .arg(&key)
            .query_async(&mut con)
            .await
            .unwrap();
        counters.insert(key, used);
    }
    counters
}

/// A broker on a fresh `redis-server` with both daily quotas and one open upload per caller
/// (its grant script loaded already), and the three create routes: each with its own caller
/// (so each starts with no open upload), its body, and what it debits (one grant; the bytes
/// declared, where a size is: Uppy declares none).
async fn counted_creates(
    t: &Ctx,
) -> (
    Redis,
    Broker,
    [(&'static str, &'static str, serde_json::Value, Vec<u64>); 3],
) {
    let redis = Redis::start();
    let url = redis.url.clone();
    let broker = broker(t, move |c| {
        c.set("limits", "store", url.as_str())
            .set("limits.quotas", "bytes_per_day", 1_000_000_000)
            .set("limits.quotas", "grants_per_day", 1000)
            .set("limits.quotas", "concurrent_multipart", 1)
    })
    .await;
    // The first call may load the script (EVALSHA, NOSCRIPT, SCRIPT LOAD, EVALSHA).
    broker
        .create_upload(&broker.token("dave"), "d.bin", 6 * MIB)
        .await;
    let uppy = json!({ "filename": "big.bin", "type": "application/octet-stream" });
    let uppy_6 =
        json!({ "method": "POST", "key": "big.bin", "contentType": "application/octet-stream" });
    let routes = [
        (
            "alice",
            "/v1/multipart",
            create_body(),
            vec![1, 6 * MIB as u64],
        ),
        ("bob", "/s3/multipart", uppy, vec![1]),
        ("carol", "/s3/sign", uppy_6, vec![1]),
    ];
    (redis, broker, routes)
}

/// The counters of `subject`'s quotas, their values sorted.
async fn sorted_counters(redis: &Redis, subject: &str) -> Vec<u64> {
    let mut held: Vec<u64> = counters_of(redis, subject).await.into_values().collect();
    held.sort_unstable();
    held
}

/// With `concurrent_multipart`, a create is one script call to the store on each create
/// route (the grant's checks and quotas and the open upload together), and so is a create
/// refused because too many uploads are open.
async fn creates_are_one_script_call_each(t: Ctx) {
    let (redis, broker, routes) = counted_creates(&t).await;
    for (subject, path, body, debits) in routes {
        let token = broker.token(subject);
        let create = || broker.call("POST", path).bearer(&token).json(&body).send();
        for (status, what) in [(200, "a create"), (429, "a create refused")] {
            let before = redis.command_calls().await;
            create()
                .await
                .assert_status(status, &format!("{what} of {subject} on {path}"));
            let after = redis.command_calls().await;
            assert_eq!(
                after.scripts_since(&before),
                1,
                "one script for {what} on {path}: {after:?}"
            );
            // The set of open uploads is pruned and read; a create admitted then debits each
            // counter (new: given its expiry) and enters its upload; one refused writes
            // nothing but reads the set's oldest upload (for `Retry-After`).
            let (admitted, counters) = (u64::from(status == 200), debits.len() as u64);
            after.assert_calls_since(
                &before,
                &[
                    ("evalsha", 1),
                    ("mget", 1),
                    ("zremrangebyscore", 1),
                    ("zscore", 1),
                    ("zcard", 1),
                    ("zrange", 1),
                    ("incrby", admitted * counters),
                    ("expire", admitted * counters),
                    ("zadd", admitted),
                    ("expireat", admitted),
                ],
            );
            assert_eq!(sorted_counters(&redis, subject).await, debits, "{path}");
        }
    }
}

/// A create refused because too many uploads are open (429 `quota_exceeded` with
/// `Retry-After`, as before) debits neither daily quota, on each create route.
async fn a_create_refused_for_open_uploads_debits_nothing(t: Ctx) {
    let (redis, broker, routes) = counted_creates(&t).await;
    for (subject, path, body, debits) in routes {
        let token = broker.token(subject);
        let create = || broker.call("POST", path).bearer(&token).json(&body).send();
        create()
            .await
            .assert_status(200, &format!("{subject}'s create on {path}"));
        for _ in 0..3 {
            let refused = create().await;
            refused.assert_status(429, &format!("a second open upload of 1 on {path}"));
            assert_eq!(refused.json()["code"], "quota_exceeded", "{path}");
            assert!(refused.header("retry-after").is_some(), "{path}");
        }
        assert_eq!(
            sorted_counters(&redis, subject).await,
            debits,
            "the creates refused on {path} debited nothing"
        );
    }
}
