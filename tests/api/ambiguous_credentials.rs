//! Ambiguous credentials: `Authorization` or `X-Api-Key` twice (a valid key followed by a
//! revoked one, say), a comma-joined list of either, or both kinds at once, are refused with
//! 400 `ambiguous_credentials` on every authenticated route, the Companion-style ones
//! included, whichever credential is valid.

use crate::support::{API_KEY, Broker, REVOKED_API_KEY};
use serde_json::json;

/// Every authenticated route, with a body where it takes one.
fn routes() -> Vec<(&'static str, &'static str, Option<serde_json::Value>)> {
    let upload = json!({ "filename": "a.txt", "content_type": "text/plain", "size": 1 });
    let key = "key=users%2Falice%2Fx.bin";
    vec![
        ("POST", "/v1/uploads", Some(upload)),
        (
            "POST",
            "/v1/downloads",
            Some(json!({ "key": "users/alice/a.txt" })),
        ),
        ("GET", "/v1/objects", None),
        (
            "POST",
            "/v1/multipart",
            Some(json!({ "filename": "a.bin", "size": 1 })),
        ),
        (
            "POST",
            "/v1/multipart/parts",
            Some(json!({ "upload": "t", "parts": [1] })),
        ),
        ("GET", "/v1/multipart/parts?upload=t", None),
        (
            "POST",
            "/v1/multipart/complete",
            Some(json!({ "upload": "t", "parts": [] })),
        ),
        (
            "POST",
            "/v1/multipart/abort",
            Some(json!({ "upload": "t" })),
        ),
        ("GET", "/s3/params?filename=a.txt&type=text/plain", None),
        (
            "POST",
            "/s3/sign",
            Some(json!({ "method": "PUT", "key": "a.txt" })),
        ),
        (
            "POST",
            "/s3/multipart",
            Some(json!({ "filename": "a.bin" })),
        ),
        ("GET", leak(format!("/s3/multipart/u?{key}")), None),
        ("DELETE", leak(format!("/s3/multipart/u?{key}")), None),
        ("GET", leak(format!("/s3/multipart/u/1?{key}")), None),
        (
            "GET",
            leak(format!("/s3/multipart/u/batch?{key}&partNumbers=1")),
            None,
        ),
        (
            "POST",
            leak(format!("/s3/multipart/u/complete?{key}")),
            Some(json!({ "parts": [] })),
        ),
    ]
}

fn leak(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

#[actix_web::test]
async fn duplicate_and_mixed_credentials_are_refused_on_every_route() {
    let broker = &Broker::start().await;
    let token = broker.token("alice");
    let bearer = format!("Bearer {token}");
    // The honest single credentials work (so the refusals below are about the duplicates).
    for (name, value) in [("authorization", bearer.as_str()), ("x-api-key", API_KEY)] {
        broker
            .call("POST", "/v1/uploads")
            .header(name, value)
            .json(&json!({ "filename": "a.txt", "content_type": "text/plain", "size": 1 }))
            .send()
            .await
            .grant(&format!("one {name}"));
    }
    let joined_keys = format!("{API_KEY}, {REVOKED_API_KEY}");
    let joined_tokens = format!("{bearer}, {bearer}");
    let cases: [(&str, Vec<(&str, &str)>); 6] = [
        (
            "a valid API key, then a revoked one",
            vec![("x-api-key", API_KEY), ("x-api-key", REVOKED_API_KEY)],
        ),
        (
            "the same API key twice",
            vec![("x-api-key", API_KEY), ("x-api-key", API_KEY)],
        ),
        (
            "two Authorization headers",
            vec![("authorization", &bearer), ("authorization", &bearer)],
        ),
        (
            "a token and an API key",
            vec![("authorization", &bearer), ("x-api-key", API_KEY)],
        ),
        (
            "a joined list of API keys",
            vec![("x-api-key", &joined_keys)],
        ),
        (
            "a joined list of tokens",
            vec![("authorization", &joined_tokens)],
        ),
    ];
    for (method, path, body) in routes() {
        for (what, headers) in &cases {
            let mut call = broker.call(method, path);
            for (name, value) in headers {
                call = call.header(name, value);
            }
            if let Some(body) = &body {
                call = call.json(body);
            }
            let reply = call.send().await;
            let what = format!("{method} {path}: {what}");
            if path.starts_with("/s3/") {
                // Companion's shape: `{error, message, code}` with the problem's status.
                reply.assert_status(400, &what);
                assert_eq!(reply.json()["code"], "ambiguous_credentials", "{what}");
            } else {
                reply.problem(400, "ambiguous_credentials", &what);
            }
        }
    }
}
