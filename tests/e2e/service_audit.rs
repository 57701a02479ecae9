//! Audit events as an operator gets them: `s3-broker serve` (the built binary) in front of a
//! real server, with `[audit] destination` a file. A client uploads with a PUT grant,
//! verifies it, downloads it and sends a multipart upload; the file then holds one event per
//! grant and per verification, each naming the grant id its URLs carried, the principal only
//! as its keyed digest, and no line of the file or of stderr holds a token, a signature, a
//! signed URL or a receipt. The audit lines are not on stderr, the access lines are. Each
//! multipart upload the broker aborts gives one `abort` event.

use crate::support::Ctx;
use crate::support::broker::{DEFAULT_EXPIRY_SECS, config, text_upload, token};
use crate::support::http::send_raw;
use crate::support::multipart::{MIB, bytes, upload_parts};
use crate::support::ports::free_port;
use hmac::{Hmac, Mac};
use s3_broker::domain::Scopes;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

on_both_servers!(
    every_grant_and_verification_is_audited_without_secrets,
    an_uppy_completion_is_audited_with_its_upload_ids_expiry,
    every_abort_the_broker_makes_is_audited,
);

const SHIPPED_DEFAULT: &str = include_str!("../../policies/default.toml");

/// A profile of multipart uploads of at most 100 bytes: a larger one is aborted at its
/// completion.
const SMALL_PROFILE: &str = r#"
key_template = "small/{principal}/{uuid}-{filename}"
content_types = ["application/octet-stream"]
max_size = 100
multipart = true
"#;

/// The audit key of the test broker.
const PRINCIPAL_KEY: &str = "e2e-audit-principal-key-0123456789abcdef";

/// A running `s3-broker serve` with its audit file and stderr file.
struct Serve {
    child: Child,
    base: String,
    audit: PathBuf,
    stderr: PathBuf,
    _dir: tempfile::TempDir,
}

impl Serve {
    async fn start(t: &Ctx) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let policies = dir.path().join("policies");
        std::fs::create_dir_all(&policies).unwrap();
        std::fs::write(policies.join("default.toml"), SHIPPED_DEFAULT).unwrap();
        std::fs::write(policies.join("small.toml"), SMALL_PROFILE).unwrap();
        let port = free_port().unwrap();
        let audit = dir.path().join("audit.jsonl");
        let stderr = dir.path().join("stderr.log");
        let text = config(t.bed, t.bucket.as_str(), &policies)
            .set("server", "bind", format!("127.0.0.1:{port}"))
            .set("server", "drain_secs", 0)
            .set("audit", "destination", audit.to_string_lossy().as_ref())
            .set("audit", "principal_key", PRINCIPAL_KEY)
            .text();
        let file = dir.path().join("config.toml");
        std::fs::write(&file, text).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_s3-broker"));
        cmd.args(["serve", "--config"]).arg(&file);
        for name in crate::support::inherited_settings() {
            cmd.env_remove(name);
        }
        let child = cmd
            .env("HOME", dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("start s3-broker serve");
        let serve = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            audit,
            stderr,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let up = reqwest::get(format!("{}/healthz", serve.base))
                .await
                .is_ok_and(|r| r.status().is_success());
            if up {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "serve did not answer: {}",
                std::fs::read_to_string(&serve.stderr).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        serve
    }

    /// SIGTERM, and the exit (which writes out the queue).
    fn stop(&mut self) {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let deadline = Instant::now() + Duration::from_secs(15);
        while self.child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "serve did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `POST`s `body` to `path` as `token` and returns the JSON answer, asserting a 200.
async fn call(base: &str, token: &str, path: &str, body: Value) -> Value {
    let reply = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = reply.status();
    let text = reply.text().await.unwrap();
    assert_eq!(status, 200, "{path}: {text}");
    serde_json::from_str(&text).unwrap()
}

/// The `x-broker-grant` of `url`.
fn grant_id(url: &str) -> String {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(name, _)| name == "x-broker-grant")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_else(|| panic!("no grant id in {url}"))
}

/// The `X-Amz-Signature` of `url`.
fn signature(url: &str) -> String {
    url.rsplit_once("X-Amz-Signature=").unwrap().1.to_owned()
}

/// The digest the broker writes for the principal of namespace segment `segment`.
fn digest(segment: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(PRINCIPAL_KEY.as_bytes()).unwrap();
    mac.update(b"s3-broker audit principal v1\n");
    mac.update(segment.as_bytes());
    hex::encode(&mac.finalize().into_bytes()[..16])
}

/// The audit lines, once the file holds `count` (at most 10 s).
fn audit_lines(path: &Path, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        if lines.len() >= count || Instant::now() > deadline {
            return lines;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The fields of the one event of `operation` with `grant_id`.
fn event<'a>(lines: &'a [Value], operation: &str, grant_id: &str) -> &'a Value {
    the_event(
        lines,
        &format!("{operation} event of grant {grant_id}"),
        |f| f["operation"] == operation && f["grant_id"] == grant_id,
    )
}

/// The fields of the one event that `matches`, described as `what`.
fn the_event<'a>(lines: &'a [Value], what: &str, matches: impl Fn(&Value) -> bool) -> &'a Value {
    let found: Vec<&Value> = lines
        .iter()
        .map(|l| &l["fields"])
        .filter(|f| matches(f))
        .collect();
    assert_eq!(found.len(), 1, "one {what} in {lines:#?}");
    found[0]
}

