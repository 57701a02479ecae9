//! Object keys, client paths and file names, through the routes that take them: an upload's
//! key always lies in the caller's namespace on whole segments, without empty, `.` or `..`
//! segments; a download is only granted for a key of the caller's; nothing answers 5xx.

use crate::support::{Broker, fuzz, token};
use actix_web::test::TestRequest;
use proptest::prelude::*;
use serde_json::{Value, json};

/// Text a caller might send where a key, path or name goes: plausible names, path-like
/// strings with dots and slashes, percent signs, Unicode, controls and bidi characters.
pub(crate) fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-zA-Z0-9 ._~%+=&?#;,'\"()*!$@\u{e9}\u{301}\u{20ac}\u{1F600}-]{0,40}",
        3 => "((\\.\\.?|[a-z]{1,3}|%2[eEfF]|~|)/){0,6}[a-z.]{0,8}",
        2 => "\\PC{0,60}",
        1 => ".{0,80}",
        1 => "[a-z/.\\\\\r\n\0\u{202E}\u{2066}\u{200B}\u{FEFF}\u{85}]{0,30}",
        1 => "(users|avatars|brief)/(alice|alice2|bob|ALICE|)/[a-z0-9./-]{0,30}",
        1 => "[a-z]{1,2}".prop_map(|s| s.repeat(600)),
    ]
}

#[derive(Debug, Clone)]
enum Call {
    Upload(Value),
    Download(Value),
    Multipart(Value),
}

fn calls() -> impl Strategy<Value = Call> {
    let optional = || prop::option::of(hostile_text());
    prop_oneof![
        (
            hostile_text(),
            optional(),
            prop::option::of(prop::sample::select(vec!["default", "avatars", "nope", ""]))
        )
            .prop_map(|(filename, path, profile)| Call::Upload(json!({
                "filename": filename, "path": path, "profile": profile,
                "content_type": "text/plain", "size": 5,
            }))),
        (
            hostile_text(),
            optional(),
            prop::option::of(prop::sample::select(vec!["inline", "attachment"]))
        )
            .prop_map(|(key, filename, disposition)| Call::Download(json!({
                "key": key, "filename": filename, "disposition": disposition,
            }))),
        (hostile_text(), optional()).prop_map(|(filename, path)| Call::Multipart(json!({
            "filename": filename, "path": path, "size": 6 * 1024 * 1024,
        }))),
    ]
}

/// Whether `key` lies in alice's namespace of some profile and has only proper segments.
pub(crate) fn alices(key: &str) -> bool {
    let owned = ["users/alice/", "avatars/alice/", "brief/alice/"]
        .iter()
        .any(|prefix| key.starts_with(prefix));
    owned
        && key
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != "..")
}

#[actix_web::test]
async fn keys_paths_and_names() {
    let broker = Broker::start().await;
    let alice = token("alice");
    fuzz("keys", calls(), |call| {
        let (broker, alice) = (&broker, &alice);
        async move {
            let (route, body) = match &call {
                Call::Upload(body) => ("/v1/uploads", body),
                Call::Download(body) => ("/v1/downloads", body),
                Call::Multipart(body) => ("/v1/multipart", body),
            };
            let request = TestRequest::post()
                .uri(route)
                .insert_header(("authorization", format!("Bearer {alice}")))
                .set_json(body);
            let (status, answer) = broker.send(request).await?;
            if status == 200 {
                let json: Value = serde_json::from_str(&answer).map_err(|e| e.to_string())?;
                let key = json["key"].as_str().unwrap_or_default();
                if !alices(key) {
                    return Err(format!("a grant for {key:?}"));
                }
            }
            Ok(())
        }
    })
    .await;
}
