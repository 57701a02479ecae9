//! Bad input gets a clear `application/problem+json` error with a stable `code`, and nothing
//! signed; the honest request of the same shape succeeds first (except for listings, which
//! need S3: their honest requests are in the end-to-end suite). Also the health endpoints.

use crate::support::{ApiReply, Broker, DEFAULT_MAX_EXPIRY_SECS};
use serde_json::json;

const JSON: Option<&str> = Some("application/json");

fn honest_body() -> String {
    json!({ "filename": "a.txt", "content_type": "text/plain", "size": 1 }).to_string()
}

async fn upload_raw(broker: &Broker, content_type: Option<&str>, body: Vec<u8>) -> ApiReply {
    broker
        .call("POST", "/v1/uploads")
        .bearer(&broker.token("alice"))
        .body(content_type, body)
        .send()
        .await
}

#[actix_web::test]
async fn malformed_json() {
    let broker = &Broker::start().await;
    upload_raw(broker, JSON, honest_body().into_bytes())
        .await
        .grant("a well-formed body");
    for body in [
        "{",
        "not json",
        "{\"filename\": }",
        "{\"filename\": \"a.txt\",}",
        "{'filename': 'a.txt'}",
        "",
        "\u{feff}{}",
    ] {
        upload_raw(broker, JSON, body.as_bytes().to_vec())
            .await
            .problem(400, "malformed_json", &format!("body {body:?}"));
    }
    upload_raw(broker, JSON, vec![0xff, 0xfe, b'{', b'}'])
        .await
        .problem(400, "malformed_json", "a body that is not UTF-8");
    broker
        .call("POST", "/v1/downloads")
        .bearer(&broker.token("alice"))
        .body(JSON, b"{\"key\": ".to_vec())
        .send()
        .await
        .problem(400, "malformed_json", "a truncated download body");
}

#[actix_web::test]
async fn wrong_content_type() {
    let broker = &Broker::start().await;
    for content_type in ["application/json", "application/json; charset=utf-8"] {
        upload_raw(broker, Some(content_type), honest_body().into_bytes())
            .await
            .grant(&format!("Content-Type: {content_type}"));
    }
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("application/xml"),
        None,
    ] {
        upload_raw(broker, content_type, honest_body().into_bytes())
            .await
            .problem(
                415,
                "unsupported_media_type",
                &format!("Content-Type: {content_type:?}"),
            );
    }
}

#[actix_web::test]
async fn oversized_body() {
    let broker = &Broker::start().await;
    const LIMIT: usize = 16 * 1024;
    // Whitespace is valid JSON: the same request padded to the limit is accepted.
    let padded = |len: usize| {
        let body = honest_body();
        let mut bytes = body.into_bytes();
        bytes.pop();
        while bytes.len() < len - 1 {
            bytes.push(b' ');
        }
        bytes.push(b'}');
        assert_eq!(bytes.len(), len);
        bytes
    };
    upload_raw(broker, JSON, padded(LIMIT))
        .await
        .grant("a body of exactly 16 KiB");
    for len in [LIMIT + 1, 64 * 1024, 1024 * 1024] {
        upload_raw(broker, JSON, padded(len)).await.problem(
            413,
            "body_too_large",
            &format!("a body of {len} bytes"),
        );
    }
    let huge_metadata = json!({
        "filename": "a.txt", "content_type": "text/plain", "size": 1,
        "metadata": { "title": "t".repeat(20_000) },
    });
    upload_raw(broker, JSON, huge_metadata.to_string().into_bytes())
        .await
        .problem(413, "body_too_large", "a 20 KB metadata value");
}