async fn every_grant_and_verification_is_audited_without_secrets(t: Ctx) {
    let mut serve = Serve::start(&t).await;
    let base = serve.base.clone();
    let alice = token("alice", Scopes::all());
    let body = b"audited bytes\n";

    // PUT, verify, download.
    let put = call(
        &base,
        &alice,
        "/v1/uploads",
        text_upload("a.txt", body.len(), json!({})),
    )
    .await;
    let (put_url, key) = (put["url"].as_str().unwrap(), put["key"].as_str().unwrap());
    let headers: Vec<(String, String)> = put["headers"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(n, _)| *n != "content-length")
        .map(|(n, v)| (n.clone(), v.as_str().unwrap().to_owned()))
        .collect();
    send_raw("PUT", put_url, &headers, Some(body.to_vec()))
        .await
        .assert_ok("PUT");
    let upload_token = put["upload"].as_str().unwrap();
    let verified = call(
        &base,
        &alice,
        "/v1/uploads/verify",
        json!({ "upload": upload_token }),
    )
    .await;
    let receipt = verified["receipt"].as_str().unwrap();
    let download = call(&base, &alice, "/v1/downloads", json!({ "key": key })).await;
    let get_url = download["url"].as_str().unwrap();

    // A multipart upload of two parts.
    const SIZE: usize = 5 * MIB + 10;
    let created = call(
        &base,
        &alice,
        "/v1/multipart",
        json!({"filename": "m.bin", "content_type": "application/octet-stream",
               "size": SIZE, "part_size": 5 * MIB}),
    )
    .await;
    let ticket = created["upload"].as_str().unwrap();
    let parts = call(
        &base,
        &alice,
        "/v1/multipart/parts",
        json!({ "upload": ticket }),
    )
    .await;
    let grants = parts["parts"].as_array().unwrap().clone();
    let receipts = upload_parts(&grants, &bytes(SIZE, 1)).await;
    let completed = call(
        &base,
        &alice,
        "/v1/multipart/complete",
        json!({ "upload": ticket, "parts": receipts }),
    )
    .await;
    let multipart_receipt = completed["receipt"].as_str().unwrap();

    // One event per grant and verification: PUT, verify, GET, create, parts, complete, and
    // the verification of the assembled object at completion.
    serve.stop();
    let lines = audit_lines(&serve.audit, 7);
    assert_eq!(lines.len(), 7, "{lines:#?}");
    for line in &lines {
        assert_eq!(line["target"], "s3_broker::audit");
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["fields"]["principal"], digest("alice"), "{line}");
        assert_eq!(line["fields"]["bucket"], t.bucket.as_str());
    }

    let put_id = grant_id(put_url);
    let put_event = event(&lines, "PutObject", &put_id);
    assert_eq!(put_event["event"], "grant");
    assert_eq!(put_event["key"], key);
    assert_eq!(put_event["profile"], "default");
    assert_eq!(put_event["count"], 1);
    let expires_at = |v: &Value| -> chrono::DateTime<chrono::Utc> {
        v.as_str().unwrap().parse().expect("an RFC 3339 time")
    };
    assert_eq!(
        expires_at(&put_event["expires_at"]),
        expires_at(&put["expires_at"])
    );
    let lifetime = expires_at(&put["expires_at"]) - expires_at(&put["server_time"]);
    assert_eq!(lifetime.num_seconds(), DEFAULT_EXPIRY_SECS);

    let verification = event(&lines, "VerifyUpload", &put_id);
    assert_eq!(verification["event"], "verification");
    assert_eq!(verification["outcome"], "verified");
    assert_eq!(
        verification["receipt_id"],
        hex::encode(Sha256::digest(receipt.as_bytes()))
    );
    assert_eq!(verification["key"], key);

    let get_event = event(&lines, "GetObject", &grant_id(get_url));
    assert_eq!(get_event["key"], key);

    let upload_id = grant_id(grants[0]["url"].as_str().unwrap());
    for operation in [
        "CreateMultipartUpload",
        "UploadPart",
        "CompleteMultipartUpload",
    ] {
        let multipart = event(&lines, operation, &upload_id);
        assert_eq!(multipart["key"], created["key"], "{operation}");
    }
    assert_eq!(event(&lines, "UploadPart", &upload_id)["count"], 2);
    let completion = event(&lines, "VerifyUpload", &upload_id);
    assert_eq!(completion["outcome"], "verified");
    assert_eq!(completion["key"], created["key"]);
    assert_eq!(
        completion["receipt_id"],
        hex::encode(Sha256::digest(multipart_receipt.as_bytes()))
    );

    // Nothing secret, in the audit file or on stderr; the audit lines only in their file.
    let audit_text = std::fs::read_to_string(&serve.audit).unwrap();
    let stderr_text = std::fs::read_to_string(&serve.stderr).unwrap();
    let mut secrets = vec![
        alice.clone(),
        upload_token.to_owned(),
        ticket.to_owned(),
        receipt.to_owned(),
        multipart_receipt.to_owned(),
        put_url.to_owned(),
        get_url.to_owned(),
        signature(put_url),
        signature(get_url),
        "X-Amz-Signature".to_owned(),
        "X-Amz-Credential".to_owned(),
        t.bed.credentials.secret_access_key.expose().to_owned(),
        PRINCIPAL_KEY.to_owned(),
    ];
    for grant in &grants {
        secrets.push(signature(grant["url"].as_str().unwrap()));
    }
    for (name, text) in [("audit file", &audit_text), ("stderr", &stderr_text)] {
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "{name} holds {secret}");
        }
    }
    assert!(
        !stderr_text.contains("s3_broker::audit"),
        "audit lines stay out of stderr:\n{stderr_text}"
    );
    assert!(
        stderr_text.contains("s3_broker::access"),
        "the access log stays on stderr:\n{stderr_text}"
    );
}

