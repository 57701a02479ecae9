//! CompleteMultipartUpload against the S3 stub: a Complete that hangs or fails is answered
//! within its budget (503 `s3_unavailable`), one whose answer is lost is reported as the success
//! it was, and a genuine `NoSuchUpload` stays 404 `no_such_upload`. Through
//! `POST /v1/multipart/complete` and Uppy's `POST /s3/multipart/{uploadId}/complete`.

use crate::s3_stub::{OBJECT_ETAG, OnComplete, S3Stub};
use crate::support::{ApiReply, Broker};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// `s3.operation_timeout_secs` of these brokers: room for one retry after an attempt that
/// hangs (half the budget) and the SDK's first backoff (at most 1 s).
const BUDGET: Duration = Duration::from_secs(3);
/// The size of each part the stub holds.
const SIZE: u64 = 100;
/// The bucket of the test configuration.
const BUCKET: &str = "api-tests";

/// A broker against `stub` and a one-part upload of [`SIZE`] bytes created with
/// `POST /v1/multipart`.
struct V1 {
    broker: Broker,
    token: String,
    ticket: Value,
    key: String,
}

impl V1 {
    async fn create(stub: &S3Stub) -> Self {
        let broker = Broker::against_s3(&stub.endpoint, BUDGET.as_secs() as i64).await;
        let token = broker.token("alice");
        let created = broker
            .call("POST", "/v1/multipart")
            .bearer(&token)
            .json(&json!({
                "filename": "movie.bin",
                "content_type": "application/octet-stream",
                "size": SIZE,
                "part_size": 5 * 1024 * 1024,
            }))
            .send()
            .await;
        created.assert_status(200, "create a multipart upload");
        let created = created.json();
        Self {
            key: created["key"].as_str().expect("a key").to_owned(),
            ticket: created["upload"].clone(),
            broker,
            token,
        }
    }

    /// `POST /v1/multipart/complete` with the part the stub holds; the answer and its time.
    async fn complete(&self) -> (ApiReply, Duration) {
        let started = Instant::now();
        let reply = self
            .broker
            .call("POST", "/v1/multipart/complete")
            .bearer(&self.token)
            .json(&json!({
                "upload": self.ticket,
                "parts": [{ "part_number": 1, "etag": S3Stub::part_etag(1) }],
            }))
            .send()
            .await;
        (reply, started.elapsed())
    }
}

/// Asserts a completion's answer carries the receipt of the assembled object (a compact JWS)
/// and the object of `size` bytes it names.
#[track_caller]
fn assert_receipt(body: &Value, size: u64) {
    let receipt = body["receipt"].as_str().unwrap_or_default();
    assert_eq!(receipt.split('.').count(), 3, "a compact JWS: {body}");
    assert_eq!(body["object"]["size"], size, "{body}");
    assert_eq!(body["object"]["content_type"], "application/octet-stream");
}

/// Asserts the answer came within the budget and a second.
#[track_caller]
fn assert_within_budget(took: Duration, what: &str) {
    let bound = BUDGET + Duration::from_secs(1);
    assert!(
        took < bound,
        "{what}: answered after {took:?}, over {bound:?}"
    );
}

#[actix_web::test]
async fn a_complete_answered_is_a_success_at_the_first_attempt() {
    let stub = S3Stub::start(OnComplete::Answer, &[(1, SIZE)]);
    let upload = V1::create(&stub).await;
    let (reply, _) = upload.complete().await;
    reply.assert_status(200, "a Complete S3 answers");
    assert_eq!(reply.json()["etag"], OBJECT_ETAG);
    assert_receipt(&reply.json(), SIZE);
    assert_eq!(stub.completes(), 1);
    assert_eq!(stub.object(BUCKET, &upload.key), Some(SIZE));
}

#[actix_web::test]
async fn a_complete_that_hangs_is_a_503_within_its_budget() {
    let stub = S3Stub::start(OnComplete::Hang, &[(1, SIZE)]);
    let (reply, took) = V1::create(&stub).await.complete().await;
    reply.problem(503, "s3_unavailable", "a hanging Complete");
    assert!(reply.header("retry-after").is_some(), "{reply:?}");
    assert_within_budget(took, "a hanging Complete");
    assert!(
        took >= BUDGET - Duration::from_millis(100),
        "gave up before the budget: {took:?}"
    );
}

#[actix_web::test]
async fn a_complete_answering_500_is_a_503_within_its_budget() {
    let stub = S3Stub::start(OnComplete::ServerError, &[(1, SIZE)]);
    let (reply, took) = V1::create(&stub).await.complete().await;
    reply.problem(503, "s3_unavailable", "a Complete answering 500");
    assert_within_budget(took, "a Complete answering 500");
    assert!(stub.completes() > 1, "the SDK retries a 500");
}

