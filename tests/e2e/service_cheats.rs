//! A client that got a grant from the broker cannot stretch it: S3 itself refuses another
//! size, another content type, another key, an expired grant or a tampered signature, and
//! stores nothing. Every test first uses an honest grant of the same kind, so a refusal proves
//! the binding and not a broken setup.

use crate::support::broker::{BRIEF_MAX_EXPIRY_SECS, Broker, text_upload};
use crate::support::tamper::{conditions, flip_signature, rewrite_policy, tamper_url_signature};
use crate::support::{Ctx, FilePart, post_fields, send_raw, set_field};
use serde_json::{Value, json};

on_both_servers!(
    put_grant_binds_the_size,
    put_grant_binds_the_content_type,
    put_grant_binds_the_key_and_bucket,
    put_grant_signature_cannot_be_tampered,
    post_grant_binds_size_type_and_key,
    post_grant_signature_and_policy_cannot_be_tampered,
    download_grant_binds_key_and_disposition,
    expired_grants_are_refused,
);

fn text_file(filename: &str, size: usize) -> Value {
    text_upload(filename, size, json!({}))
}

fn form_file(filename: &str, size: usize) -> Value {
    let mut request = text_file(filename, size);
    request["method"] = "POST".into();
    request
}

async fn put_grant_binds_the_size(t: Ctx) {
    let broker = Broker::start(&t).await;
    let alice = broker.token("alice");
    let honest = broker.upload_grant(&alice, text_file("good.txt", 10)).await;
    honest
        .put(&[b'a'; 10])
        .await
        .assert_ok("PUT of the granted size");
    for len in [11, 9, 0, 1000] {
        let cheat = broker.upload_grant(&alice, text_file("evil.txt", 10)).await;
        cheat
            .put(&vec![b'a'; len])
            .await
            .assert_rejected(&format!("PUT of {len} bytes with a grant for 10"));
    }
    t.assert_keys(&[honest.key()], "after the refused PUTs")
        .await;
}

/// `headers` with `content-type` replaced.
fn with_content_type(headers: &[(String, String)], value: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = headers
        .iter()
        .filter(|(n, _)| !n.eq_ignore_ascii_case("content-type"))
        .cloned()
        .collect();
    out.push(("content-type".into(), value.into()));
    out
}

async fn put_grant_binds_the_content_type(t: Ctx) {
    let broker = Broker::start(&t).await;
    let alice = broker.token("alice");
    let honest = broker.upload_grant(&alice, text_file("good.txt", 4)).await;
    honest
        .put(b"good")
        .await
        .assert_ok("PUT with the granted type");
    for other in ["text/html", "image/svg+xml", "text/plain; charset=utf-8"] {
        let cheat = broker.upload_grant(&alice, text_file("evil.txt", 4)).await;
        let headers = with_content_type(&cheat.put_headers(), other);
        send_raw("PUT", cheat.url(), &headers, Some(b"evil".to_vec()))
            .await
            .assert_rejected(&format!("PUT as {other} with a grant for text/plain"));
    }
    t.assert_keys(&[honest.key()], "after the refused PUTs")
        .await;
}

async fn put_grant_binds_the_key_and_bucket(t: Ctx) {
    let broker = Broker::start(&t).await;
    let other_bucket = t.extra_bucket("other").await;
    let alice = broker.token("alice");
    let honest = broker.upload_grant(&alice, text_file("good.txt", 4)).await;
    honest
        .put(b"good")
        .await
        .assert_ok("PUT to the granted key");

    let cheat = broker.upload_grant(&alice, text_file("mine.txt", 4)).await;
    let url = cheat.url();
    let bucket_path = format!("/{}/", t.bucket.as_str());
    let retargeted = [
        (url.replacen("-mine.txt?", "-evil.txt?", 1), "another name"),
        (
            url.replacen("/users/alice/", "/users/bob/", 1),
            "bob's namespace",
        ),
        (
            url.replacen("/users/alice/", "/users/alice2/", 1),
            "alice2's namespace",
        ),
        (
            url.replacen(&bucket_path, &format!("/{}/", other_bucket.as_str()), 1),
            "another bucket",
        ),
    ];
    for (target, what) in retargeted {
        assert_ne!(target, url, "the URL was changed for {what}");
        send_raw("PUT", &target, &cheat.put_headers(), Some(b"evil".to_vec()))
            .await
            .assert_rejected(&format!("PUT URL moved to {what}"));
    }
    t.assert_keys(&[honest.key()], "after the refused PUTs")
        .await;
    assert_eq!(
        t.keys_of(other_bucket.as_str()).await,
        Vec::<String>::new(),
        "nothing in the other bucket"
    );
}