#[actix_web::test]
async fn unknown_or_mistyped_fields() {
    let broker = &Broker::start().await;
    let alice = broker.token("alice");
    let base = json!({ "filename": "a.txt", "content_type": "text/plain", "size": 1 });
    broker
        .upload(&alice, base.clone())
        .await
        .grant("known fields");
    for (name, value) in [
        ("bucket", json!("another-bucket")),
        ("key", json!("users/bob/x")),
        ("Filename", json!("a.txt")),
        ("acl", json!("public-read")),
        ("expires", json!(60)),
    ] {
        let mut body = base.clone();
        body[name] = value;
        broker.upload(&alice, body).await.problem(
            400,
            "unknown_field",
            &format!("unknown field {name:?}"),
        );
    }
    broker
        .download(&alice, "users/alice/f/a.txt")
        .await
        .grant("a download");
    broker
        .call("POST", "/v1/downloads")
        .bearer(&alice)
        .json(&json!({ "key": "users/alice/f/a.txt", "bucket": "other" }))
        .send()
        .await
        .problem(400, "unknown_field", "an unknown download field");
    for (name, value) in [
        ("size", json!("ten")),
        ("size", json!(-1)),
        ("size", json!(1.5)),
        ("filename", json!(7)),
        ("metadata", json!(["title"])),
        ("method", json!("GET")),
        ("method", json!("put")),
    ] {
        let mut body = base.clone();
        body[name] = value.clone();
        broker.upload(&alice, body).await.problem(
            400,
            "invalid_field",
            &format!("{name} = {value}"),
        );
    }
    let mut missing = base.clone();
    missing.as_object_mut().unwrap().remove("filename");
    broker
        .upload(&alice, missing)
        .await
        .problem(400, "invalid_field", "no filename");
    broker.upload(&alice, json!([base])).await.problem(
        400,
        "invalid_field",
        "an array instead of an object",
    );
}

#[actix_web::test]
async fn invalid_expiry() {
    let broker = &Broker::start().await;
    let alice = broker.token("alice");
    let with_expiry = |secs: u64| json!({ "filename": "a.txt", "content_type": "text/plain", "size": 1, "expires_in": secs });
    let grant = broker
        .upload(&alice, with_expiry(604_800))
        .await
        .grant("expires_in of 7 days");
    assert_eq!(grant.lifetime_secs(), DEFAULT_MAX_EXPIRY_SECS);
    for secs in [0, 604_801, u64::MAX] {
        broker.upload(&alice, with_expiry(secs)).await.problem(
            400,
            "invalid_expiry",
            &format!("expires_in {secs}"),
        );
    }
    broker
        .call("POST", "/v1/downloads")
        .bearer(&alice)
        .json(&json!({ "key": "users/alice/f/a.txt", "expires_in": 0 }))
        .send()
        .await
        .problem(400, "invalid_expiry", "a download with expires_in 0");
}

#[actix_web::test]
async fn unknown_query_parameter() {
    let broker = &Broker::start().await;
    // The honest listings with known parameters are in the end-to-end suite (they call S3).
    let alice = broker.token("alice-query");
    for query in [
        "?limit=5",
        "?delimiter=%2F",
        "?bucket=other",
        "?Prefix=users%2Falice-query%2F",
    ] {
        broker
            .call("GET", &format!("/v1/objects{query}"))
            .bearer(&alice)
            .send()
            .await
            .problem(400, "unknown_parameter", &format!("listing with {query:?}"));
    }
}

/// The honest requests of each resource, with its one method (`GET /v1/objects` calls S3: the
/// end-to-end suite lists).
async fn every_route_answers(broker: &Broker, token: &str) {
    broker
        .upload(token, serde_json::from_str(&honest_body()).unwrap())
        .await
        .grant("POST /v1/uploads");
    broker
        .download(token, "users/alice/f/a.txt")
        .await
        .grant("POST /v1/downloads");
    broker
        .call("GET", "/healthz")
        .send()
        .await
        .assert_status(200, "GET /healthz");
}

#[actix_web::test]
async fn unknown_route() {
    let broker = &Broker::start().await;
    let token = broker.token("alice");
    every_route_answers(broker, &token).await;
    for (method, path) in [
        ("GET", "/"),
        ("GET", "/v2/uploads"),
        ("POST", "/v1/upload"),
        ("POST", "/v1/uploads/extra"),
        ("GET", "/v1/objects/users/alice/a.txt"),
        ("GET", "/.env"),
        ("GET", "/v1/../healthz2"),
    ] {
        broker
            .call(method, path)
            .bearer(&token)
            .send()
            .await
            .problem(404, "not_found", &format!("{method} {path}"));
    }
}

#[actix_web::test]
async fn wrong_method() {
    let broker = &Broker::start().await;
    let token = broker.token("alice");
    every_route_answers(broker, &token).await;
    for (method, path, allowed) in [
        ("GET", "/v1/uploads", "POST"),
        ("PUT", "/v1/uploads", "POST"),
        ("DELETE", "/v1/uploads", "POST"),
        ("GET", "/v1/downloads", "POST"),
        ("PATCH", "/v1/downloads", "POST"),
        ("POST", "/v1/objects", "GET"),
        ("PUT", "/v1/objects", "GET"),
        ("POST", "/healthz", "GET"),
        ("DELETE", "/readyz", "HEAD"),
        ("PUT", "/metrics", "GET"),
    ] {
        let reply = broker.call(method, path).bearer(&token).send().await;
        reply.problem(405, "method_not_allowed", &format!("{method} {path}"));
        // RFC 9110 §15.5.6: a 405 MUST list the supported methods in `Allow`.
        let allow = reply.header("allow").unwrap_or_default();
        assert!(
            allow.split(',').any(|m| m.trim() == allowed),
            "{method} {path}: 405 without `Allow: {allowed}` (got {allow:?})"
        );
    }
}