/// An Uppy multipart upload of 1000 bytes of `application/octet-stream`, made with
/// `POST /s3/multipart`.
struct UppyUpload {
    /// The answer of the create: `key` and the sealed `uploadId`.
    created: Value,
    /// `uploadId`, encoded for a path.
    id: String,
    /// `key=...`.
    query: String,
}

impl UppyUpload {
    async fn create(base: &str, token: &str, filename: &str, profile: &str) -> Self {
        let created = call(
            base,
            token,
            "/s3/multipart",
            json!({ "filename": filename, "type": "application/octet-stream", "profile": profile }),
        )
        .await;
        let id = created["uploadId"].as_str().unwrap();
        let id = url::form_urlencoded::byte_serialize(id.as_bytes()).collect();
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("key", created["key"].as_str().unwrap())
            .finish();
        Self { created, id, query }
    }

    /// The path of the upload's `route` (`""`, `"/1"`, `"/complete"`).
    fn path(&self, route: &str) -> String {
        format!("/s3/multipart/{}{route}?{}", self.id, self.query)
    }

    /// Uploads its one part (1000 bytes) through the part URL the broker signs; that URL and
    /// the `parts` body of the completion.
    async fn upload_part(&self, base: &str, token: &str) -> (String, Value) {
        let (status, part) = send_as(base, token, "GET", &self.path("/1"), None).await;
        assert_eq!(status, 200, "{part}");
        let part: Value = serde_json::from_str(&part).unwrap();
        let url = part["url"].as_str().expect("a part URL").to_owned();
        let uploaded = send_raw("PUT", &url, &[], Some(bytes(1000, 7))).await;
        uploaded.assert_ok("the part");
        let etag = uploaded.headers["etag"].to_str().unwrap().to_owned();
        (url, json!({ "parts": [{ "PartNumber": 1, "ETag": etag }] }))
    }
}

