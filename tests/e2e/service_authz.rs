//! Authorization over HTTP where S3 answers: listings stay in the caller's namespace, and
//! scopes limit what a principal may list and read. Each refusal is preceded by the honest
//! request of the same shape. The refusals that need no S3 are in `tests/api/authz.rs`.

use crate::support::broker::{API_KEY, Broker};
use s3_broker::domain::Scope;
use serde_json::json;

with_shared_broker!(
    unsafe_subjects_get_a_namespace_of_their_own,
    listings_stay_in_the_callers_namespace,
    write_only_principal_cannot_read,
);

async fn unsafe_subjects_get_a_namespace_of_their_own(broker: &'static Broker) {
    let upload = json!({ "filename": "a.txt", "content_type": "text/plain", "size": 1 });
    let bob = broker.token("bob");
    let key = broker
        .upload(&bob, upload.clone())
        .await
        .grant("bob's upload")
        .key()
        .to_owned();
    assert!(key.starts_with("users/bob/"), "{key}");
    let mut segments = Vec::new();
    for subject in [
        "../bob",
        "bob/..",
        "bob/x",
        "users/bob",
        "..",
        "h-bob",
        "bob\\x",
        "b ob",
    ] {
        let token = broker.token(subject);
        let grant = broker
            .upload(&token, upload.clone())
            .await
            .grant(&format!("upload as {subject:?}"));
        let parts: Vec<&str> = grant.key().split('/').collect();
        assert!(
            parts.len() == 3 && parts[0] == "users" && parts[1].starts_with("h-"),
            "subject {subject:?} must get one hashed segment: {}",
            grant.key()
        );
        segments.push(parts[1].to_owned());
        broker.download(&token, &key).await.problem(
            403,
            "not_owner",
            &format!("{subject:?} asks for bob's key"),
        );
        let listing = broker.list(&token, None, None).await;
        listing.assert_status(200, &format!("{subject:?} lists"));
        assert_eq!(
            listing.json()["namespace"],
            format!("users/{}/", parts[1]),
            "{subject:?}"
        );
    }
    let distinct: std::collections::BTreeSet<&String> = segments.iter().collect();
    assert_eq!(
        distinct.len(),
        segments.len(),
        "segments collide: {segments:?}"
    );
}

async fn listings_stay_in_the_callers_namespace(broker: &'static Broker) {
    let alice = broker.token("alice-lists");
    for prefix in [
        None,
        Some("users/alice-lists/"),
        Some("users/alice-lists/docs/"),
        Some("users/alice-lists/rep"),
        Some("avatars/alice-lists/"),
    ] {
        let reply = broker.list(&alice, prefix, None).await;
        reply.assert_status(200, &format!("alice lists {prefix:?}"));
        let page = reply.json();
        assert_eq!(page["files"], json!([]), "{page}");
    }
    for prefix in [
        "users/bob/",
        "users/alice-lists2/",
        "users/alice-list",
        "users/alice-lists",
        "users/",
        "users",
        "avatars/bob/",
        "/users/alice-lists/",
    ] {
        broker.list(&alice, Some(prefix), None).await.problem(
            403,
            "not_owner",
            &format!("alice lists {prefix:?}"),
        );
    }
    for prefix in [
        "users/alice-lists/../bob/",
        "users/alice-lists//",
        "users/alice-lists/./",
        "users/alice-lists/a\\b/",
    ] {
        broker.list(&alice, Some(prefix), None).await.problem(
            400,
            "invalid_prefix",
            &format!("alice lists {prefix:?}"),
        );
    }
    broker
        .call(
            "GET",
            "/v1/objects?profile=avatars&prefix=users%2Falice-lists%2F",
        )
        .bearer(&alice)
        .send()
        .await
        .problem(403, "not_owner", "a prefix of another profile than named");
}

async fn write_only_principal_cannot_read(broker: &'static Broker) {
    let full = broker.token("wo-user");
    let write_only = broker.token_with("wo-user", &[Scope::Upload]);
    let upload = json!({ "filename": "a.txt", "content_type": "text/plain", "size": 1 });
    let grant = broker
        .upload(&write_only, upload.clone())
        .await
        .grant("write-only upload");
    grant.put(b"w").await.assert_ok("the write-only upload");
    let key = grant.key().to_owned();
    broker
        .download(&full, &key)
        .await
        .grant("the same user with the download scope");
    broker
        .list(&full, None, None)
        .await
        .assert_status(200, "the same user with the list scope");

    let refused = |reply: &crate::support::broker::ApiReply, what: &str| {
        reply.problem(403, "insufficient_scope", what);
        let challenge = reply.header("www-authenticate").unwrap_or_default();
        assert!(
            challenge.starts_with("Bearer ") && challenge.contains("insufficient_scope"),
            "{what}: {challenge:?}"
        );
    };
    refused(
        &broker.download(&write_only, &key).await,
        "write-only token downloads its own file",
    );
    refused(
        &broker.list(&write_only, None, None).await,
        "write-only token lists",
    );
    // The API key has upload and list, not download.
    let api = |method: &str, path: &str| broker.call(method, path).api_key(API_KEY);
    api("GET", "/v1/objects")
        .send()
        .await
        .assert_status(200, "API key lists");
    let reply = api("POST", "/v1/downloads")
        .json(&json!({ "key": "users/svc-backup/f/a.txt" }))
        .send()
        .await;
    refused(&reply, "upload+list API key downloads");
}
