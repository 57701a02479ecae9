//! The service's happy paths, end to end: a caller asks the broker (real HTTP) for a grant,
//! sends real bytes with it to the S3 server, gets them back with a download grant, and
//! browses its files and folders.

use crate::support::broker::{
    BRIEF_MAX_EXPIRY_SECS, Broker, DEFAULT_EXPIRY_SECS, DEFAULT_MAX_EXPIRY_SECS, Grant, Options,
};
use crate::support::{Ctx, FilePart};
use serde_json::{Value, json};
use std::collections::BTreeSet;

on_both_servers!(
    put_upload_then_download,
    post_form_upload_then_download,
    download_disposition_is_safe,
    download_of_a_missing_key_is_object_not_found,
    listing_shows_files_and_folders,
    listing_paginates_with_the_cursor,
);

with_shared_broker!(grant_lifetimes_are_capped_by_the_profile);

/// Uploads `body` with a PUT grant for `request` and returns the grant.
async fn put_file(broker: &Broker, token: &str, request: Value, body: &[u8]) -> Grant {
    let grant = broker
        .upload(token, request.clone())
        .await
        .grant(&format!("upload grant for {request}"));
    grant
        .put(body)
        .await
        .assert_ok(&format!("PUT with the grant for {request}"));
    grant
}

async fn put_upload_then_download(t: Ctx) {
    let broker = Broker::start(&t).await;
    let alice = broker.token("alice");
    let body = b"hello from alice\n".to_vec();
    let reply = broker
        .upload(
            &alice,
            json!({ "filename": "notes.txt", "content_type": "text/plain", "size": body.len() }),
        )
        .await;
    let grant = reply.grant("PUT grant");
    assert_eq!(grant.str("method"), "PUT");
    assert_eq!(grant.str("bucket"), t.bucket.as_str());
    assert!(grant.json.get("fields").is_none(), "{}", grant.json);
    let key = grant.key().to_owned();
    let parts: Vec<&str> = key.split('/').collect();
    assert!(
        matches!(parts[..], ["users", "alice", last]
            if last.len() == 36 + 1 + "notes.txt".len() && last.ends_with("-notes.txt")),
        "the key follows users/{{principal}}/{{path}}/{{uuid}}-{{filename}}: {key}"
    );
    assert_eq!(
        grant.lifetime_secs(),
        DEFAULT_EXPIRY_SECS,
        "the profile's default lifetime"
    );
    let headers: Vec<(String, String)> = grant.put_headers();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(header("content-type"), Some("text/plain"), "{headers:?}");
    assert_eq!(
        header("if-none-match"),
        Some("*"),
        "no overwrite: {headers:?}"
    );
    assert_eq!(
        grant.json["headers"]["content-length"],
        body.len().to_string(),
        "the size is signed"
    );

    grant.put(&body).await.assert_ok("PUT with the grant");
    let stored = t.stored(&key).await;
    assert_eq!(stored.bytes, body);
    assert_eq!(stored.content_type.as_deref(), Some("text/plain"));

    let download = broker.download(&alice, &key).await.grant("download grant");
    assert_eq!(download.str("method"), "GET");
    assert_eq!(download.key(), key);
    assert_eq!(download.lifetime_secs(), DEFAULT_EXPIRY_SECS);
    let reply = download.get().await;
    reply.assert_ok("GET with the download grant");
    assert_eq!(reply.body, body, "the downloaded bytes");
    let disposition = reply.header("content-disposition").unwrap_or_default();
    assert!(
        disposition.starts_with("attachment") && disposition.contains("filename=\"notes.txt\""),
        "downloads are attachments named after the file, without the key's uuid: {disposition:?}"
    );
    t.assert_keys(&[&key], "after one upload").await;
}

