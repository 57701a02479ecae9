//! The Companion-compatible routes of Uppy through the application, where no S3 call is
//! needed: ownership of the key and upload named in the query, Companion's error shape
//! (`error`, `message`, `code`), 405s with `Allow`, metadata and type refusals, and the
//! operations `POST /s3/sign` does not sign.

use crate::support::{ApiReply, Broker};
use serde_json::json;

/// The `?key=` query of most Companion routes.
fn key_query(key: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("key", key)])
        .finish()
}

/// Asserts Companion's error shape: `status`, a string `error` and the problem `code`.
fn companion_error(reply: &ApiReply, status: u16, code: &str, what: &str) {
    reply.assert_status(status, what);
    let json = reply.json();
    assert!(json["error"].is_string(), "{what}: {json}");
    assert_eq!(json["code"], code, "{what}: {json}");
}

#[actix_web::test]
async fn routes_check_ownership_and_speak_companion_errors() {
    let b = &Broker::start().await;
    let alice = b.token("alice");
    let other = "users/bob/0b5c0f4e-5a57-4a53-9d4b-2f0b0b0b0b0b/x.bin";
    let outside = "elsewhere/x.bin";
    for key in [other, outside] {
        let q = key_query(key);
        for (method, path) in [
            ("GET", format!("/s3/multipart/abc?{q}")),
            ("GET", format!("/s3/multipart/abc/1?{q}")),
            ("GET", format!("/s3/multipart/abc/batch?{q}&partNumbers=1")),
            ("DELETE", format!("/s3/multipart/abc?{q}")),
        ] {
            let reply = b.call(method, &path).bearer(&alice).send().await;
            companion_error(&reply, 403, "not_owner", &format!("{method} {path}"));
        }
        let reply = b
            .call("POST", &format!("/s3/multipart/abc/complete?{q}"))
            .bearer(&alice)
            .json(&json!({ "parts": [{ "PartNumber": 1, "ETag": "\"e\"" }] }))
            .send()
            .await;
        companion_error(&reply, 403, "not_owner", "complete someone else's upload");
    }
    let reply = b
        .call("GET", "/s3/params?filename=a.txt&type=text/plain")
        .send()
        .await;
    companion_error(&reply, 401, "missing_credentials", "no credentials");
    assert!(
        reply
            .header("www-authenticate")
            .is_some_and(|c| c.starts_with("Bearer"))
    );
    // A wrong method is a 405 naming the allowed ones, in Companion's shape.
    for (method, path, allow) in [
        ("POST", "/s3/params", "GET"),
        ("GET", "/s3/sign", "POST"),
        ("PUT", "/s3/multipart/abc", "GET, DELETE"),
        ("DELETE", "/s3/multipart/abc/1", "GET"),
    ] {
        let reply = b.call(method, path).bearer(&alice).send().await;
        companion_error(
            &reply,
            405,
            "method_not_allowed",
            &format!("{method} {path}"),
        );
        assert_eq!(reply.header("allow"), Some(allow), "{method} {path}");
    }
    // Uppy adds `name` and `type` to every file's metadata: ignored; other keys are checked.
    let reply = b
        .call("GET", "/s3/params?filename=a.txt&type=text/plain&metadata[name]=a.txt&metadata[type]=text/plain")
        .bearer(&alice)
        .send()
        .await;
    reply.assert_status(200, "Uppy's implicit metadata");
    assert!(reply.json()["fields"].get("x-amz-meta-name").is_none());
    let reply = b
        .call(
            "GET",
            "/s3/params?filename=a.txt&type=text/plain&metadata[owner]=x",
        )
        .bearer(&alice)
        .send()
        .await;
    companion_error(
        &reply,
        400,
        "metadata_not_allowed",
        "metadata the profile does not allow",
    );
    assert_eq!(
        reply.json()["message"],
        reply.json()["error"],
        "Uppy 5 shows `message`"
    );
    let reply = b
        .call("GET", "/s3/params?filename=a.txt&type=text/html")
        .bearer(&alice)
        .send()
        .await;
    companion_error(
        &reply,
        400,
        "content_type_not_allowed",
        "a type the profile refuses",
    );
    let reply = b
        .call("POST", "/s3/sign")
        .bearer(&alice)
        .json(&json!({ "method": "GET", "key": "a" }))
        .send()
        .await;
    companion_error(
        &reply,
        400,
        "unsupported_operation",
        "GetObject through /s3/sign",
    );
    let reply = b
        .call("POST", "/s3/sign")
        .bearer(&b.token_with("up", &[s3_broker::domain::Scope::Upload]))
        .json(&json!({ "method": "DELETE", "key": "users/up/x/y.bin" }))
        .send()
        .await;
    companion_error(
        &reply,
        403,
        "insufficient_scope",
        "DeleteObject without the delete scope",
    );
}
