//! Upload profiles: loading, key templates, client input, ownership and decisions.

use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;
use s3_broker::domain::{BucketName, Expiry, Principal, Scope, Scopes};
use s3_broker::http::Code;
use s3_broker::policy::{
    Disposition, DownloadIntent, FormContentType, FormIntent, FormKey, LoadError, PolicyError,
    Profile, ProfileRegistry, RegistryOptions, UploadIntent, UploadMethod,
};
use std::collections::BTreeMap;
use std::path::Path;
use uuid::Uuid;

/// How the API answers a refusal: its stable code and HTTP status.
trait Answered {
    fn code(&self) -> &'static str;
    fn status(&self) -> u16;
}

impl Answered for PolicyError {
    fn code(&self) -> &'static str {
        Code::from(self).as_str()
    }

    fn status(&self) -> u16 {
        Code::from(self).status().as_u16()
    }
}

const UUID: Uuid = Uuid::from_u128(0x0123_4567_89ab_4def_8123_4567_89ab_cdef);

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 31, 23, 59, 59).unwrap()
}

fn bucket(name: &str) -> BucketName {
    BucketName::new(name).unwrap()
}

fn user(subject: &str) -> Principal {
    Principal::new(
        subject,
        Some("https://issuer.example".into()),
        Scopes::all(),
    )
}

fn options() -> RegistryOptions {
    RegistryOptions {
        default_profile: None,
        default_bucket: Some(bucket("uploads")),
    }
}

/// The shipped profiles, with the bucket the service would configure.
fn shipped() -> ProfileRegistry {
    ProfileRegistry::load_dir_with(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("policies"),
        &options(),
    )
    .expect("policies/*.toml load")
}

fn profile(text: &str) -> Profile {
    Profile::from_toml("test", text, Some(&bucket("uploads"))).unwrap()
}

const FOLDERS: &str = r#"
    key_template = "users/{principal}/{path}/{filename}"
    content_types = ["text/plain", "image/*"]
    max_size = "10 MiB"
    methods = ["PUT"]
"#;

fn intent(filename: &str, path: Option<&str>) -> UploadIntent {
    UploadIntent {
        filename: filename.into(),
        content_type: "text/plain".into(),
        size: 5,
        path: path.map(Into::into),
        ..UploadIntent::default()
    }
}

fn upload_key(
    p: &Profile,
    who: &Principal,
    filename: &str,
    path: Option<&str>,
) -> Result<String, String> {
    p.decide_upload(who, &intent(filename, path), UUID, now(), None)
        .map(|d| d.key.to_string())
        .map_err(|e| e.code().to_owned())
}

// ---------------------------------------------------------------- loading

#[test]
fn shipped_profiles_load() {
    let registry = shipped();
    assert_eq!(registry.default_profile().name(), "default");
    let names: Vec<&str> = registry.profiles().map(Profile::name).collect();
    assert_eq!(names, ["avatars", "default"]);
    let default = registry.default_profile();
    assert!(default.methods().contains(&UploadMethod::Put));
    assert!(default.methods().contains(&UploadMethod::Post));
    assert!(default.allows_client_path());
    for ct in [
        "text/plain",
        "image/png",
        "application/pdf",
        "application/octet-stream",
    ] {
        let mut i = intent("a.bin", None);
        i.content_type = ct.into();
        assert!(
            default
                .decide_upload(&user("alice"), &i, UUID, now(), None)
                .is_ok(),
            "{ct}"
        );
    }
    let avatars = registry.get("avatars").unwrap();
    assert!(avatars.allow_overwrite() && avatars.allow_inline());
}

#[test]
fn shipped_profiles_need_a_bucket_from_the_configuration() {
    let err = ProfileRegistry::load_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("policies"))
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("avatars.toml") && text.contains("key `bucket`"),
        "{text}"
    );
}

fn write(dir: &Path, file: &str, text: &str) {
    std::fs::write(dir.join(file), text).unwrap();
}

