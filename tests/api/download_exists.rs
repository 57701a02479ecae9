//! `POST /v1/downloads` asks S3 whether the object exists before signing, against the S3 stub:
//! a missing key is 404 `object_not_found`, an existing one gets its grant; when S3 hides a
//! missing key behind 403 (AWS, for a role that may not list the whole bucket), one listing of
//! the key decides; an unreachable S3 is 503, never a grant. The same check against real S3
//! servers is in `tests/e2e/service_flows.rs`.

use crate::s3_stub::{OnComplete, S3Stub};
use crate::support::Broker;

/// The bucket of the test configuration.
const BUCKET: &str = "api-tests";

#[actix_web::test]
async fn a_missing_object_is_404_and_an_existing_one_gets_its_grant() {
    let stub = S3Stub::start(OnComplete::Answer, &[]);
    let broker = Broker::against_s3(&stub.endpoint, 3).await;
    let alice = broker.token("alice");
    let missing = "users/alice/0b6f8e2a-1c3d-4e5f-8a9b-0c1d2e3f4a5b-gone.txt";
    broker.download(&alice, missing).await.problem(
        404,
        "object_not_found",
        "a download of a missing key",
    );
    assert_eq!(stub.reads(), ["HeadObject"], "one HEAD, no listing");

    let present = "users/alice/0b6f8e2a-1c3d-4e5f-8a9b-0c1d2e3f4a5b-here é.txt";
    stub.put_object(BUCKET, present, 5);
    let grant = broker
        .download(&alice, present)
        .await
        .grant("a download of an existing key");
    assert_eq!(grant.key(), present);
    assert_eq!(stub.reads(), ["HeadObject", "HeadObject"]);
}

#[actix_web::test]
async fn a_head_refused_with_403_is_decided_by_a_listing_of_the_key() {
    let stub = S3Stub::start(OnComplete::Answer, &[]);
    stub.hide_missing_objects();
    let broker = Broker::against_s3(&stub.endpoint, 3).await;
    let alice = broker.token("alice");
    // A longer key under the missing one must not count as the missing one.
    let missing = "users/alice/docs/a.txt";
    stub.put_object(BUCKET, "users/alice/docs/a.txt.bak", 3);
    broker.download(&alice, missing).await.problem(
        404,
        "object_not_found",
        "a missing key S3 hides behind 403",
    );
    assert_eq!(stub.reads(), ["HeadObject", "ListObjectsV2"]);

    stub.put_object(BUCKET, missing, 3);
    broker
        .download(&alice, missing)
        .await
        .grant("an existing key");
}

/// An inline profile reads the stored type with the same HeadObject that answers existence:
/// when S3 refuses it, the listing decides, and the HEAD is not asked a second time.
#[actix_web::test]
async fn an_inline_download_asks_s3_once_and_lists_only_after_a_refusal() {
    let stub = S3Stub::start(OnComplete::Answer, &[]);
    stub.hide_missing_objects();
    let broker = Broker::against_s3(&stub.endpoint, 3).await;
    let alice = broker.token("alice");
    let avatar = serde_json::json!({ "key": "avatars/alice/avatar", "profile": "avatars" });
    let ask = || {
        broker
            .call("POST", "/v1/downloads")
            .bearer(&alice)
            .json(&avatar)
            .send()
    };
    ask().await.problem(
        404,
        "object_not_found",
        "a missing avatar S3 hides behind 403",
    );
    assert_eq!(stub.reads(), ["HeadObject", "ListObjectsV2"]);
    stub.put_object(BUCKET, "avatars/alice/avatar", 3);
    ask().await.grant("an existing avatar");
    assert_eq!(
        stub.reads(),
        ["HeadObject", "ListObjectsV2", "HeadObject"],
        "a HEAD that answers settles type and existence at once"
    );
}

#[actix_web::test]
async fn an_unreachable_s3_is_503_not_a_grant() {
    // A port nobody listens on: every connection is refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = closed.local_addr().expect("an address").port();
    drop(closed);
    let broker = Broker::against_s3(&format!("http://127.0.0.1:{port}"), 2).await;
    let alice = broker.token("alice");
    let reply = broker.download(&alice, "users/alice/a.txt").await;
    reply.problem(503, "s3_unavailable", "a download while S3 is down");
    assert!(reply.header("retry-after").is_some(), "{reply:?}");
}
