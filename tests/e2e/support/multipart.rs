//! A client of the broker's native multipart API, for the tests: create, sign parts, send
//! them with real bytes, list, complete and abort.

use super::broker::{ApiReply, Broker};
use super::http::{Reply, send_raw, without_content_length};
use serde_json::{Value, json};

/// 1 MiB.
pub(crate) const MIB: usize = 1024 * 1024;

/// Deterministic bytes that differ at every offset modulo 251.
pub(crate) fn bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8 ^ seed).collect()
}

/// A created upload, as the broker answered.
#[derive(Debug, Clone)]
pub(crate) struct Upload {
    /// The answer.
    pub json: Value,
    /// The ticket.
    pub ticket: String,
    /// The key.
    pub key: String,
}

impl Broker {
    /// `POST /v1/multipart` with `body`.
    pub(crate) async fn multipart_create(&self, token: &str, body: Value) -> ApiReply {
        self.call("POST", "/v1/multipart")
            .bearer(token)
            .json(&body)
            .send()
            .await
    }

    /// Creates an upload of `size` bytes of `application/octet-stream` in parts of 5 MiB.
    pub(crate) async fn create_upload(&self, token: &str, name: &str, size: usize) -> Upload {
        let reply = self
            .multipart_create(
                token,
                json!({
                    "filename": name,
                    "content_type": "application/octet-stream",
                    "size": size,
                    "part_size": 5 * MIB,
                }),
            )
            .await;
        reply.assert_status(200, "create a multipart upload");
        assert_eq!(reply.header("cache-control"), Some("no-store"));
        let json = reply.json();
        Upload {
            ticket: json["upload"].as_str().expect("a ticket").to_owned(),
            key: json["key"].as_str().expect("a key").to_owned(),
            json,
        }
    }

    /// `POST /v1/multipart/parts`.
    pub(crate) async fn multipart_sign(&self, token: &str, body: Value) -> ApiReply {
        self.call("POST", "/v1/multipart/parts")
            .bearer(token)
            .json(&body)
            .send()
            .await
    }

    /// `GET /v1/multipart/parts?upload=`.
    pub(crate) async fn multipart_list(&self, token: &str, ticket: &str) -> ApiReply {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("upload", ticket)
            .finish();
        self.call("GET", &format!("/v1/multipart/parts?{query}"))
            .bearer(token)
            .send()
            .await
    }

    /// `POST /v1/multipart/complete`.
    pub(crate) async fn multipart_complete(
        &self,
        token: &str,
        ticket: &str,
        parts: Value,
    ) -> ApiReply {
        self.call("POST", "/v1/multipart/complete")
            .bearer(token)
            .json(&json!({ "upload": ticket, "parts": parts }))
            .send()
            .await
    }

    /// `POST /v1/multipart/abort`.
    pub(crate) async fn multipart_abort(&self, token: &str, ticket: &str) -> ApiReply {
        self.call("POST", "/v1/multipart/abort")
            .bearer(token)
            .json(&json!({ "upload": ticket }))
            .send()
            .await
    }

    /// Signs every part of `upload` and returns the part grants.
    pub(crate) async fn part_grants(&self, token: &str, upload: &Upload) -> Vec<Value> {
        let reply = self
            .multipart_sign(token, json!({ "upload": upload.ticket }))
            .await;
        reply.assert_status(200, "sign every part");
        reply.json()["parts"].as_array().expect("parts").clone()
    }
}

/// PUTs `body` with a part grant (its headers, the length left to the HTTP client).
pub(crate) async fn put_part(grant: &Value, body: &[u8]) -> Reply {
    let headers: Vec<(String, String)> = grant["headers"]
        .as_object()
        .expect("headers")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().expect("a header value").to_owned()))
        .collect();
    send_raw(
        "PUT",
        grant["url"].as_str().expect("a url"),
        &without_content_length(&headers),
        Some(body.to_vec()),
    )
    .await
}

/// Asserts S3 refuses `body` sent with a part grant: a 4xx, or (s3s-fs, when the body is
/// shorter than the signed length) a connection closed before any answer.
pub(crate) async fn assert_part_refused(grant: &Value, body: &[u8], what: &str) {
    let mut request = reqwest::Client::new().put(grant["url"].as_str().expect("a url"));
    for (name, value) in grant["headers"].as_object().expect("headers") {
        if !name.eq_ignore_ascii_case("content-length") {
            request = request.header(name, value.as_str().expect("a header value"));
        }
    }
    match request.body(body.to_vec()).send().await {
        Ok(reply) => assert!(
            reply.status().is_client_error(),
            "{what}: expected a 4xx, got {}",
            reply.status()
        ),
        Err(e) => assert!(!e.is_timeout(), "{what}: no answer in time: {e}"),
    }
}

/// Uploads `data` with `grants` (cut at each grant's `size`) and returns the receipts
/// `{part_number, etag}` to complete with.
pub(crate) async fn upload_parts(grants: &[Value], data: &[u8]) -> Vec<Value> {
    let mut offset = 0;
    let mut receipts = Vec::new();
    for grant in grants {
        let size = grant["size"].as_u64().expect("a size") as usize;
        let reply = put_part(grant, &data[offset..offset + size]).await;
        reply.assert_ok(&format!("PUT part {}", grant["part_number"]));
        let etag = reply.header("etag").expect("an ETag").to_owned();
        receipts.push(json!({ "part_number": grant["part_number"], "etag": etag }));
        offset += size;
    }
    assert_eq!(offset, data.len(), "the grants cover the data");
    receipts
}