#[test]
fn a_bad_file_stops_loading_and_names_file_key_and_problem() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "default.toml", FOLDERS);
    write(
        dir.path(),
        "broken.toml",
        &format!("{FOLDERS}\nmax_expiry_secs = 999999\n"),
    );
    let err = ProfileRegistry::load_dir_with(dir.path(), &options()).unwrap_err();
    let LoadError::Profile { path, error } = &err else {
        panic!("{err}")
    };
    assert!(path.ends_with("broken.toml"));
    assert_eq!(error.key.as_deref(), Some("max_expiry_secs"));
    assert!(
        err.to_string()
            .contains("broken.toml: key `max_expiry_secs`: 999999"),
        "{err}"
    );

    write(
        dir.path(),
        "broken.toml",
        &format!("{FOLDERS}\nmax_sise = 1\n"),
    );
    let err = ProfileRegistry::load_dir_with(dir.path(), &options())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("broken.toml") && err.contains("`max_sise`") && err.contains("unknown field"),
        "{err}"
    );

    write(
        dir.path(),
        "broken.toml",
        "key_template = \"{filename}/{principal}/x\"\ncontent_types = [\"a/b\"]\nmax_size = 1\n",
    );
    let err = ProfileRegistry::load_dir_with(dir.path(), &options())
        .unwrap_err()
        .to_string();
    assert!(err.contains("broken.toml: key `key_template`"), "{err}");
}

#[test]
fn other_files_are_ignored_and_names_come_from_stems_or_the_name_key() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "general.toml",
        &format!("name = \"default\"\n{FOLDERS}"),
    );
    write(dir.path(), "iam-policy.json", "{}");
    write(dir.path(), ".hidden.toml", "garbage");
    let registry = ProfileRegistry::load_dir_with(dir.path(), &options()).unwrap();
    assert_eq!(registry.default_profile().name(), "default");
    assert_eq!(registry.get("nope").unwrap_err().code(), "unknown_profile");
    assert_eq!(registry.get("nope").unwrap_err().status(), 404);

    write(dir.path(), "default.toml", FOLDERS);
    let err = ProfileRegistry::load_dir_with(dir.path(), &options())
        .unwrap_err()
        .to_string();
    assert!(err.contains("two profiles are named `default`"), "{err}");
}

#[test]
fn a_default_profile_is_required() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "one.toml", FOLDERS);
    let only = ProfileRegistry::load_dir_with(dir.path(), &options()).unwrap();
    assert_eq!(
        only.default_profile().name(),
        "one",
        "a single profile is the default"
    );
    write(
        dir.path(),
        "two.toml",
        &FOLDERS.replace("users/{principal}", "docs/{principal}"),
    );
    let err = ProfileRegistry::load_dir_with(dir.path(), &options())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("the default profile `default` does not exist"),
        "{err}"
    );
    let configured = RegistryOptions {
        default_profile: Some("two".into()),
        ..options()
    };
    let registry = ProfileRegistry::load_dir_with(dir.path(), &configured).unwrap();
    assert_eq!(registry.profile(None).unwrap().name(), "two");
    assert!(
        ProfileRegistry::load_dir_with(tempfile::tempdir().unwrap().path(), &options()).is_err()
    );
}

#[test]
fn templates_with_principal_after_client_parts_or_not_whole_are_refused() {
    for template in [
        "{filename}/{principal}/x",
        "users/{path}/{principal}/{filename}",
        "users/{uuid}/{principal}/{filename}",
        "{date}/{principal}/{filename}",
        "users/user-{principal}/{filename}",
        "users/{principal}.d/{filename}",
        "users/{filename}",
        "users/{principal}",
        "users/{principal}/{path}",
        "users/../{principal}/{filename}",
        "/users/{principal}/{filename}",
    ] {
        let text = format!(
            "key_template = {template:?}\ncontent_types = [\"a/b\"]\nmax_size = 1\nmethods = [\"PUT\"]\n"
        );
        let err = Profile::from_toml("t", &text, Some(&bucket("uploads"))).unwrap_err();
        assert_eq!(
            err.key.as_deref(),
            Some("key_template"),
            "{template}: {err}"
        );
    }
}