async fn post_form_upload_then_download(t: Ctx) {
    let broker = Broker::start(&t).await;
    let alice = broker.token("alice");
    let png = b"\x89PNG\r\n\x1a\n not really a picture".to_vec();
    let grant = broker
        .upload(
            &alice,
            json!({
                "filename": "photo.png",
                "content_type": "image/png",
                "size": png.len(),
                "path": "holiday/2024",
                "method": "POST",
                "metadata": { "title": "Beach" },
            }),
        )
        .await
        .grant("POST grant");
    assert_eq!(grant.str("method"), "POST");
    assert_eq!(grant.str("bucket"), t.bucket.as_str());
    assert!(grant.json.get("headers").is_none(), "{}", grant.json);
    let key = grant.key().to_owned();
    assert!(
        key.starts_with("users/alice/holiday/2024/") && key.ends_with("-photo.png"),
        "{key}"
    );
    let fields = grant.fields();
    let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
    for required in ["key", "policy", "x-amz-signature", "x-amz-credential"] {
        assert!(names.contains(&required), "{required} in {names:?}");
    }
    assert!(
        !names.contains(&"file"),
        "the file is the client's last field"
    );

    let file = FilePart {
        file_name: "photo.png".into(),
        content_type: "image/png".into(),
        bytes: png.clone(),
    };
    grant
        .post(&file)
        .await
        .assert_ok("form POST with the grant");
    let stored = t.stored(&key).await;
    assert_eq!(stored.bytes, png);
    assert_eq!(stored.content_type.as_deref(), Some("image/png"));
    assert_eq!(
        stored.metadata.get("title").map(String::as_str),
        Some("Beach")
    );

    let reply = broker
        .download(&alice, &key)
        .await
        .grant("download grant")
        .get()
        .await;
    reply.assert_ok("GET with the download grant");
    assert_eq!(reply.body, png);
    t.assert_keys(&[&key], "after one form upload").await;
}

async fn download_disposition_is_safe(t: Ctx) {
    let broker = Broker::start(&t).await;
    let alice = broker.token("alice");
    let tricky = put_file(
        &broker,
        &alice,
        json!({ "filename": "a b\"c.txt", "content_type": "text/plain", "size": 1 }),
        b"x",
    )
    .await;
    let download = |body: Value| {
        let broker = &broker;
        let alice = &alice;
        async move {
            broker
                .call("POST", "/v1/downloads")
                .bearer(alice)
                .json(&body)
                .send()
                .await
        }
    };
    let key = tricky.key();
    for (request, expected) in [
        (
            json!({ "key": key }),
            "attachment; filename=\"a b_c.txt\"; filename*=UTF-8''a%20b%22c.txt",
        ),
        (
            json!({ "key": key, "filename": "evil\"; filename=x.html" }),
            "attachment; filename=\"evil_; filename=x.html\"; \
             filename*=UTF-8''evil%22%3B%20filename%3Dx.html",
        ),
        (
            json!({ "key": key, "filename": "été.pdf", "disposition": "attachment" }),
            "attachment; filename=\"_t_.pdf\"; filename*=UTF-8''%C3%A9t%C3%A9.pdf",
        ),
    ] {
        let reply = download(request.clone())
            .await
            .grant(&format!("{request}"))
            .get()
            .await;
        reply.assert_ok(&format!("GET for {request}"));
        assert_eq!(
            reply.header("content-disposition"),
            Some(expected),
            "{request}"
        );
    }
    // Active content: an attachment whose type S3 replaces by a neutral one (signed).
    let reply = download(json!({ "key": key, "filename": "page.html" }))
        .await
        .grant("download as page.html")
        .get()
        .await;
    reply.assert_ok("GET as page.html");
    assert_eq!(
        reply.header("content-disposition"),
        Some("attachment; filename=\"page.html\"; filename*=UTF-8''page.html")
    );
    assert_eq!(
        reply.header("content-type"),
        Some("application/octet-stream")
    );
    for (request, code) in [
        (
            json!({ "key": key, "disposition": "inline" }),
            "disposition_not_allowed",
        ),
        (
            json!({ "key": key, "filename": "a\r\nSet-Cookie: x=y" }),
            "invalid_filename",
        ),
    ] {
        download(request.clone())
            .await
            .problem(400, code, &format!("{request}"));
    }
    // The avatars profile shows its pictures inline.
    let avatar = put_file(
        &broker,
        &alice,
        json!({ "profile": "avatars", "filename": "me.png", "content_type": "image/png", "size": 3 }),
        b"png",
    )
    .await;
    let reply = broker
        .download(&alice, avatar.key())
        .await
        .grant("avatar download")
        .get()
        .await;
    reply.assert_ok("GET of the avatar");
    let disposition = reply.header("content-disposition").unwrap_or_default();
    assert!(disposition.starts_with("inline"), "{disposition:?}");
}