async fn put_grant_signature_cannot_be_tampered(t: Ctx) {
    let broker = Broker::start(&t).await;
    let alice = broker.token("alice");
    let honest = broker.upload_grant(&alice, text_file("good.txt", 4)).await;
    honest.put(b"good").await.assert_ok("PUT as granted");
    let cheat = broker.upload_grant(&alice, text_file("evil.txt", 4)).await;
    let tampered = tamper_url_signature(cheat.url());
    send_raw(
        "PUT",
        &tampered,
        &cheat.put_headers(),
        Some(b"evil".to_vec()),
    )
    .await
    .assert_rejected("PUT with a tampered signature");
    // A signature of one grant on the URL of another.
    let donor = broker.upload_grant(&alice, text_file("donor.txt", 4)).await;
    let signature = |url: &str| url.rsplit_once("X-Amz-Signature=").unwrap().1.to_owned();
    let (head, _) = cheat.url().rsplit_once("X-Amz-Signature=").unwrap();
    let swapped = format!("{head}X-Amz-Signature={}", signature(donor.url()));
    send_raw(
        "PUT",
        &swapped,
        &cheat.put_headers(),
        Some(b"evil".to_vec()),
    )
    .await
    .assert_rejected("PUT with another grant's signature");
    t.assert_keys(&[honest.key()], "after the refused PUTs")
        .await;
}

/// The name of the form's content-type field, whatever its case.
fn content_type_field(fields: &[(String, String)]) -> String {
    fields
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        .map(|(n, _)| n.clone())
        .unwrap_or_else(|| panic!("a POST grant binds the content type: {fields:?}"))
}

async fn post_grant_binds_size_type_and_key(t: Ctx) {
    let broker = Broker::start(&t).await;
    let alice = broker.token("alice");
    let honest = broker.upload_grant(&alice, form_file("good.txt", 10)).await;
    honest
        .post(&FilePart::new("good.txt", &[b'a'; 10]))
        .await
        .assert_ok("form POST of the granted size");

    for len in [11, 9, 0] {
        let cheat = broker.upload_grant(&alice, form_file("evil.txt", 10)).await;
        cheat
            .post(&FilePart::new("evil.txt", &vec![b'a'; len]))
            .await
            .assert_rejected(&format!("form POST of {len} bytes with a grant for 10"));
    }

    let cheat = broker.upload_grant(&alice, form_file("evil.txt", 4)).await;
    let ct = content_type_field(&cheat.fields());
    for other in ["text/html", "image/svg+xml"] {
        let mut fields = cheat.fields();
        set_field(&mut fields, &ct, other);
        post_fields(cheat.url(), &fields, &FilePart::new("evil.txt", b"evil"))
            .await
            .assert_rejected(&format!("form POST as {other} with a grant for text/plain"));
    }

    let cheat = broker.upload_grant(&alice, form_file("mine.txt", 4)).await;
    let key = cheat.key();
    for other in [
        key.replace("-mine.txt", "-evil.txt"),
        key.replace("users/alice/", "users/bob/"),
        format!("{key}.html"),
        "users/alice/evil.txt".to_owned(),
    ] {
        let mut fields = cheat.fields();
        set_field(&mut fields, "key", &other);
        post_fields(cheat.url(), &fields, &FilePart::new("evil.txt", b"evil"))
            .await
            .assert_rejected(&format!("form POST to {other:?} with a grant for {key:?}"));
    }
    t.assert_keys(&[honest.key()], "after the refused form POSTs")
        .await;
}

async fn post_grant_signature_and_policy_cannot_be_tampered(t: Ctx) {
    let broker = Broker::start(&t).await;
    let alice = broker.token("alice");
    let honest = broker.upload_grant(&alice, form_file("good.txt", 4)).await;
    honest
        .post(&FilePart::new("good.txt", b"good"))
        .await
        .assert_ok("form POST as granted");

    let cheat = broker.upload_grant(&alice, form_file("evil.txt", 4)).await;
    let mut fields = cheat.fields();
    let signature = fields
        .iter()
        .find(|(n, _)| n == "x-amz-signature")
        .map(|(_, v)| v.clone())
        .expect("an x-amz-signature field");
    set_field(&mut fields, "x-amz-signature", &flip_signature(&signature));
    post_fields(cheat.url(), &fields, &FilePart::new("evil.txt", b"evil"))
        .await
        .assert_rejected("form POST with a tampered signature");

    // A policy widened to any size, signature unchanged: S3 recomputes and refuses.
    let mut fields = cheat.fields();
    let policy = fields
        .iter()
        .find(|(n, _)| n == "policy")
        .map(|(_, v)| v.clone())
        .expect("a policy field");
    let widened = rewrite_policy(&policy, |p| {
        for condition in conditions(p) {
            if condition[0] == "content-length-range" {
                *condition = json!(["content-length-range", 0, 1_000_000]);
            }
        }
    });
    assert_ne!(widened, policy, "the policy has a content-length-range");
    set_field(&mut fields, "policy", &widened);
    post_fields(
        cheat.url(),
        &fields,
        &FilePart::new("evil.txt", &[b'a'; 100]),
    )
    .await
    .assert_rejected("form POST with a widened policy");
    t.assert_keys(&[honest.key()], "after the refused form POSTs")
        .await;
}