#[test]
fn overlapping_namespaces_are_refused() {
    let p = |name: &str, template: &str, b: &str| {
        Profile::from_toml(
            name,
            &format!("key_template = {template:?}\ncontent_types = [\"a/b\"]\nmax_size = 1\nmethods = [\"PUT\"]\nbucket = {b:?}\n"),
            None,
        )
        .unwrap()
    };
    // The principal named "users" of `flat` would own every file of `default`.
    let err = ProfileRegistry::new(
        vec![
            p("default", "users/{principal}/{filename}", "b1b"),
            p("flat", "{principal}/{filename}", "b1b"),
        ],
        None,
    )
    .unwrap_err();
    assert!(err.contains("the principal named `users`"), "{err}");
    let err = ProfileRegistry::new(
        vec![
            p("default", "users/{principal}/{filename}", "b1b"),
            p("other", "users/{principal}/x/{filename}", "b2b"),
        ],
        None,
    )
    .unwrap_err();
    assert!(err.contains("both keep files under"), "{err}");
    let err = ProfileRegistry::new(
        vec![
            p("default", "users/{principal}/{filename}", "b1b"),
            p("same", "users/{principal}/{uuid}/{filename}", "b1b"),
        ],
        None,
    )
    .unwrap_err();
    assert!(err.contains("one profile"), "{err}");
    assert!(
        ProfileRegistry::new(
            vec![
                p("default", "users/{principal}/{filename}", "b1b"),
                p("avatars", "avatars/{principal}/a", "b2b")
            ],
            None,
        )
        .is_ok()
    );
}

// ---------------------------------------------------------------- ownership

#[test]
fn alice_cannot_reach_bob_or_alice2() {
    let registry = shipped();
    let (alice, alice2, bob) = (user("alice"), user("alice2"), user("bob"));
    let key = registry
        .default_profile()
        .decide_upload(&alice, &intent("a.txt", Some("docs")), UUID, now(), None)
        .unwrap()
        .key;
    assert_eq!(key.as_str(), format!("users/alice/docs/{UUID}/a.txt"));
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
            .decide_upload(&mallory, &intent("a.txt", None), UUID, now(), None)
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
        .decide_upload(&reader, &intent("a.txt", None), UUID, now(), None)
        .unwrap_err();
    assert_eq!(err.code(), "insufficient_scope");
}

// ---------------------------------------------------------------- client input

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
            .decide_upload(&alice, &intent("f.txt", Some(bad)), UUID, now(), None)
            .unwrap_err();
        assert_eq!((err.code(), err.status()), ("invalid_path", 400), "{bad:?}");
    }
    let no_path = shipped();
    let avatars = no_path.get("avatars").unwrap();
    let mut i = intent("me.png", Some("x"));
    i.content_type = "image/png".into();
    assert_eq!(
        avatars
            .decide_upload(&alice, &i, UUID, now(), None)
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
            .decide_upload(&alice, &intent(bad, None), UUID, now(), None)
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
            UUID,
            now(),
            None,
        )
        .unwrap_err();
    assert_eq!(err.code(), "invalid_key");
    assert!(err.to_string().contains("1024"), "{err}");
}

// ---------------------------------------------------------------- decisions

