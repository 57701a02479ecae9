//! Inline downloads only for a stored passive type, on both servers. Under the shipped
//! `avatars` profile (inline by default, key `avatars/{principal}/avatar`, a name without an
//! extension), an object written around the broker (an administrator, another tool, an older
//! allowlist) with an active type is served as an attachment with `application/octet-stream`,
//! checked by fetching the grant's URL from the S3 server; a stored passive type is still shown
//! inline with exactly that type.

use crate::support::Ctx;
use crate::support::broker::Broker;

on_both_servers!(inline_downloads_follow_only_a_passive_stored_type);

const AVATAR: &str = "avatars/alice/avatar";

/// Writes `bytes` at the avatar key with `content_type`, straight to S3.
async fn store(t: &Ctx, content_type: &str, bytes: &[u8]) {
    t.bed
        .s3
        .put_object()
        .bucket(t.bucket.as_str())
        .key(AVATAR)
        .content_type(content_type)
        .body(bytes.to_vec().into())
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "PutObject {content_type}: {}",
                aws_sdk_s3::error::DisplayErrorContext(&e)
            )
        });
}

async fn inline_downloads_follow_only_a_passive_stored_type(t: Ctx) {
    let broker = Broker::start(&t).await;
    let alice = broker.token("alice");
    let html = b"<html><script>alert(document.domain)</script></html>";
    for stored in [
        "text/html",
        "text/html; charset=utf-8",
        "image/svg+xml",
        "application/xhtml+xml",
        "text/javascript",
        "application/octet-stream",
    ] {
        store(&t, stored, html).await;
        let grant = broker
            .download(&alice, AVATAR)
            .await
            .grant(&format!("a download of an avatar stored as {stored}"));
        assert_eq!(grant.json["disposition"], "attachment", "{stored}");
        let reply = grant.get().await;
        reply.assert_ok(&format!("GET of the avatar stored as {stored}"));
        assert_eq!(
            reply.header("content-type"),
            Some("application/octet-stream"),
            "stored as {stored}: S3 serves the signed neutral type"
        );
        let disposition = reply.header("content-disposition").unwrap_or_default();
        assert!(
            disposition.starts_with("attachment"),
            "{stored}: {disposition:?}"
        );
        assert!(reply.body == html, "the bytes are the object's");
    }
    // A stored passive type is shown inline, with exactly that type.
    for (stored, served) in [("image/png", "image/png"), ("IMAGE/JPEG", "image/jpeg")] {
        store(&t, stored, b"\x89PNG").await;
        let grant = broker
            .download(&alice, AVATAR)
            .await
            .grant(&format!("a download of an avatar stored as {stored}"));
        assert_eq!(grant.json["disposition"], "inline", "{stored}");
        let reply = grant.get().await;
        reply.assert_ok(&format!("GET of the avatar stored as {stored}"));
        assert_eq!(reply.header("content-type"), Some(served), "{stored}");
        let disposition = reply.header("content-disposition").unwrap_or_default();
        assert!(
            disposition.starts_with("inline"),
            "{stored}: {disposition:?}"
        );
    }
}
