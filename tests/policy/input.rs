//! Client input: the path and filename grammar, NFC normalization and the key length limit.

use crate::support::*;

#[test]
fn bad_paths_are_refused_with_400() {
    let p = profile(FOLDERS);
    let alice = user("alice");
    assert_eq!(
        upload_key(&p, &alice, "f.txt", Some("a/b")).unwrap(),
        "users/alice/a/b/f.txt"
    );
    assert_eq!(
        upload_key(&p, &alice, "f.txt", None).unwrap(),
        "users/alice/f.txt"
    );
    let long = vec!["x".repeat(200); 6].join("/");
    for bad in [
        "..",
        "../bob",
        "a/../../bob",
        "a/..",
        ".",
        "./a",
        "a//b",
        "//a",
        "/a",
        "/",
        "a/",
        "a\\b",
        "..\\bob",
        "a\u{0}b",
        "a\nb",
        "a\u{1b}b",
        "a\u{7f}",
        "a/\u{202E}b",
        "",
        long.as_str(),
    ] {
        let err = p
            .decide_upload(
                &alice,
                &intent("f.txt", Some(bad)),
                Backend::Aws,
                UUID,
                now(),
                None,
            )
            .unwrap_err();
        assert_eq!((err.code(), err.status()), ("invalid_path", 400), "{bad:?}");
    }
    let no_path = shipped();
    let avatars = no_path.get("avatars").unwrap();
    let mut i = intent("me.png", Some("x"));
    i.content_type = "image/png".into();
    assert_eq!(
        avatars
            .decide_upload(&alice, &i, Backend::Aws, UUID, now(), None)
            .unwrap_err()
            .code(),
        "path_not_allowed"
    );
}

#[test]
fn bad_filenames_are_refused() {
    let p = profile(FOLDERS);
    let alice = user("alice");
    for bad in [
        "invoice\u{202E}fdp.exe",
        "a\u{202A}b",
        "a\u{2066}b",
        "a\u{2069}b",
        "a\u{200B}b",
        "a\u{200D}b",
        "\u{FEFF}a",
        "a\u{0}b",
        "a\rb",
        "a\u{85}b",
        "a/b",
        "a\\b",
        ".",
        "..",
        "",
        &"a".repeat(256),
    ] {
        let err = p
            .decide_upload(&alice, &intent(bad, None), Backend::Aws, UUID, now(), None)
            .unwrap_err();
        assert_eq!(
            (err.code(), err.status()),
            ("invalid_filename", 400),
            "{bad:?}"
        );
    }
    let err = upload_key(&p, &alice, "a\u{202E}b", None).unwrap_err();
    assert_eq!(err, "invalid_filename");
}

#[test]
fn filenames_and_paths_are_nfc() {
    let p = profile(FOLDERS);
    let key = upload_key(
        &p,
        &user("alice"),
        "Cafe\u{301}.txt",
        Some("Re\u{301}sume\u{301}"),
    )
    .unwrap();
    assert_eq!(key, "users/alice/R\u{e9}sum\u{e9}/Caf\u{e9}.txt");
}

#[test]
fn keys_longer_than_1024_bytes_are_refused() {
    let p = profile(FOLDERS);
    let path = vec!["p".repeat(250); 4].join("/"); // 1003 bytes
    let err = p
        .decide_upload(
            &user("alice"),
            &intent(&"f".repeat(100), Some(&path)),
            Backend::Aws,
            UUID,
            now(),
            None,
        )
        .unwrap_err();
    assert_eq!(err.code(), "invalid_key");
    assert!(err.to_string().contains("1024"), "{err}");
}