/// A download grant is only given for a key that holds an object: the broker asks S3 first.
async fn download_of_a_missing_key_is_object_not_found(t: Ctx) {
    let broker = Broker::start_with(
        t.bed,
        t.bucket.as_str(),
        Options {
            extra_profiles: vec![("unchecked", UNCHECKED_PROFILE)],
            ..Options::default()
        },
    )
    .await;
    let alice = broker.token("alice");
    let file = put_file(
        &broker,
        &alice,
        json!({ "filename": "kept.txt", "content_type": "text/plain", "size": 4 }),
        b"kept",
    )
    .await;
    // The same folder and name, another uuid: no such object.
    let missing = file.key().replace("-kept.txt", "-gone.txt");
    broker.download(&alice, &missing).await.problem(
        404,
        "object_not_found",
        "a download of a key never uploaded",
    );
    // A key that is a prefix of an existing one is not that object either.
    let shorter = file.key().trim_end_matches(".txt").to_owned();
    broker.download(&alice, &shorter).await.problem(
        404,
        "object_not_found",
        "a key that only starts an existing one",
    );
    let reply = broker
        .download(&alice, file.key())
        .await
        .grant("the uploaded key")
        .get()
        .await;
    reply.assert_ok("GET of the uploaded key");
    assert_eq!(reply.body, b"kept");
    // A profile that turns the check off signs without asking; S3 then answers the GET.
    let missing = format!(
        "loose/alice/{}",
        missing.rsplit('/').next().unwrap_or_default()
    );
    let grant = broker
        .download(&alice, &missing)
        .await
        .grant("a download the profile does not check");
    let reply = grant.get().await;
    assert_eq!(
        reply.status, 404,
        "S3's own answer to a missing key: {reply:?}"
    );
}

/// A profile whose download grants are signed without asking S3.
const UNCHECKED_PROFILE: &str = r#"
key_template = "loose/{principal}/{uuid}-{filename}"
content_types = ["text/plain"]
max_size = "1 MiB"
download_existence_check = false
"#;

/// Every file and folder under `prefix`, following cursors: (file names, folder names).
async fn list_all(broker: &Broker, token: &str, prefix: &str) -> (Vec<Value>, Vec<Value>) {
    let (mut files, mut folders) = (Vec::new(), Vec::new());
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let reply = broker.list(token, Some(prefix), cursor.as_deref()).await;
        reply.assert_status(200, "listing");
        assert_eq!(reply.header("cache-control"), Some("no-store"));
        let page = reply.json();
        assert_eq!(page["prefix"], prefix, "{page}");
        files.extend(page["files"].as_array().expect("files").iter().cloned());
        folders.extend(page["folders"].as_array().expect("folders").iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return (files, folders),
        }
    }
    panic!("the listing of {prefix} never ends");
}

fn names(entries: &[Value]) -> BTreeSet<String> {
    entries
        .iter()
        .map(|e| e["name"].as_str().expect("a name").to_owned())
        .collect()
}

