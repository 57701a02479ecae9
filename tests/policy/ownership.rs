//! Ownership: a caller reaches only its own namespace, odd subjects get a segment of their
//! own, listings stay inside it, and scopes are enforced.

use s3_broker::domain::{Principal, Scope};
use s3_broker::policy::DownloadIntent;

use crate::support::*;

#[test]
fn alice_cannot_reach_bob_or_alice2() {
    let registry = shipped();
    let (alice, alice2, bob) = (user("alice"), user("alice2"), user("bob"));
    let key = registry
        .default_profile()
        .decide_upload(
            &alice,
            &intent("a.txt", Some("docs")),
            Backend::Aws,
            UUID,
            now(),
            None,
        )
        .unwrap()
        .key;
    assert_eq!(key.as_str(), format!("users/alice/docs/{UUID}-a.txt"));
    assert!(registry.owns_key(&alice, key.as_str()));
    assert!(!registry.owns_key(&alice2, key.as_str()));
    assert!(!registry.owns_key(&bob, key.as_str()));

    let download = |who: &Principal, key: &str| {
        registry
            .decide_download(
                who,
                None,
                &DownloadIntent {
                    key: key.into(),
                    ..Default::default()
                },
                None,
            )
            .map(|d| d.key.to_string())
            .map_err(|e| (e.code(), e.status()))
    };
    assert_eq!(download(&alice, key.as_str()).unwrap(), key.as_str());
    for other in [&bob, &alice2] {
        assert_eq!(download(other, key.as_str()), Err(("not_owner", 403)));
    }
    for foreign in [
        "users/bob/x.txt",
        "users/alice2/x.txt",
        "users/alice",
        "users/alicex",
        "avatars/bob/avatar",
        "other/alice/x",
        "alice/x",
    ] {
        assert_eq!(
            download(&alice, foreign),
            Err(("not_owner", 403)),
            "{foreign}"
        );
    }
    for malformed in [
        "users/alice/",
        "users/alice/../bob/x.txt",
        "users/alice//x",
        "users/alice/./x",
    ] {
        assert_eq!(
            download(&alice, malformed),
            Err(("invalid_key", 400)),
            "{malformed}"
        );
    }
    assert_eq!(
        download(&alice, "avatars/alice/avatar").unwrap(),
        "avatars/alice/avatar"
    );
}

#[test]
fn subjects_that_look_like_paths_get_their_own_segment() {
    let registry = shipped();
    for subject in ["../bob", "bob/x", "bob/", ".", "", "h-abc"] {
        let mallory = user(subject);
        let d = registry
            .default_profile()
            .decide_upload(
                &mallory,
                &intent("a.txt", None),
                Backend::Aws,
                UUID,
                now(),
                None,
            )
            .unwrap();
        let seg = mallory.segment.as_str();
        assert!(
            seg.starts_with("h-") && !seg.contains('/'),
            "{subject:?} -> {seg}"
        );
        assert!(d.key.as_str().starts_with(&format!("users/{seg}/")));
        assert!(!registry.owns_key(&mallory, "users/bob/x"));
    }
}

#[test]
fn listing_stays_inside_the_namespace() {
    let registry = shipped();
    let alice = user("alice");
    let scope = registry.listing(&alice, None, None).unwrap();
    assert_eq!(
        (scope.prefix.as_str(), scope.namespace.as_str()),
        ("users/alice/", "users/alice/")
    );
    assert_eq!(scope.bucket.as_str(), "uploads");
    let scope = registry
        .listing(&alice, None, Some("users/alice/docs/"))
        .unwrap();
    assert_eq!(scope.prefix, "users/alice/docs/");
    let scope = registry
        .listing(&alice, None, Some("avatars/alice/"))
        .unwrap();
    assert_eq!(scope.profile, "avatars");
    for (prefix, code) in [
        ("users/alice", "not_owner"),
        ("users/alice2/", "not_owner"),
        ("users/bob/", "not_owner"),
        ("users/", "not_owner"),
        ("", "not_owner"),
        ("users/alice/../bob/", "invalid_prefix"),
        ("users/alice//", "invalid_prefix"),
    ] {
        let err = registry.listing(&alice, None, Some(prefix)).unwrap_err();
        assert_eq!(err.code(), code, "{prefix:?}");
    }
    let err = registry
        .listing(&alice, Some("default"), Some("avatars/alice/"))
        .unwrap_err();
    assert_eq!(err.code(), "not_owner");
    let owned: Vec<String> = registry
        .owned_prefixes(&alice)
        .iter()
        .map(|n| n.prefix().to_owned())
        .collect();
    assert_eq!(owned, ["users/alice/", "avatars/alice/"]);
}

#[test]
fn scopes_are_enforced() {
    let registry = shipped();
    let writer = Principal::new("alice", None, [Scope::Upload].into_iter().collect());
    let err = registry
        .decide_download(
            &writer,
            None,
            &DownloadIntent {
                key: "users/alice/x".into(),
                ..Default::default()
            },
            None,
        )
        .unwrap_err();
    assert_eq!((err.code(), err.status()), ("insufficient_scope", 403));
    assert_eq!(
        registry.listing(&writer, None, None).unwrap_err().status(),
        403
    );
    let reader = Principal::new("alice", None, [Scope::Download].into_iter().collect());
    let err = registry
        .default_profile()
        .decide_upload(
            &reader,
            &intent("a.txt", None),
            Backend::Aws,
            UUID,
            now(),
            None,
        )
        .unwrap_err();
    assert_eq!(err.code(), "insufficient_scope");
}
