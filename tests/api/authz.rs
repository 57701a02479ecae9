//! Authorization through the application: a caller only gets grants inside its own
//! namespace, client paths follow a strict grammar, scopes limit what a principal may do, and
//! profiles must exist. Each refusal is preceded by the honest request of the same shape.
//! Listings, which call S3, are checked in the end-to-end suite.

use crate::support::{ApiReply, Broker};
use s3_broker::domain::Scope;
use serde_json::{Value, json};

async fn download(broker: &Broker, token: &str, body: Value) -> ApiReply {
    broker
        .call("POST", "/v1/downloads")
        .bearer(token)
        .json(&body)
        .send()
        .await
}

#[actix_web::test]
async fn downloads_stay_in_the_callers_namespace() {
    let broker = &Broker::start().await;
    let alice = broker.token("alice");
    let alice2 = broker.token("alice2");
    for key in [
        "users/alice/f/a.txt",
        "users/alice/deep/er/still/a.txt",
        "avatars/alice/avatar",
        "brief/alice/f/a.txt",
    ] {
        // As attachments: an inline avatar would first ask S3 for its stored type, and this
        // layer has no S3 (`tests/e2e/service_inline.rs` has the inline downloads).
        let grant = download(
            broker,
            &alice,
            json!({ "key": key, "disposition": "attachment" }),
        )
        .await
        .grant(&format!("alice downloads her {key}"));
        assert_eq!(grant.key(), key);
    }
    for key in [
        "users/bob/f/a.txt",
        "users/alice2/f/a.txt",
        "users/alice",
        "users/alic/f/a.txt",
        "users/ALICE/f/a.txt",
        "users/f/a.txt",
        "avatars/bob/avatar",
        "avatars/alice2/avatar",
        "brief/bob/f/a.txt",
        "other/alice/f/a.txt",
        "a.txt",
    ] {
        broker.download(&alice, key).await.problem(
            403,
            "not_owner",
            &format!("alice asks for {key}"),
        );
    }
    broker
        .download(&alice2, "users/alice/f/a.txt")
        .await
        .problem(403, "not_owner", "alice2 asks for alice's key");
    broker
        .download(&alice2, "users/alice2/f/a.txt")
        .await
        .grant("alice2 downloads her own key");
    // Naming a profile does not widen the namespace.
    download(
        broker,
        &alice,
        json!({ "key": "avatars/bob/avatar", "profile": "avatars" }),
    )
    .await
    .problem(403, "not_owner", "bob's avatar through the avatars profile");
    // Inside the namespace but not a key the broker would make: refused as malformed,
    // never normalised into someone else's key.
    for key in [
        "users/alice/../bob/f/a.txt",
        "users/alice/./f/a.txt",
        "users/alice//a.txt",
        "users/alice/",
        "users/alice/f/",
        "users/alice/f\\a.txt",
        "users/alice/f/a\u{0}.txt",
        "users/alice/f/\u{202E}txt.exe",
    ] {
        broker.download(&alice, key).await.problem(
            400,
            "invalid_key",
            &format!("alice asks for {key:?}"),
        );
    }
}

fn upload_in(path: &str) -> Value {
    json!({ "filename": "a.txt", "content_type": "text/plain", "size": 1, "path": path })
}

#[actix_web::test]
async fn client_paths_follow_the_grammar() {
    let broker = &Broker::start().await;
    let alice = broker.token("alice");
    let segment = "s".repeat(200);
    let long_ok = [segment.as_str(); 4].join("/");
    for path in [
        "a/b",
        "photos/2024/été",
        ".config",
        "a b/c-d_e.f",
        long_ok.as_str(),
    ] {
        let grant = broker
            .upload(&alice, upload_in(path))
            .await
            .grant(&format!("path {path:?}"));
        let key = grant.key();
        assert!(key.starts_with(&format!("users/alice/{path}/")), "{key}");
        assert!(key.ends_with("-a.txt"), "{key}");
    }
    let too_long = [
        "p".repeat(255),
        "q".repeat(255),
        "r".repeat(255),
        "s".repeat(255),
    ]
    .join("/")
        + "/t";
    assert_eq!(too_long.len(), 1025);
    for path in [
        "..",
        "../bob",
        "a/../b",
        "a/..",
        ".",
        "./a",
        "a/./b",
        "a//b",
        "//a",
        "/a",
        "/",
        "a/",
        "",
        "a\\b",
        "..\\bob",
        "a\u{0}b",
        "a\u{1}b",
        "a\nb",
        "a\rb",
        "a\tb",
        "a\u{7f}b",
        "a\u{85}b",
        "a/\u{202E}b",
        "a/\u{200B}",
        "a/ b",
        too_long.as_str(),
    ] {
        broker.upload(&alice, upload_in(path)).await.problem(
            400,
            "invalid_path",
            &format!("path {path:?}"),
        );
    }
    let mut avatar = upload_in("a");
    avatar["profile"] = "avatars".into();
    avatar["content_type"] = "image/png".into();
    broker.upload(&alice, avatar).await.problem(
        400,
        "path_not_allowed",
        "a path for a profile without {path}",
    );
}