async fn listing_shows_files_and_folders(t: Ctx) {
    let broker = Broker::start(&t).await;
    let (alice, bob) = (broker.token("alice"), broker.token("bob"));
    let file = |filename: &str, path: Option<&str>| {
        let mut request = json!({ "filename": filename, "content_type": "text/plain", "size": 3 });
        if let Some(path) = path {
            request["path"] = path.into();
        }
        request
    };
    let deep = put_file(&broker, &alice, file("x.txt", Some("a/b")), b"xxx").await;
    let middle = put_file(&broker, &alice, file("y.txt", Some("a")), b"yyy").await;
    let top = put_file(&broker, &alice, file("z.txt", None), b"zzz").await;
    let again = put_file(&broker, &alice, file("z.txt", None), b"ZZZ").await;
    put_file(&broker, &bob, file("b.txt", Some("a")), b"bbb").await;
    assert_ne!(
        top.key(),
        again.key(),
        "a second z.txt gets a key of its own"
    );

    // The root: the files uploaded there by name, and only the folder alice made.
    let root = broker.list(&alice, None, None).await;
    root.assert_status(200, "listing the namespace root");
    let root = root.json();
    assert_eq!(root["namespace"], "users/alice/");
    assert_eq!(root["prefix"], "users/alice/");
    assert!(root.get("next_cursor").is_none(), "{root}");
    let files = root["files"].as_array().unwrap();
    assert_eq!(files.len(), 2, "{root}");
    for file in files {
        assert_eq!(file["name"], "z.txt", "{root}");
        assert_eq!(file["content_type"], "text/plain", "{root}");
        assert_eq!(file["size"], 3, "{root}");
        assert!(file["last_modified"].is_string(), "{root}");
    }
    let keys: BTreeSet<&str> = files.iter().map(|f| f["key"].as_str().unwrap()).collect();
    assert_eq!(keys, BTreeSet::from([top.key(), again.key()]), "{root}");
    let folders = root["folders"].as_array().unwrap();
    assert_eq!(names(folders), BTreeSet::from(["a".to_owned()]), "{root}");
    assert_eq!(folders[0]["prefix"], "users/alice/a/", "{root}");

    let (files, folders) = list_all(&broker, &alice, "users/alice/a/").await;
    assert_eq!(names(&files), BTreeSet::from(["y.txt".to_owned()]));
    assert_eq!(files[0]["key"], middle.key());
    assert_eq!(names(&folders), BTreeSet::from(["b".to_owned()]));

    let (files, folders) = list_all(&broker, &alice, "users/alice/a/b/").await;
    assert!(folders.is_empty(), "{folders:?}");
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0]["key"], deep.key());
    assert_eq!(files[0]["name"], "x.txt");
    assert_eq!(files[0]["size"], 3);
    // The listed key downloads the listed file.
    let download = broker.download(&alice, deep.key()).await.grant("download");
    let reply = download.get().await;
    reply.assert_ok("GET of the listed file");
    assert_eq!(reply.body, b"xxx");

    let (files, _) = list_all(&broker, &bob, "users/bob/a/").await;
    assert_eq!(names(&files), BTreeSet::from(["b.txt".to_owned()]));
    let bob_root = broker.list(&bob, None, None).await.json();
    assert_eq!(
        names(bob_root["folders"].as_array().unwrap()),
        BTreeSet::from(["a".to_owned()]),
        "bob sees his folders only: {bob_root}"
    );
    assert!(
        bob_root["files"].as_array().unwrap().is_empty(),
        "{bob_root}"
    );
}