#[test]
fn an_upload_decision_carries_every_limit() {
    let p = profile(
        r#"
        key_template = "files/{principal}/{date}/{uuid}/{filename}"
        content_types = ["text/*", "application/pdf"]
        min_size = 1
        max_size = 1000
        max_expiry_secs = 600
        default_expiry_secs = 300
        methods = ["PUT", "POST"]
        default_method = "POST"
        server_side_encryption = "aws:kms"
        kms_key_id = "alias/files"
        metadata_keys = ["title"]
        require_checksum = true
        "#,
    );
    let alice = user("alice");
    let sha = "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=";
    let mut i = UploadIntent {
        filename: "notes.txt".into(),
        content_type: "Text/Plain; charset=utf-8".into(),
        size: 5,
        checksum_sha256: Some(sha.into()),
        metadata: BTreeMap::from([("title".to_owned(), "My notes".to_owned())]),
        ..UploadIntent::default()
    };
    let d = p
        .decide_upload(&alice, &i, UUID, now(), Some(Expiry::MAX))
        .unwrap();
    assert_eq!(
        d.key.as_str(),
        format!("files/alice/2025/01/31/{UUID}/notes.txt")
    );
    assert_eq!(d.method, UploadMethod::Post);
    assert_eq!(d.content_type.as_str(), "Text/Plain; charset=utf-8");
    assert_eq!((d.size, d.content_length_range()), (5, (5, 5)));
    assert_eq!(d.expires.as_secs(), 600, "min(requested, profile max)");
    assert_eq!(d.metadata[0].0.header_name(), "x-amz-meta-title");
    assert_eq!(
        d.server_side_encryption.as_ref().unwrap().headers().len(),
        2
    );
    assert!(
        d.no_overwrite && !d.if_none_match(),
        "POST relies on the unique {{uuid}} key"
    );
    assert_eq!(d.checksum.as_ref().unwrap().value(), sha);
    assert_eq!(d.bucket.as_str(), "uploads");

    i.method = Some(UploadMethod::Put);
    let d = p.decide_upload(&alice, &i, UUID, now(), None).unwrap();
    assert!(d.if_none_match());
    assert_eq!(d.expires.as_secs(), 300, "the profile default");
    let d = p
        .decide_upload(
            &alice,
            &i,
            UUID,
            now(),
            Some(Expiry::from_secs(30).unwrap()),
        )
        .unwrap();
    assert_eq!(d.expires.as_secs(), 30);

    let refused = |change: &dyn Fn(&mut UploadIntent)| {
        let mut bad = i.clone();
        change(&mut bad);
        p.decide_upload(&alice, &bad, UUID, now(), None)
            .unwrap_err()
            .code()
    };
    assert_eq!(
        refused(&|i| i.content_type = "image/png".into()),
        "content_type_not_allowed"
    );
    assert_eq!(
        refused(&|i| i.content_type = "text/plain\r\nx: y".into()),
        "invalid_content_type"
    );
    assert_eq!(refused(&|i| i.size = 0), "size_out_of_range");
    assert_eq!(refused(&|i| i.size = 1001), "size_out_of_range");
    assert_eq!(refused(&|i| i.checksum_sha256 = None), "checksum_required");
    assert_eq!(
        refused(&|i| i.checksum_sha256 = Some("abc".into())),
        "invalid_checksum"
    );
    assert_eq!(
        refused(&|i| i.checksum_crc32c = Some("yZRlqg==".into())),
        "invalid_checksum",
        "one x-amz-checksum per upload"
    );
    let md5 = "XUFAKrxLKna5cZ2REBfFkg==";
    let mut md5_only = i.clone();
    md5_only.checksum_sha256 = None;
    md5_only.content_md5 = Some(md5.into());
    let d = p
        .decide_upload(&alice, &md5_only, UUID, now(), None)
        .unwrap();
    assert_eq!(
        (d.checksum, d.content_md5.unwrap().as_str()),
        (None, md5),
        "Content-MD5 satisfies require_checksum"
    );
    md5_only.method = Some(UploadMethod::Post);
    let err = p
        .decide_upload(&alice, &md5_only, UUID, now(), None)
        .unwrap_err();
    assert_eq!(
        (err.code(), err.status()),
        ("checksum_not_supported", 400),
        "a POST policy cannot bind Content-MD5"
    );
    assert_eq!(
        refused(&|i| {
            i.metadata.insert("owner".into(), "x".into());
        }),
        "metadata_not_allowed"
    );
    assert_eq!(
        refused(&|i| {
            i.metadata.insert("title".into(), "a\nb".into());
        }),
        "invalid_metadata"
    );
    assert_eq!(refused(&|i| i.path = Some("x".into())), "path_not_allowed");

    let put_only = profile(FOLDERS);
    let mut post = intent("a.txt", None);
    post.method = Some(UploadMethod::Post);
    let err = put_only
        .decide_upload(&alice, &post, UUID, now(), None)
        .unwrap_err();
    assert_eq!(
        (err.code(), err.status()),
        ("upload_method_not_allowed", 400)
    );
}