#[actix_web::test]
async fn filenames_are_single_safe_segments() {
    let broker = &Broker::start().await;
    let alice = broker.token("alice");
    let upload =
        |filename: &str| json!({ "filename": filename, "content_type": "text/plain", "size": 1 });
    for filename in ["a.txt", "rapport été 2024.txt", ".hidden", "a..b"] {
        broker
            .upload(&alice, upload(filename))
            .await
            .grant(&format!("filename {filename:?}"));
    }
    for filename in [
        "..",
        ".",
        "../a.txt",
        "a/b.txt",
        "/a.txt",
        "a\\b.txt",
        "",
        "a\u{0}.txt",
        "a\n.txt",
        "\u{202E}txt.exe",
        &"n".repeat(256),
    ] {
        broker.upload(&alice, upload(filename)).await.problem(
            400,
            "invalid_filename",
            &format!("filename {filename:?}"),
        );
    }
}

#[actix_web::test]
async fn read_only_principal_cannot_write() {
    let broker = &Broker::start().await;
    let reader = broker.token_with("ro-user", &[Scope::Download, Scope::List]);
    broker
        .download(&reader, "users/ro-user/f/a.txt")
        .await
        .grant("read-only download");
    broker
        .upload(
            &reader,
            json!({ "filename": "a.txt", "content_type": "text/plain", "size": 1 }),
        )
        .await
        .problem(403, "insufficient_scope", "read-only upload");
    let nothing = broker.token_with("no-scope", &[]);
    broker
        .upload(
            &nothing,
            json!({ "filename": "a.txt", "content_type": "text/plain", "size": 1 }),
        )
        .await
        .problem(403, "insufficient_scope", "a token without scopes uploads");
}

#[actix_web::test]
async fn unknown_profile() {
    let broker = &Broker::start().await;
    let alice = broker.token("alice");
    let avatar = |profile: &str| json!({ "profile": profile, "filename": "me.png", "content_type": "image/png", "size": 100 });
    let grant = broker
        .upload(&alice, avatar("avatars"))
        .await
        .grant("the avatars profile");
    assert_eq!(grant.key(), "avatars/alice/avatar");
    for profile in ["nope", "Avatars", "../default", "", "default.toml"] {
        broker.upload(&alice, avatar(profile)).await.problem(
            404,
            "unknown_profile",
            &format!("profile {profile:?}"),
        );
    }
    download(
        broker,
        &alice,
        json!({ "key": "users/alice/f/a.txt", "profile": "default" }),
    )
    .await
    .grant("download naming its profile");
    download(
        broker,
        &alice,
        json!({ "key": "users/alice/f/a.txt", "profile": "nope" }),
    )
    .await
    .problem(404, "unknown_profile", "download naming an unknown profile");
    broker
        .call("GET", "/v1/objects?profile=nope")
        .bearer(&alice)
        .send()
        .await
        .problem(404, "unknown_profile", "listing an unknown profile");
}

/// `POST /v1/forms` as `token`.
async fn form(broker: &Broker, token: &str, body: Value) -> ApiReply {
    broker
        .call("POST", "/v1/forms")
        .bearer(token)
        .json(&body)
        .send()
        .await
}

#[actix_web::test]
async fn forms_need_the_upload_scope_and_redirect_only_to_configured_origins() {
    let broker = &Broker::start_with(
        |config| {
            config
                .set("server", "public_url", "https://uploads.example")
                .set("server", "cors_origins", vec!["https://app.example"])
        },
        false,
    )
    .await;
    let alice = broker.token("alice");
    for redirect in ["https://app.example/done", "https://uploads.example/"] {
        let grant = form(
            broker,
            &alice,
            json!({ "content_type": "text/plain", "redirect": redirect }),
        )
        .await
        .grant(&format!("a form redirecting to {redirect}"));
        assert_eq!(grant.json["fields"]["success_action_redirect"], redirect);
        let prefix = grant.json["key_prefix"].as_str().unwrap_or_default();
        assert!(prefix.starts_with("users/alice/"), "{prefix}");
        assert_eq!(
            grant.json["fields"]["key"],
            format!("{prefix}${{filename}}"),
            "S3 appends the file's name"
        );
    }
    for redirect in [
        "https://evil.example/done",
        "https://app.example.evil.example/",
        "https://app.example/done?next=https://evil.example",
        "javascript:alert(1)",
    ] {
        form(
            broker,
            &alice,
            json!({ "content_type": "text/plain", "redirect": redirect }),
        )
        .await
        .problem(400, "redirect_not_allowed", redirect);
    }
    form(
        broker,
        &alice,
        json!({ "content_type": "text/plain", "key": "x" }),
    )
    .await
    .problem(400, "unknown_field", "a form names no key");
    form(broker, &alice, json!({ "content_type": "text/html" }))
        .await
        .problem(
            400,
            "content_type_not_allowed",
            "a type the profile refuses",
        );
    let reader = broker.token_with("ro-user", &[Scope::Download, Scope::List]);
    form(broker, &reader, json!({ "content_type": "text/plain" }))
        .await
        .problem(403, "insufficient_scope", "a read-only form");
    broker
        .call("POST", "/v1/forms")
        .json(&json!({ "content_type": "text/plain" }))
        .send()
        .await
        .unauthorized("missing_credentials", "a form without credentials");
}
