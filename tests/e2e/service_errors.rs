//! Errors over a real socket: one check per status that the problem+json answers, their
//! challenges and `Allow` headers survive the HTTP server as they leave the application, and
//! the honest listings whose refusals the in-process suite (`tests/api/errors.rs`) checks.
//! Every input error and authentication case is in `tests/api/`, which needs no S3.

use crate::support::broker::Broker;
use serde_json::json;

with_shared_broker!(
    statuses_survive_the_http_server,
    listings_accept_known_parameters
);

async fn statuses_survive_the_http_server(broker: &'static Broker) {
    let alice = broker.token("alice");
    let honest = json!({ "filename": "a.txt", "content_type": "text/plain", "size": 1 });
    broker
        .upload(&alice, honest.clone())
        .await
        .grant("an honest upload");
    let reply = broker
        .call("POST", "/v1/uploads")
        .json(&honest)
        .send()
        .await;
    reply.unauthorized("missing_credentials", "no credentials");
    assert_eq!(
        reply.header("www-authenticate"),
        Some("Bearer realm=\"s3-broker\"")
    );
    broker
        .upload("not-a-jwt", honest.clone())
        .await
        .unauthorized("invalid_token", "a malformed token");
    broker
        .upload(&broker.token_with("reader", &[]), honest.clone())
        .await
        .problem(403, "insufficient_scope", "a token without scopes");
    broker
        .call("POST", "/v1/uploads")
        .bearer(&alice)
        .body(Some("application/json"), b"{".to_vec())
        .send()
        .await
        .problem(400, "malformed_json", "a truncated body");
    broker
        .call("GET", "/v2/uploads")
        .bearer(&alice)
        .send()
        .await
        .problem(404, "not_found", "an unknown route");
    let reply = broker
        .call("PUT", "/v1/uploads")
        .bearer(&alice)
        .send()
        .await;
    reply.problem(405, "method_not_allowed", "PUT /v1/uploads");
    assert_eq!(reply.header("allow"), Some("POST"));
    broker
        .call("POST", "/v1/uploads")
        .bearer(&alice)
        .body(Some("application/json"), vec![b' '; 64 * 1024])
        .send()
        .await
        .problem(413, "body_too_large", "a body of 64 KiB");
    broker
        .call("POST", "/v1/uploads")
        .bearer(&alice)
        .body(Some("text/plain"), honest.to_string().into_bytes())
        .send()
        .await
        .problem(415, "unsupported_media_type", "a text/plain body");
}

/// The honest listings of `tests/api/errors.rs::unknown_query_parameter` and `unknown_route`.
async fn listings_accept_known_parameters(broker: &'static Broker) {
    let alice = broker.token("alice-query");
    for query in ["", "?prefix=users%2Falice-query%2F", "?prefix=&cursor="] {
        broker
            .call("GET", &format!("/v1/objects{query}"))
            .bearer(&alice)
            .send()
            .await
            .assert_status(200, &format!("listing with {query:?}"));
    }
    broker
        .list(&broker.token("alice"), None, None)
        .await
        .assert_status(200, "GET /v1/objects");
}