#[test]
fn sse_c_profiles_bind_the_key_md5_and_never_the_key() {
    let p = profile(
        r#"
        key_template = "vault/{principal}/{uuid}/{filename}"
        content_types = ["text/plain"]
        max_size = "1 MiB"
        server_side_encryption = "SSE-C"
        "#,
    );
    let alice = user("alice");
    let md5 = "XUFAKrxLKna5cZ2REBfFkg==";
    let mut i = intent("secret.txt", None);
    let err = p.decide_upload(&alice, &i, UUID, now(), None).unwrap_err();
    assert_eq!(
        (err.code(), err.status()),
        ("sse_customer_key_required", 400)
    );
    i.sse_customer_key_md5 = Some("AAAA".into());
    assert_eq!(
        p.decide_upload(&alice, &i, UUID, now(), None)
            .unwrap_err()
            .code(),
        "invalid_sse_customer_key_md5"
    );
    i.sse_customer_key_md5 = Some(md5.into());
    let d = p.decide_upload(&alice, &i, UUID, now(), None).unwrap();
    assert!(d.client_supplies_key());
    assert_eq!(
        d.encryption_headers(),
        [
            (
                "x-amz-server-side-encryption-customer-algorithm",
                "AES256".to_owned()
            ),
            (
                "x-amz-server-side-encryption-customer-key-md5",
                md5.to_owned()
            ),
        ]
    );
    i.method = Some(UploadMethod::Post);
    let d = p.decide_upload(&alice, &i, UUID, now(), None).unwrap();
    assert_eq!(
        d.encryption_fields()[1],
        (
            "x-amz-server-side-encryption-customer-key-MD5",
            md5.to_owned()
        ),
        "form field names as S3 documents them"
    );

    let form = p
        .decide_form_upload(&alice, &FormIntent::default(), UUID, now(), None)
        .unwrap_err();
    assert_eq!(
        form.code(),
        "upload_method_not_allowed",
        "a form cannot add the key"
    );
    let multipart = p.check_multipart(&alice).unwrap_err();
    assert_eq!(multipart.code(), "upload_method_not_allowed");
    assert!(multipart.to_string().contains("SSE-C"), "{multipart}");

    let download = |md5: Option<&str>| {
        p.decide_download(
            &alice,
            &DownloadIntent {
                key: format!("vault/alice/{UUID}/secret.txt"),
                sse_customer_key_md5: md5.map(Into::into),
                ..DownloadIntent::default()
            },
            None,
        )
    };
    assert_eq!(
        download(None).unwrap_err().code(),
        "sse_customer_key_required"
    );
    assert_eq!(
        download(Some(md5)).unwrap().encryption_headers[1],
        (
            "x-amz-server-side-encryption-customer-key-md5",
            md5.to_owned()
        )
    );

    let plain = profile(FOLDERS);
    let mut i = intent("a.txt", Some("docs"));
    i.sse_customer_key_md5 = Some(md5.into());
    assert_eq!(
        plain
            .decide_upload(&alice, &i, UUID, now(), None)
            .unwrap_err()
            .code(),
        "sse_customer_key_not_allowed"
    );
    assert_eq!(
        Profile::from_toml(
            "t",
            "key_template = \"u/{principal}/{filename}\"\ncontent_types = [\"text/plain\"]\n\
             max_size = 1\nmethods = [\"PUT\"]\nserver_side_encryption = \"SSE-C\"\n\
             kms_key_id = \"k\"",
            Some(&bucket("uploads"))
        )
        .unwrap_err()
        .key
        .as_deref(),
        Some("server_side_encryption")
    );
}

