//! What operators see: `GET /metrics` counts requests by route pattern and status, error
//! responses by problem code (Companion-shaped ones too) and the broker's S3 calls by
//! operation and outcome, and never names a caller, a key or an upload id; every response
//! carries an `X-Request-Id`.

use crate::support::Ctx;
use crate::support::broker::{Broker, Options};
use serde_json::json;

on_both_servers!(
    metrics_count_routes_problems_and_s3_calls,
    unknown_paths_preflights_and_head_are_counted,
    expiring_credentials_show_their_expiry,
    failed_s3_calls_are_counted_by_outcome,
    every_response_has_a_request_id,
    metrics_can_be_turned_off,
);

/// The value of the sample `name{labels}` (labels exactly as rendered), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|value| value.parse().expect("a number"))
}

async fn scrape(broker: &Broker) -> String {
    let reply = broker.call("GET", "/metrics").send().await;
    reply.assert_status(200, "GET /metrics");
    assert!(
        reply
            .header("content-type")
            .is_some_and(|ct| ct.starts_with("application/openmetrics-text")),
        "OpenMetrics content type"
    );
    String::from_utf8(reply.body.clone()).expect("UTF-8 metrics")
}

async fn metrics_count_routes_problems_and_s3_calls(t: Ctx) {
    let broker = Broker::start(&t).await;
    let alice = broker.token("alice");
    let mut stored = None;
    for method in ["PUT", "POST", "PUT"] {
        let grant = broker
            .upload(
                &alice,
                json!({ "filename": "a.txt", "content_type": "text/plain", "size": 3, "method": method }),
            )
            .await
            .grant("an upload grant");
        if stored.is_none() && method == "PUT" {
            grant.put(b"abc").await.assert_ok("PUT of a.txt");
            stored = Some(grant.key().to_owned());
        }
    }
    broker
        .call("POST", "/v1/uploads")
        .json(&json!({}))
        .send()
        .await
        .unauthorized("missing_credentials", "no credentials");
    broker
        .list(&alice, None, None)
        .await
        .assert_status(200, "a listing");
    let created = broker
        .call("POST", "/s3/multipart")
        .bearer(&alice)
        .json(&json!({ "filename": "big.bin", "type": "application/octet-stream" }))
        .send()
        .await;
    created.assert_status(200, "a Companion multipart upload");
    let created = created.json();
    let key = created["key"].as_str().expect("a key").to_owned();
    let upload_id = created["uploadId"]
        .as_str()
        .expect("an upload id")
        .to_owned();
    let encode = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    let parts = format!("/s3/multipart/{}?key={}", encode(&upload_id), encode(&key));
    broker
        .call("GET", &parts)
        .bearer(&alice)
        .send()
        .await
        .assert_status(200, "its parts");
    broker
        .call(
            "GET",
            &format!(
                "/s3/multipart/{}/batch?key={}&partNumbers=1,2",
                encode(&upload_id),
                encode(&key)
            ),
        )
        .bearer(&alice)
        .send()
        .await
        .assert_status(200, "two part URLs");
    broker
        .call("POST", "/s3/sign")
        .bearer(&alice)
        .json(&json!({ "method": "GET", "key": key, "uploadId": upload_id }))
        .send()
        .await
        .assert_status(200, "Uppy 6's signed ListParts");
    for body in [
        json!({ "method": "POST", "key": "clip.bin" }),
        json!({ "method": "DELETE", "key": key, "uploadId": upload_id }),
    ] {
        broker
            .call("POST", "/s3/sign")
            .bearer(&alice)
            .json(&body)
            .send()
            .await
            .assert_status(200, &format!("Uppy 6 signs {body}"));
    }
    broker
        .download(&alice, stored.as_deref().expect("a stored key"))
        .await
        .grant("a download grant");
    broker
        .download(
            &alice,
            &format!("users/alice/none-{}.txt", t.bucket.as_str().len()),
        )
        .await
        .problem(404, "object_not_found", "a download of a missing key");
    // Bob names Alice's upload: a Companion-shaped error, counted by its code all the same.
    let refused = broker
        .call("GET", &parts)
        .bearer(&broker.token("bob"))
        .send()
        .await;
    assert_eq!(refused.status, 403, "{}", refused.text());
    let code = refused.json()["code"].as_str().expect("a code").to_owned();

    let text = scrape(&broker).await;
    let count = |series: &str| sample(&text, series).unwrap_or(0.0);
    assert_eq!(
        count(
            "s3_broker_http_requests_total{method=\"POST\",route=\"/v1/uploads\",status=\"200\"}"
        ),
        3.0,
        "{text}"
    );
    assert_eq!(
        count(
            "s3_broker_http_requests_total{method=\"POST\",route=\"/v1/uploads\",status=\"401\"}"
        ),
        1.0
    );
    assert_eq!(
        count(
            "s3_broker_http_requests_total{method=\"GET\",route=\"/s3/multipart/{upload_id}\",status=\"200\"}"
        ),
        1.0,
        "the route pattern, not the path: {text}"
    );
    assert_eq!(
        count("s3_broker_problems_total{code=\"missing_credentials\"}"),
        1.0
    );
    assert_eq!(
        count(&format!("s3_broker_problems_total{{code=\"{code}\"}}")),
        1.0,
        "Companion errors count by code"
    );
    for (operation, granted) in [
        ("PutObject", 2.0),
        ("PostObject", 1.0),
        ("GetObject", 1.0),
        ("UploadPart", 2.0),
        ("CreateMultipartUpload", 1.0),
        ("ListParts", 1.0),
        ("AbortMultipartUpload", 1.0),
    ] {
        assert_eq!(
            count(&format!(
                "s3_broker_grants_total{{operation=\"{operation}\"}}"
            )),
            granted,
            "{operation}: {text}"
        );
    }
    for (series, calls) in [
        ("operation=\"HeadObject\",outcome=\"ok\"", 1.0),
        ("operation=\"HeadObject\",outcome=\"no_such_key\"", 1.0),
    ] {
        assert_eq!(
            count(&format!("s3_broker_s3_requests_total{{{series}}}")),
            calls,
            "{series}: {text}"
        );
    }
    assert_eq!(
        count("s3_broker_problems_total{code=\"object_not_found\"}"),
        1.0
    );
    // Two CreateMultipartUploads: Companion's, and Uppy 6's, which the broker makes itself so
    // that the client only ever holds a sealed upload id.
    for (operation, calls) in [
        ("ListObjectsV2", 1.0),
        ("CreateMultipartUpload", 2.0),
        ("ListParts", 1.0),
    ] {
        assert_eq!(
            count(&format!(
                "s3_broker_s3_requests_total{{operation=\"{operation}\",outcome=\"ok\"}}"
            )),
            calls,
            "{operation}: {text}"
        );
        assert_eq!(
            count(&format!(
                "s3_broker_s3_request_duration_seconds_count{{operation=\"{operation}\"}}"
            )),
            calls
        );
    }
    assert_eq!(
        count("s3_broker_http_request_duration_seconds_count{route=\"/v1/uploads\"}"),
        4.0
    );
    assert!(
        !text.contains("\ns3_broker_credentials_expiry_timestamp_seconds"),
        "static credentials do not expire: no series"
    );
    assert!(text.contains("s3_broker_build_info{version="));
    for secret in [
        "alice",
        "bob",
        key.as_str(),
        upload_id.as_str(),
        t.bucket.as_str(),
    ] {
        assert!(!text.contains(secret), "the metrics name {secret:?}");
    }
    broker
        .call("DELETE", &parts)
        .bearer(&alice)
        .send()
        .await
        .assert_status(200, "abort");
}