async fn listing_paginates_with_the_cursor(t: Ctx) {
    const FILES: usize = 205;
    let broker = Broker::start(&t).await;
    let alice = broker.token("alice");
    let mut puts = tokio::task::JoinSet::new();
    let expected: BTreeSet<String> = (0..FILES).map(|i| format!("f{i:03}.txt")).collect();
    let keys: Vec<String> = expected
        .iter()
        .map(|n| format!("users/alice/many/{n}"))
        .chain(["users/alice/many/sub/g.txt".to_owned()])
        .chain(["users/alice/many/sub2/h.txt".to_owned()])
        .collect();
    for key in keys {
        let (s3, bucket) = (t.bed.s3.clone(), t.bucket.as_str().to_owned());
        puts.spawn(async move {
            s3.put_object()
                .bucket(bucket)
                .key(&key)
                .body(b"p".to_vec().into())
                .send()
                .await
                .unwrap_or_else(|e| panic!("PutObject {key}: {e:?}"));
        });
    }
    while let Some(done) = puts.join_next().await {
        done.expect("a PutObject task");
    }

    let prefix = "users/alice/many/";
    let first = broker.list(&alice, Some(prefix), None).await;
    first.assert_status(200, "first page");
    let first = first.json();
    let on_page = |page: &Value| {
        page["files"].as_array().unwrap().len() + page["folders"].as_array().unwrap().len()
    };
    assert_eq!(on_page(&first), 200, "a full first page");
    let cursor = first["next_cursor"]
        .as_str()
        .unwrap_or_else(|| panic!("more files than a page, but no next_cursor"));
    assert!(!cursor.is_empty());

    let (files, folders) = list_all(&broker, &alice, prefix).await;
    let listed: Vec<String> = files
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed.len(), FILES, "each file exactly once");
    let listed: BTreeSet<String> = listed.into_iter().collect();
    assert_eq!(listed, expected);
    assert_eq!(
        names(&folders),
        BTreeSet::from(["sub".to_owned(), "sub2".to_owned()])
    );
    for file in &files {
        assert_eq!(
            file["key"].as_str().unwrap(),
            format!("{prefix}{}", file["name"].as_str().unwrap())
        );
    }
}

async fn grant_lifetimes_are_capped_by_the_profile(broker: &'static Broker) {
    let alice = broker.token("alice-lifetimes");
    let upload = |expires_in: Option<u64>, profile: &str, method: &str| {
        let mut request = json!({
            "profile": profile,
            "filename": "a.png",
            "content_type": "image/png",
            "size": 10,
            "method": method,
        });
        if let Some(secs) = expires_in {
            request["expires_in"] = secs.into();
        }
        request
    };
    let brief = |expires_in: Option<u64>, method: &str| {
        let mut request = upload(expires_in, "brief", method);
        request["content_type"] = "text/plain".into();
        request
    };
    let max = DEFAULT_MAX_EXPIRY_SECS;
    for (request, lifetime) in [
        (upload(None, "default", "PUT"), DEFAULT_EXPIRY_SECS),
        (upload(None, "default", "POST"), DEFAULT_EXPIRY_SECS),
        (upload(Some(60), "default", "PUT"), 60),
        (upload(Some(60), "default", "POST"), 60),
        (upload(Some(7200), "default", "PUT"), max),
        (upload(Some(604_800), "default", "POST"), max),
        (upload(Some(7200), "avatars", "PUT"), 600),
        (brief(Some(3600), "PUT"), BRIEF_MAX_EXPIRY_SECS),
        (brief(Some(3600), "POST"), BRIEF_MAX_EXPIRY_SECS),
    ] {
        let grant = broker
            .upload(&alice, request.clone())
            .await
            .grant(&format!("{request}"));
        assert_eq!(grant.lifetime_secs(), lifetime, "lifetime of {request}");
        if grant.str("method") == "PUT" {
            let expires: i64 = url_param(grant.url(), "X-Amz-Expires").parse().unwrap();
            assert_eq!(expires, lifetime, "X-Amz-Expires of {request}");
        }
    }
    let stored = put_file(
        broker,
        &alice,
        json!({ "filename": "a.txt", "content_type": "text/plain", "size": 1 }),
        b"a",
    )
    .await;
    for (expires_in, lifetime) in [
        (None, DEFAULT_EXPIRY_SECS),
        (Some(30), 30),
        (Some(9999), max),
    ] {
        let mut request = json!({ "key": stored.key() });
        if let Some(secs) = expires_in {
            request["expires_in"] = secs.into();
        }
        let grant = broker
            .call("POST", "/v1/downloads")
            .bearer(&alice)
            .json(&request)
            .send()
            .await
            .grant(&format!("download {request}"));
        assert_eq!(grant.lifetime_secs(), lifetime, "lifetime of {request}");
    }
}

/// A query parameter of a URL, decoded.
fn url_param(url: &str, name: &str) -> String {
    url::Url::parse(url)
        .expect("a URL")
        .query_pairs()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no {name} in {url}"))
}