#[test]
fn form_uploads_bind_a_fresh_prefix() {
    let registry = shipped();
    let alice = user("alice");
    let form = FormIntent {
        content_type: Some("application/pdf".into()),
        path: Some("docs".into()),
        ..FormIntent::default()
    };
    let d = registry
        .default_profile()
        .decide_form_upload(&alice, &form, UUID, now(), None)
        .unwrap();
    assert_eq!(d.key, FormKey::Prefix(format!("users/alice/docs/{UUID}/")));
    assert!(
        matches!(d.content_type, FormContentType::Exact(ref ct) if ct.essence() == "application/pdf")
    );
    assert_eq!((d.size.min, d.size.max), (0, 100 << 20));
    let err = registry
        .default_profile()
        .decide_form_upload(&alice, &FormIntent::default(), UUID, now(), None)
        .unwrap_err();
    assert_eq!(err.code(), "content_type_required");

    let avatars = profile(
        "key_template = \"avatars/{principal}/avatar\"\ncontent_types = [\"image/*\"]\nmax_size = 10\nallow_overwrite = true\n",
    );
    let d = avatars
        .decide_form_upload(&alice, &FormIntent::default(), UUID, now(), None)
        .unwrap();
    assert!(matches!(d.key, FormKey::Exact(ref k) if k.as_str() == "avatars/alice/avatar"));
    assert_eq!(d.content_type, FormContentType::Prefix("image/".into()));
}

#[test]
fn downloads_choose_a_safe_disposition() {
    let registry = shipped();
    let alice = user("alice");
    let ask = |key: &str, disposition, filename: Option<&str>| {
        registry.decide_download(
            &alice,
            None,
            &DownloadIntent {
                key: key.into(),
                disposition,
                filename: filename.map(Into::into),
                ..DownloadIntent::default()
            },
            Some(Expiry::from_secs(60).unwrap()),
        )
    };
    let d = ask("users/alice/x/r\u{e9}sum\u{e9}.pdf", None, None).unwrap();
    assert_eq!(d.disposition, Disposition::Attachment);
    assert_eq!(
        d.content_disposition,
        "attachment; filename=\"r_sum_.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf"
    );
    assert_eq!((d.profile.as_str(), d.expires.as_secs()), ("default", 60));
    let err = ask("users/alice/x/a.html", Some(Disposition::Inline), None).unwrap_err();
    assert_eq!(err.code(), "disposition_not_allowed");
    let err = ask("users/alice/x/a.html", None, Some("a\u{202E}lmth.exe")).unwrap_err();
    assert_eq!(err.code(), "invalid_filename");
    let d = ask("avatars/alice/avatar", None, Some("me.png")).unwrap();
    assert_eq!(
        d.content_disposition,
        "inline; filename=\"me.png\"; filename*=UTF-8''me.png"
    );
    // The avatars profile only stores raster images: inline, with the stored type.
    assert_eq!(d.response_content_type, None);
    let d = ask("avatars/alice/avatar", None, None).unwrap();
    assert_eq!(d.disposition, Disposition::Inline);
    assert_eq!(
        d.content_disposition,
        "inline; filename=\"avatar\"; filename*=UTF-8''avatar"
    );
    // Active content is an attachment of a neutral type, even where inline is the default.
    let d = ask(
        "avatars/alice/avatar",
        Some(Disposition::Inline),
        Some("me.svg"),
    )
    .unwrap();
    assert_eq!(d.disposition, Disposition::Attachment);
    assert_eq!(
        d.content_disposition,
        "attachment; filename=\"me.svg\"; filename*=UTF-8''me.svg"
    );
    assert_eq!(
        d.response_content_type.as_deref(),
        Some("application/octet-stream")
    );
    let d = ask("users/alice/x/a.html", None, Some("a.txt")).unwrap();
    assert_eq!(
        (d.disposition, d.response_content_type.as_deref()),
        (Disposition::Attachment, Some("application/octet-stream"))
    );
    // Plain attachments keep the stored type.
    let d = ask("users/alice/x/a.txt", None, None).unwrap();
    assert_eq!(d.response_content_type, None);
}