/// The completion of an Uppy multipart upload (`/s3/multipart/{uploadId}/complete`) is audited
/// like the native one: its `expires_at` is when the upload's sealed id would have expired (as
/// for the create), not the moment of the completion.
async fn an_uppy_completion_is_audited_with_its_upload_ids_expiry(t: Ctx) {
    let mut serve = Serve::start(&t).await;
    let base = serve.base.clone();
    let alice = token("alice", Scopes::all());
    let upload = UppyUpload::create(&base, &alice, "uppy.bin", "default").await;
    let (part_url, parts) = upload.upload_part(&base, &alice).await;
    let completed = call(&base, &alice, &upload.path("/complete"), parts).await;
    assert!(completed["receipt"].is_string(), "{completed}");

    serve.stop();
    let lines = audit_lines(&serve.audit, 4);
    let id = grant_id(&part_url);
    let at = |operation: &str| -> chrono::DateTime<chrono::Utc> {
        event(&lines, operation, &id)["expires_at"]
            .as_str()
            .unwrap()
            .parse()
            .expect("an RFC 3339 time")
    };
    let (create, complete) = (at("CreateMultipartUpload"), at("CompleteMultipartUpload"));
    assert!(
        (complete - create).num_seconds().abs() <= 2,
        "the completion's expires_at {complete} is the upload id's, as the create's {create}"
    );
    assert_eq!(at("VerifyUpload"), complete, "the verification's too");
}

/// Sends `method` to `path` as `token` with an optional JSON `body`; the status and the body.
async fn send_as(
    base: &str,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, String) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = reqwest::Client::new()
        .request(method, format!("{base}{path}"))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let reply = request.send().await.unwrap();
    (reply.status().as_u16(), reply.text().await.unwrap())
}

/// The fields of the one event of kind `event` and `operation` on `key`.
fn event_on<'a>(lines: &'a [Value], event: &str, operation: &str, key: &str) -> &'a Value {
    the_event(lines, &format!("{event} {operation} event on {key}"), |f| {
        f["event"] == event && f["operation"] == operation && f["key"] == key
    })
}

/// The three aborts the broker makes itself each write one `abort` event, under the grant id of
/// the upload's other events: `POST /v1/multipart/abort`, Uppy's
/// `DELETE /s3/multipart/{uploadId}`, and the abort of an Uppy upload whose parts exceed its
/// profile at completion (`outcome` `oversized`). No line holds a ticket or a sealed upload id.
async fn every_abort_the_broker_makes_is_audited(t: Ctx) {
    let mut serve = Serve::start(&t).await;
    let base = serve.base.clone();
    let alice = token("alice", Scopes::all());

    let native = call(
        &base,
        &alice,
        "/v1/multipart",
        json!({"filename": "n.bin", "content_type": "application/octet-stream",
               "size": 6 * MIB, "part_size": 5 * MIB}),
    )
    .await;
    let ticket = native["upload"].as_str().unwrap();
    let aborted = send_as(
        &base,
        &alice,
        "POST",
        "/v1/multipart/abort",
        Some(json!({ "upload": ticket })),
    )
    .await;
    assert_eq!(aborted.0, 204, "{}", aborted.1);

    let uppy = UppyUpload::create(&base, &alice, "u.bin", "default").await;
    let aborted = send_as(&base, &alice, "DELETE", &uppy.path(""), None).await;
    assert_eq!(aborted.0, 200, "{}", aborted.1);

    let oversized = UppyUpload::create(&base, &alice, "o.bin", "small").await;
    let (_, body) = oversized.upload_part(&base, &alice).await;
    let refused = send_as(
        &base,
        &alice,
        "POST",
        &oversized.path("/complete"),
        Some(body),
    )
    .await;
    assert!((400..500).contains(&refused.0), "{refused:?}");

    // Three creates, three aborts, one part URL.
    serve.stop();
    let lines = audit_lines(&serve.audit, 7);
    assert_eq!(lines.len(), 7, "{lines:#?}");
    for (created, outcome) in [
        (&native, None),
        (&uppy.created, None),
        (&oversized.created, Some("oversized")),
    ] {
        let key = created["key"].as_str().unwrap();
        let create = event_on(&lines, "grant", "CreateMultipartUpload", key);
        let abort = event_on(&lines, "abort", "AbortMultipartUpload", key);
        assert_eq!(
            abort["grant_id"], create["grant_id"],
            "the upload's grant id"
        );
        assert_eq!(abort["principal"], digest("alice"));
        assert_eq!(abort["bucket"], t.bucket.as_str());
        assert_eq!(abort["profile"], create["profile"]);
        assert_eq!(abort["outcome"].as_str(), outcome, "{abort}");
        assert!(
            abort.get("count").is_none() && abort.get("expires_at").is_none(),
            "{abort}"
        );
    }
    let audit_text = std::fs::read_to_string(&serve.audit).unwrap();
    for secret in [
        alice.as_str(),
        ticket,
        uppy.created["uploadId"].as_str().unwrap(),
        oversized.created["uploadId"].as_str().unwrap(),
        "X-Amz-Signature",
    ] {
        assert!(
            !audit_text.contains(secret),
            "the audit file holds {secret}"
        );
    }
}