#[actix_web::test]
async fn a_complete_whose_answer_is_lost_is_a_success() {
    let stub = S3Stub::start(OnComplete::CompleteThenDrop, &[(1, SIZE)]);
    let upload = V1::create(&stub).await;
    let (reply, took) = upload.complete().await;
    reply.assert_status(200, "a Complete whose connection dropped after completing");
    let body = reply.json();
    assert_eq!(body["key"], upload.key.as_str(), "{body}");
    assert_eq!(body["bucket"], BUCKET, "{body}");
    assert_eq!(body["size"], SIZE, "{body}");
    assert_eq!(body["etag"], OBJECT_ETAG, "the ETag of HeadObject: {body}");
    assert_receipt(&body, SIZE);
    assert_eq!(stub.completes(), 2, "one retry, which got NoSuchUpload");
    assert_within_budget(took, "a lost answer");
}

/// A finding of the request-path review: Complete timed out after S3 had finished it.
#[actix_web::test]
async fn a_complete_that_times_out_after_completing_is_a_success() {
    let stub = S3Stub::start(OnComplete::CompleteThenHang, &[(1, SIZE)]);
    let upload = V1::create(&stub).await;
    let (reply, took) = upload.complete().await;
    reply.assert_status(200, "a Complete that hung after completing");
    assert_eq!(reply.json()["key"], upload.key.as_str());
    assert_eq!(stub.completes(), 2);
    assert_within_budget(took, "a Complete that hung after completing");
}

#[actix_web::test]
async fn a_first_attempt_no_such_upload_stays_404_even_with_the_object_there() {
    // An object of the right size at the key proves nothing when no attempt was lost.
    let stub = S3Stub::start(OnComplete::NoSuchUpload, &[(1, SIZE)]);
    let upload = V1::create(&stub).await;
    stub.put_object(BUCKET, &upload.key, SIZE);
    let (reply, _) = upload.complete().await;
    reply.problem(404, "no_such_upload", "a first-attempt NoSuchUpload");
    assert_eq!(stub.completes(), 1, "NoSuchUpload is not retried");
}

#[actix_web::test]
async fn a_retried_no_such_upload_without_the_object_stays_404() {
    // The first attempt is lost without completing, the retry finds no upload: no object.
    let stub = S3Stub::start(OnComplete::DropThenNoSuchUpload, &[(1, SIZE)]);
    let (reply, _) = V1::create(&stub).await.complete().await;
    reply.problem(404, "no_such_upload", "a retried NoSuchUpload, no object");
    assert_eq!(stub.completes(), 2);

    // At the key, an object of another size: not this upload.
    let stub = S3Stub::start(OnComplete::DropThenNoSuchUpload, &[(1, SIZE)]);
    let upload = V1::create(&stub).await;
    stub.put_object(BUCKET, &upload.key, SIZE + 1);
    let (reply, _) = upload.complete().await;
    reply.problem(
        404,
        "no_such_upload",
        "a retried NoSuchUpload, another object",
    );
    assert_eq!(stub.completes(), 2);
}

/// Creates an Uppy upload and completes it with parts 1 and 2 (each [`SIZE`] bytes).
async fn uppy_complete(stub: &S3Stub) -> (ApiReply, String) {
    let broker = Broker::against_s3(&stub.endpoint, BUDGET.as_secs() as i64).await;
    let alice = broker.token("alice");
    let created = broker
        .call("POST", "/s3/multipart")
        .bearer(&alice)
        .json(&json!({ "filename": "movie.bin", "type": "application/octet-stream" }))
        .send()
        .await;
    created.assert_status(200, "create a multipart upload for Uppy");
    let created = created.json();
    let key = created["key"].as_str().expect("a key").to_owned();
    let id = created["uploadId"].as_str().expect("an upload id");
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("key", &key)
        .finish();
    let reply = broker
        .call("POST", &format!("/s3/multipart/{id}/complete?{query}"))
        .bearer(&alice)
        .json(&json!({ "parts": [
            { "PartNumber": 1, "ETag": S3Stub::part_etag(1) },
            { "PartNumber": 2, "ETag": S3Stub::part_etag(2) },
        ]}))
        .send()
        .await;
    (reply, key)
}

#[actix_web::test]
async fn uppy_complete_whose_answer_is_lost_is_a_success() {
    let stub = S3Stub::start(OnComplete::CompleteThenDrop, &[(1, SIZE), (2, SIZE)]);
    let (reply, key) = uppy_complete(&stub).await;
    reply.assert_status(
        200,
        "Uppy's Complete whose connection dropped after completing",
    );
    let body = reply.json();
    assert_eq!(body["key"], key.as_str(), "{body}");
    assert_eq!(body["bucket"], BUCKET, "{body}");
    let location = body["location"].as_str().unwrap_or_default();
    assert!(location.ends_with(&key), "the object's URL: {body}");
    assert_receipt(&body, 2 * SIZE);
    assert_eq!(stub.completes(), 2);
    assert_eq!(stub.object(BUCKET, &key), Some(2 * SIZE));
}

#[actix_web::test]
async fn uppy_retried_no_such_upload_with_another_object_stays_404() {
    let stub = S3Stub::start(OnComplete::DropThenNoSuchUpload, &[(1, SIZE), (2, SIZE)]);
    let (reply, _) = uppy_complete(&stub).await;
    assert_eq!(reply.status, 404, "{reply:?}");
    assert_eq!(reply.json()["code"], "no_such_upload", "{reply:?}");
    assert_eq!(stub.completes(), 2);
}