/// SIGTERM's drain as the handlers see it: `/readyz` refuses at once while every other route
/// still answers, and every answer closes its connection (the real signal, listener and
/// connections: `tests/e2e/service_drain.rs`).
#[actix_web::test]
async fn readyz_is_503_draining_and_every_answer_closes_while_draining() {
    let broker = &Broker::start().await;
    let token = broker.token("alice");
    let upload = json!({ "filename": "a.txt", "content_type": "text/plain", "size": 6 });
    let ready = broker.call("GET", "/readyz").send().await;
    ready.assert_status(200, "/readyz before the drain");
    assert!(!closes(&ready), "keep-alive before the drain");
    let grant = broker.upload(&token, upload.clone()).await;
    assert!(!closes(&grant), "a grant before the drain");

    broker.drain.start();
    let readyz = broker.call("GET", "/readyz").send().await;
    readyz.problem(503, "draining", "/readyz while draining");
    assert!(closes(&readyz), "/readyz while draining");
    let head = broker.call("HEAD", "/readyz").send().await;
    head.assert_status(503, "HEAD /readyz while draining");
    let grant = broker.upload(&token, upload).await;
    grant.grant("a grant while draining");
    assert!(closes(&grant), "a grant while draining");
    let health = broker.call("GET", "/healthz").send().await;
    health.assert_status(200, "/healthz while draining (liveness holds)");
    let refusal = broker.call("POST", "/v1/uploads").send().await;
    refusal.problem(401, "missing_credentials", "a refusal while draining");
    let missing = broker.call("GET", "/nowhere").send().await;
    missing.problem(404, "not_found", "the fallback while draining");
    for reply in [&head, &health, &refusal, &missing] {
        assert!(closes(reply), "{}: no Connection: close", reply.request);
    }
}

/// Whether the answer closes its connection (`Connection: close`).
fn closes(reply: &ApiReply) -> bool {
    reply.header("connection") == Some("close")
}

#[actix_web::test]
async fn health_endpoints() {
    let broker = &Broker::start().await;
    for (path, status) in [("/healthz", "ok"), ("/readyz", "ready")] {
        let reply = broker.call("GET", path).send().await;
        reply.assert_status(200, path);
        assert_eq!(reply.json()["status"], status, "{path}");
        assert_eq!(
            reply.header("content-type"),
            Some("application/json"),
            "{path}"
        );
        let head = broker.call("HEAD", path).send().await;
        head.assert_status(200, &format!("HEAD {path}"));
    }
    let live = broker.call("GET", "/healthz").send().await;
    assert_eq!(
        live.body, br#"{"status":"ok"}"#,
        "the liveness answer, byte for byte"
    );
    broker
        .call("GET", "/metrics")
        .send()
        .await
        .assert_status(200, "/metrics, unauthenticated like the probes");
    // The served API description names every route the broker answers, and no other.
    let reply = broker.call("GET", "/openapi.json").send().await;
    reply.assert_status(200, "/openapi.json");
    let spec = reply.json();
    assert_eq!(spec["openapi"], "3.1.0");
    let mut paths: Vec<&str> = spec["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .map(String::as_str)
        .collect();
    paths.sort_unstable();
    assert_eq!(
        paths,
        [
            "/.well-known/jwks.json",
            "/healthz",
            "/metrics",
            "/openapi.json",
            "/readyz",
            "/s3/complete",
            "/s3/initiated",
            "/s3/multipart",
            "/s3/multipart/{uploadId}",
            "/s3/multipart/{uploadId}/batch",
            "/s3/multipart/{uploadId}/complete",
            "/s3/multipart/{uploadId}/{partNumber}",
            "/s3/params",
            "/s3/sign",
            "/v1/downloads",
            "/v1/forms",
            "/v1/multipart",
            "/v1/multipart/abort",
            "/v1/multipart/complete",
            "/v1/multipart/parts",
            "/v1/objects",
            "/v1/uploads",
            "/v1/uploads/verify"
        ]
    );
}