// ---------------------------------------------------------------- properties

/// Mostly well-formed names, plus arbitrary and hostile text.
fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-zA-Z0-9 ._~%#\u{e9}\u{301}\u{20ac}\u{1F600}-]{1,24}",
        1 => ".{0,40}",
        1 => "[a-z./\\\\ \u{202E}\u{200B}\u{0}-]{0,30}",
    ]
}

/// Folder paths: mostly well-formed, with `.`, `..`, empty and hostile segments mixed in.
fn any_path() -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        6 => "[a-zA-Z0-9_\u{e9}-]{1,12}",
        1 => prop_oneof![Just(".".to_owned()), Just("..".to_owned()), Just(String::new())],
        1 => any_text(),
    ];
    prop::collection::vec(segment, 1..6).prop_map(|parts| parts.join("/"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Whatever the client sends, an accepted key lies in the caller's namespace, and in no
    /// one else's.
    #[test]
    fn every_key_is_in_the_callers_namespace(
        subject in prop_oneof![Just("alice".to_owned()), ".{0,20}"],
        filename in any_text(),
        path in prop::option::of(any_path()),
        uuid in any::<u128>(),
    ) {
        let registry = shipped();
        let caller = user(&subject);
        let p = profile(FOLDERS);
        let intent = intent(&filename, path.as_deref());
        for profile in [&p, registry.default_profile()] {
            let Ok(d) = profile.decide_upload(&caller, &intent, Uuid::from_u128(uuid), now(), None) else {
                continue;
            };
            let key = d.key.as_str();
            let namespace = format!("users/{}/", caller.segment.as_str());
            prop_assert!(key.starts_with(&namespace), "{key}");
            prop_assert!(key.len() <= 1024);
            prop_assert!(key.split('/').all(|s| !s.is_empty() && s != "." && s != ".."), "{key}");
            prop_assert!(!key.contains('\\') && !key.chars().any(char::is_control));
            prop_assert!(registry.owns_key(&caller, key));
            for other in ["bob", "alice2", "alic", "users"] {
                if other != subject {
                    prop_assert!(!registry.owns_key(&user(other), key), "{other} owns {key}");
                }
            }
        }
    }

    /// Paths with `.`/`..`/empty segments or a backslash are always refused.
    #[test]
    fn traversal_is_always_refused(path in any_path()) {
        let bad = path.split('/').any(|s| s.is_empty() || s == "." || s == "..") || path.contains('\\');
        let result = upload_key(&profile(FOLDERS), &user("alice"), "f.txt", Some(&path));
        if bad {
            prop_assert_eq!(result, Err("invalid_path".to_owned()));
        }
    }

    /// A key alice owns always starts with her folder, for any key text.
    #[test]
    fn ownership_is_prefix_on_whole_segments(key in "(users/)?(alice2?|bob)?(/.{0,12}){0,3}") {
        let registry = shipped();
        if registry.owns_key(&user("alice"), &key) {
            prop_assert!(key.starts_with("users/alice/") || key.starts_with("avatars/alice/"), "{key}");
        }
    }
}