async fn unknown_paths_preflights_and_head_are_counted(t: Ctx) {
    let broker = Broker::start(&t).await;
    for path in ["/v1/nothing-here", "/users/alice/secret.txt"] {
        broker
            .call("GET", path)
            .send()
            .await
            .problem(404, "not_found", path);
    }
    // A CORS preflight from an origin the broker does not allow: answered by the CORS layer
    // before any handler, still counted and given an id.
    let preflight = broker
        .call("OPTIONS", "/v1/uploads")
        .header("Origin", "https://elsewhere.example")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await;
    assert!(preflight.status >= 400, "{}", preflight.status);
    assert!(preflight.header("x-request-id").is_some());
    let head = broker.call("HEAD", "/metrics").send().await;
    head.assert_status(200, "HEAD /metrics");
    assert!(head.body.is_empty());
    let text = scrape(&broker).await;
    assert_eq!(
        sample(
            &text,
            "s3_broker_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"}"
        ),
        Some(2.0),
        "unknown paths share one series, whatever they name: {text}"
    );
    assert!(!text.contains("alice") && !text.contains("nothing"));
    assert!(
        text.lines().any(|line| line
            .starts_with("s3_broker_http_requests_total{method=\"OPTIONS\",route=\"/v1/uploads\"")),
        "the preflight: {text}"
    );
    assert_eq!(
        sample(
            &text,
            "s3_broker_http_requests_total{method=\"HEAD\",route=\"/metrics\",status=\"200\"}"
        ),
        Some(1.0)
    );
}

