//! `POST /v1/forms`: forms rendered before the file is chosen. The key field ends with S3's
//! `${filename}` under a fresh prefix of the caller's, size and type are policy ranges, and
//! an optional redirect (of a configured origin) and `success_action_status` are signed.

use crate::support::broker::{Broker, Options, PAGE_ORIGIN};
use crate::support::http::post_fields;
use crate::support::{Ctx, FilePart};
use serde_json::{Value, json};
use std::time::Duration;

on_both_servers!(
    a_redirect_lands_with_bucket_key_and_etag,
    the_filename_key_lands_under_the_prefix_within_the_ranges,
);

with_shared_broker!(redirects_to_other_origins_are_refused);

/// A profile for pictures of 1 to 64 bytes, POST only: its forms bind `image/` as a prefix.
const PICTURES: &str = r#"
key_template = "pictures/{principal}/{uuid}/{filename}"
content_types = ["image/*"]
min_size = 1
max_size = 64
methods = ["POST"]
"#;

fn file(name: &str, bytes: &[u8]) -> FilePart {
    FilePart {
        file_name: name.into(),
        content_type: "application/octet-stream".into(),
        bytes: bytes.to_vec(),
    }
}

/// The grant's fields in order.
fn fields(grant: &Value) -> Vec<(String, String)> {
    grant["fields"]
        .as_object()
        .expect("fields")
        .iter()
        .map(|(n, v)| (n.clone(), v.as_str().expect("a text field").to_owned()))
        .collect()
}

fn set(fields: &mut [(String, String)], name: &str, value: &str) {
    let field = fields
        .iter_mut()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no field {name}"));
    field.1 = value.to_owned();
}

async fn a_redirect_lands_with_bucket_key_and_etag(t: Ctx) {
    let broker = Broker::start(&t).await;
    let alice = broker.token("alice");
    let redirect = format!("{PAGE_ORIGIN}/done");
    let grant = broker
        .form(
            &alice,
            json!({ "content_type": "text/plain", "redirect": redirect }),
        )
        .await
        .grant("form grant with a redirect");
    let json = &grant.json;
    assert_eq!(json["method"], "POST");
    let prefix = json["key_prefix"].as_str().expect("key_prefix").to_owned();
    assert!(
        prefix.starts_with("users/alice/") && prefix.ends_with('-'),
        "{prefix}"
    );
    let fields = fields(json);
    assert!(
        fields.contains(&("key".to_owned(), format!("{prefix}${{filename}}"))),
        "{fields:?}"
    );
    assert!(
        fields.contains(&("success_action_redirect".to_owned(), redirect.clone())),
        "{fields:?}"
    );

    // As a browser would, but without following the redirect.
    let body = b"sent by a plain form\n";
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("a client");
    let mut form = reqwest::multipart::Form::new();
    for (name, value) in &fields {
        form = form.text(name.clone(), value.clone());
    }
    let part = reqwest::multipart::Part::bytes(body.to_vec())
        .file_name("notes.txt")
        .mime_str("text/plain")
        .expect("a part");
    form = form.part("file", part);
    let url = json["url"].as_str().expect("url");
    let reply = client
        .post(url)
        .multipart(form)
        .send()
        .await
        .expect("an answer");
    let status = reply.status().as_u16();
    let location = reply
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let text = reply.text().await.unwrap_or_default();
    assert!(
        matches!(status, 301 | 302 | 303 | 307),
        "a redirect, got {status}: {text}"
    );
    let location = url::Url::parse(&location.expect("a Location")).expect("an URL");
    assert!(
        location
            .as_str()
            .starts_with(&format!("{PAGE_ORIGIN}/done?")),
        "{location}"
    );
    let query: Vec<(String, String)> = location.query_pairs().into_owned().collect();
    let get = |name: &str| {
        query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no {name} in {location}"))
    };
    let key = format!("{prefix}notes.txt");
    assert_eq!(get("bucket"), t.bucket.as_str());
    assert_eq!(get("key"), key);
    let etag = get("etag");
    let stored = t.stored(&key).await;
    assert_eq!(stored.bytes, body);
    let head = t
        .bed
        .s3
        .head_object()
        .bucket(t.bucket.as_str())
        .key(&key)
        .send()
        .await
        .expect("HeadObject");
    assert_eq!(
        etag.trim_matches('"'),
        head.e_tag().unwrap_or_default().trim_matches('"'),
        "the redirect names the stored object's ETag"
    );
    t.assert_keys(&[&key], "one form upload").await;
}

async fn the_filename_key_lands_under_the_prefix_within_the_ranges(t: Ctx) {
    let broker = Broker::start_with(
        t.bed,
        t.bucket.as_str(),
        Options {
            extra_profiles: vec![("pictures", PICTURES)],
            ..Options::default()
        },
    )
    .await;
    let alice = broker.token("alice");
    let grant = broker
        .form(
            &alice,
            json!({ "profile": "pictures", "success_action_status": 201 }),
        )
        .await
        .grant("form grant before the file is chosen");
    let json = &grant.json;
    assert_eq!(json["content_type"], "image/");
    assert_eq!(json["content_type_is_prefix"], true);
    assert_eq!(
        (json["min_size"].as_u64(), json["max_size"].as_u64()),
        (Some(1), Some(64))
    );
    let prefix = json["key_prefix"].as_str().expect("key_prefix").to_owned();
    let url = json["url"].as_str().expect("url");
    let honest = {
        let mut f = fields(json);
        set(&mut f, "Content-Type", "image/png");
        f
    };

    // Refused by S3, nothing stored: a type outside the prefix, a file over the range, a key
    // outside the prefix.
    let mut other_type = honest.clone();
    set(&mut other_type, "Content-Type", "text/html");
    post_fields(url, &other_type, &file("a.png", b"png"))
        .await
        .assert_rejected("a type outside image/");
    post_fields(url, &honest, &file("big.png", &[7; 65]))
        .await
        .assert_rejected("65 bytes over a range of 1..64");
    let mut elsewhere = honest.clone();
    set(&mut elsewhere, "key", "users/bob/${filename}");
    post_fields(url, &elsewhere, &file("a.png", b"png"))
        .await
        .assert_rejected("a key outside the prefix");
    t.assert_keys(&[], "after the refused forms").await;

    let bytes = b"\x89PNG tiny";
    let reply = post_fields(url, &honest, &file("my photo.png", bytes)).await;
    reply.assert_ok("the honest form");
    assert_eq!(reply.status, 201, "success_action_status: {}", reply.text());
    let key = format!("{prefix}my photo.png");
    let stored = t.stored(&key).await;
    assert_eq!(stored.bytes, bytes);
    assert_eq!(stored.content_type.as_deref(), Some("image/png"));
    t.assert_keys(&[&key], "the file under its own name").await;
}

async fn redirects_to_other_origins_are_refused(broker: &'static Broker) {
    let alice = broker.token("alice");
    for redirect in [
        "https://evil.example/done",
        "http://app.example/done",
        "/done",
        "https://app.example/#x",
        "https://app.example/done?from=form",
    ] {
        broker
            .form(
                &alice,
                json!({ "content_type": "text/plain", "redirect": redirect }),
            )
            .await
            .problem(400, "redirect_not_allowed", redirect);
    }
    broker
        .form(
            &alice,
            json!({ "content_type": "text/plain", "success_action_status": 302 }),
        )
        .await
        .problem(400, "invalid_field", "a status S3 does not know");
    broker.form(&alice, json!({})).await.problem(
        400,
        "content_type_required",
        "the default profile accepts several types",
    );
}
