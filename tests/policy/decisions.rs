//! Decisions: what an upload, an SSE-C upload, a form upload and a download bind.

use s3_broker::domain::Expiry;
use s3_broker::policy::{
    Disposition, DownloadIntent, FormContentType, FormIntent, FormKey, Profile, UploadIntent,
    UploadMethod,
};
use std::collections::BTreeMap;

use crate::support::*;

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
        .decide_upload(&alice, &i, Backend::Aws, UUID, now(), Some(Expiry::MAX))
        .unwrap();
    assert_eq!(
        d.key.as_str(),
        format!("files/alice/2025/01/31/{UUID}/notes.txt")
    );
    assert_eq!(d.method, UploadMethod::Post);
    assert_eq!(d.content_type.as_str(), "Text/Plain; charset=utf-8");
    assert_eq!((d.size, d.content_length_range()), (5, (5, 5)));
    assert_eq!(cut(&d.lifetime), 600, "min(requested, profile max)");
    assert_eq!(d.metadata[0].0.header_name(), "x-amz-meta-title");
    assert_eq!(
        d.server_side_encryption.as_ref().unwrap().headers().len(),
        2
    );
    assert!(!d.if_none_match, "POST relies on the unique {{uuid}} key");
    assert_eq!(d.checksum.as_ref().unwrap().value(), sha);
    assert_eq!(d.bucket.as_str(), "uploads");

    i.method = Some(UploadMethod::Put);
    let d = p
        .decide_upload(&alice, &i, Backend::Aws, UUID, now(), None)
        .unwrap();
    assert!(d.if_none_match);
    assert_eq!(cut(&d.lifetime), 300, "the profile default");
    let d = p
        .decide_upload(
            &alice,
            &i,
            Backend::Aws,
            UUID,
            now(),
            Some(Expiry::from_secs(30).unwrap()),
        )
        .unwrap();
    assert_eq!(cut(&d.lifetime), 30);

    let refused = |change: &dyn Fn(&mut UploadIntent)| {
        let mut bad = i.clone();
        change(&mut bad);
        p.decide_upload(&alice, &bad, Backend::Aws, UUID, now(), None)
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
        .decide_upload(&alice, &md5_only, Backend::Aws, UUID, now(), None)
        .unwrap();
    assert_eq!(
        (d.checksum, d.content_md5.unwrap().as_str()),
        (None, md5),
        "Content-MD5 satisfies require_checksum"
    );
    md5_only.method = Some(UploadMethod::Post);
    let err = p
        .decide_upload(&alice, &md5_only, Backend::Aws, UUID, now(), None)
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
        .decide_upload(&alice, &post, Backend::Aws, UUID, now(), None)
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
    let err = p
        .decide_upload(&alice, &i, Backend::Aws, UUID, now(), None)
        .unwrap_err();
    assert_eq!(
        (err.code(), err.status()),
        ("sse_customer_key_required", 400)
    );
    i.sse_customer_key_md5 = Some("AAAA".into());
    assert_eq!(
        p.decide_upload(&alice, &i, Backend::Aws, UUID, now(), None)
            .unwrap_err()
            .code(),
        "invalid_sse_customer_key_md5"
    );
    i.sse_customer_key_md5 = Some(md5.into());
    let d = p
        .decide_upload(&alice, &i, Backend::Aws, UUID, now(), None)
        .unwrap();
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
    let d = p
        .decide_upload(&alice, &i, Backend::Aws, UUID, now(), None)
        .unwrap();
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
            .decide_upload(&alice, &i, Backend::Aws, UUID, now(), None)
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
    assert_eq!(d.key, FormKey::Prefix(format!("users/alice/docs/{UUID}-")));
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
    assert_eq!((d.profile.as_str(), cut(&d.lifetime)), ("default", 60));
    let err = ask("users/alice/x/a.html", Some(Disposition::Inline), None).unwrap_err();
    assert_eq!(err.code(), "disposition_not_allowed");
    let err = ask("users/alice/x/a.html", None, Some("a\u{202E}lmth.exe")).unwrap_err();
    assert_eq!(err.code(), "invalid_filename");
    let d = ask("avatars/alice/avatar", None, Some("me.png")).unwrap();
    assert_eq!(
        d.content_disposition,
        "inline; filename=\"me.png\"; filename*=UTF-8''me.png"
    );
    // A passive name pins the served type: no stored type is needed.
    assert_eq!(d.response_content_type.as_deref(), Some("image/png"));
    assert!(!d.needs_stored_type);
    // A name without a passive extension: inline only once the stored type is known passive.
    let d = ask("avatars/alice/avatar", None, None).unwrap();
    assert_eq!(d.disposition, Disposition::Inline);
    assert!(d.needs_stored_type);
    assert_eq!(
        d.content_disposition,
        "inline; filename=\"avatar\"; filename*=UTF-8''avatar"
    );
    let stored_html = d.clone().with_stored_type(Some("text/html"));
    assert_eq!(stored_html.disposition, Disposition::Attachment);
    assert_eq!(
        stored_html.response_content_type.as_deref(),
        Some("application/octet-stream")
    );
    let stored_png = d.with_stored_type(Some("image/png"));
    assert_eq!(stored_png.disposition, Disposition::Inline);
    assert_eq!(
        stored_png.response_content_type.as_deref(),
        Some("image/png")
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

#[test]
fn a_decision_that_takes_the_intents_texts_is_the_same_decision() {
    let p = profile(
        r#"
        key_template = "files/{principal}/{uuid}/{filename}"
        content_types = ["text/*"]
        max_size = 1000
        "#,
    );
    let alice = user("alice");
    for (filename, content_type) in [
        ("notes.txt", "text/plain"),
        ("Cafe\u{301}.txt", " Text/Plain; charset=utf-8 "),
        ("a/b.txt", "text/plain"),
        ("notes.txt", "image/png"),
        ("notes.txt", "text/plain\u{a0}"),
    ] {
        let intent = UploadIntent {
            filename: filename.into(),
            content_type: content_type.into(),
            size: 5,
            ..UploadIntent::default()
        };
        let mut taken = intent.clone();
        assert_eq!(
            p.decide_upload_taking(&alice, &mut taken, Backend::Aws, UUID, now(), None),
            p.decide_upload(&alice, &intent, Backend::Aws, UUID, now(), None),
            "{filename:?} {content_type:?}"
        );
    }
}