/// `url` without the query parameter `name`.
fn without_param(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').expect("a query");
    let kept: Vec<&str> = query
        .split('&')
        .filter(|p| !p.starts_with(&format!("{name}=")))
        .collect();
    format!("{base}?{}", kept.join("&"))
}

async fn download_grant_binds_key_and_disposition(t: Ctx) {
    let broker = Broker::start(&t).await;
    let (alice, bob) = (broker.token("alice"), broker.token("bob"));
    let mine = broker.upload_grant(&alice, text_file("mine.txt", 4)).await;
    mine.put(b"mine").await.assert_ok("alice's upload");
    let secret = b"bob-only-7c41e9";
    let theirs = broker
        .upload_grant(&bob, text_file("b.txt", secret.len()))
        .await;
    theirs.put(secret).await.assert_ok("bob's upload");

    let download = broker.download(&alice, mine.key()).await.grant("download");
    let honest = download.get().await;
    honest.assert_ok("GET of alice's own file");
    assert_eq!(honest.body, b"mine");

    let url = download.url();
    let bob_path = format!("/{}/{}?", t.bucket.as_str(), theirs.key());
    let alice_path = format!("/{}/{}?", t.bucket.as_str(), mine.key());
    let cheats = [
        (
            url.replacen(&alice_path, &bob_path, 1),
            "moved to bob's key",
        ),
        (tamper_url_signature(url), "with a tampered signature"),
        (
            without_param(url, "response-content-disposition"),
            "without its signed attachment disposition",
        ),
        (
            url.replacen(
                "response-content-disposition=attachment",
                "response-content-disposition=inline",
                1,
            ),
            "with an inline disposition",
        ),
    ];
    for (target, what) in cheats {
        assert_ne!(target, url, "the URL was changed: {what}");
        let reply = send_raw("GET", &target, &[], None).await;
        reply.assert_rejected(&format!("GET {what}"));
        assert!(
            !reply.body.windows(secret.len()).any(|w| w == secret),
            "{what}: bob's bytes leaked"
        );
    }
}

async fn expired_grants_are_refused(t: Ctx) {
    let broker = Broker::start(&t).await;
    let alice = broker.token("alice");
    let brief = |filename: &str, method: &str| {
        json!({
            "profile": "brief",
            "filename": filename,
            "content_type": "text/plain",
            "size": 4,
            "method": method,
            "expires_in": 3600,
        })
    };
    // Honest: each kind of grant used at once works, though it lives only 2 seconds. The
    // late grants are taken meanwhile, so their wait overlaps the honest requests.
    let put = broker.upload_grant(&alice, brief("put.txt", "PUT")).await;
    assert_eq!(put.lifetime_secs(), BRIEF_MAX_EXPIRY_SECS);
    put.put(b"good").await.assert_ok("PUT within the lifetime");
    let late_put = broker
        .upload_grant(&alice, brief("late-put.txt", "PUT"))
        .await;
    let late_post = broker
        .upload_grant(&alice, brief("late-post.txt", "POST"))
        .await;
    let late_get = broker.download(&alice, put.key()).await.grant("download");
    let post = broker.upload_grant(&alice, brief("post.txt", "POST")).await;
    assert_eq!(post.lifetime_secs(), BRIEF_MAX_EXPIRY_SECS);
    post.post(&FilePart::new("post.txt", b"good"))
        .await
        .assert_ok("form POST within the lifetime");
    let download = broker.download(&alice, put.key()).await.grant("download");
    assert_eq!(download.lifetime_secs(), BRIEF_MAX_EXPIRY_SECS);
    download.get().await.assert_ok("GET within the lifetime");

    let last = [&late_put, &late_post, &late_get]
        .iter()
        .map(|g| g.expires_at)
        .max()
        .unwrap();
    // Past the end, plus a margin for servers that compare whole seconds.
    let wait = (last - chrono::Utc::now()).to_std().unwrap_or_default()
        + std::time::Duration::from_millis(1100);
    tokio::time::sleep(wait).await;
    late_put
        .put(b"late")
        .await
        .assert_rejected("PUT after expires_at");
    late_post
        .post(&FilePart::new("late-post.txt", b"late"))
        .await
        .assert_rejected("form POST after expires_at");
    late_get.get().await.assert_rejected("GET after expires_at");
    t.assert_keys(&[put.key(), post.key()], "after the expired grants")
        .await;
}