async fn expiring_credentials_show_their_expiry(t: Ctx) {
    let expiry = chrono::Utc::now() + chrono::Duration::hours(6);
    let broker = Broker::start_with(
        t.bed,
        t.bucket.as_str(),
        Options {
            expiring_credentials: Some(expiry),
            ..Options::default()
        },
    )
    .await;
    // The first scrape reads the credentials (as /readyz does): no grant was asked for yet.
    let text = scrape(&broker).await;
    assert_eq!(
        sample(&text, "s3_broker_credentials_expiry_timestamp_seconds{}"),
        Some(expiry.timestamp() as f64),
        "{text}"
    );
}

async fn failed_s3_calls_are_counted_by_outcome(t: Ctx) {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a port")
        .local_addr()
        .expect("its address");
    let broker = Broker::start_with(
        t.bed,
        t.bucket.as_str(),
        Options {
            s3_calls_to: Some(format!("http://{closed}")),
            ..Options::default()
        },
    )
    .await;
    broker
        .list(&broker.token("alice"), None, None)
        .await
        .problem(503, "s3_unavailable", "S3 refusing connections");
    let text = scrape(&broker).await;
    assert_eq!(
        sample(
            &text,
            "s3_broker_s3_requests_total{operation=\"ListObjectsV2\",outcome=\"unavailable\"}"
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "s3_broker_problems_total{code=\"s3_unavailable\"}"),
        Some(1.0)
    );
}

async fn every_response_has_a_request_id(t: Ctx) {
    let broker = Broker::start(&t).await;
    let alice = broker.token("alice");
    let is_generated = |id: Option<&str>| {
        id.is_some_and(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()))
    };
    let grant = broker
        .upload(
            &alice,
            json!({ "filename": "a.txt", "content_type": "text/plain", "size": 3 }),
        )
        .await;
    let first = grant.header("x-request-id").map(str::to_owned);
    assert!(is_generated(first.as_deref()), "{first:?}");
    let problem = broker.call("GET", "/v1/nothing-here").send().await;
    assert_eq!(problem.status, 404);
    let second = problem.header("x-request-id").map(str::to_owned);
    assert!(is_generated(second.as_deref()), "errors carry one too");
    assert_ne!(first, second, "each request its own");
    let companion = broker
        .call("GET", "/s3/multipart/x?key=y")
        .bearer("not-a-token")
        .send()
        .await;
    assert_eq!(companion.status, 401);
    assert!(is_generated(companion.header("x-request-id")));
    // A proxy's id is kept; a hostile one is replaced.
    let kept = broker
        .call("GET", "/healthz")
        .header("X-Request-Id", "lb-7f3a.42")
        .send()
        .await;
    assert_eq!(kept.header("x-request-id"), Some("lb-7f3a.42"));
    for hostile in ["has space", "a\"quote", &"x".repeat(65)] {
        let replaced = broker
            .call("GET", "/healthz")
            .header("X-Request-Id", hostile)
            .send()
            .await;
        assert!(
            is_generated(replaced.header("x-request-id")),
            "{hostile:?} replaced"
        );
    }
}

async fn metrics_can_be_turned_off(t: Ctx) {
    let broker = Broker::start_with(
        t.bed,
        t.bucket.as_str(),
        Options {
            metrics_disabled: true,
            ..Options::default()
        },
    )
    .await;
    broker
        .call("GET", "/metrics")
        .send()
        .await
        .problem(404, "not_found", "metrics = false");
}
