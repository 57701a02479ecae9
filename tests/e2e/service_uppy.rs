//! The Uppy routes end to end, driven the way `@uppy/aws-s3` drives them: Companion's
//! `/s3/params` and `/s3/multipart...` (Uppy 5) and `POST /s3/sign` (Uppy 6), with real
//! bytes sent to the S3 server. The ownership checks Companion lacks and the refusals that need
//! no S3 are in `tests/api/companion.rs`.

use crate::support::Ctx;
use crate::support::broker::{ApiReply, Broker};
use crate::support::http::Reply;
use crate::support::multipart::{MIB, bytes};
use crate::support::{FilePart, send_raw};
use futures_util::StreamExt as _;
use serde_json::{Value, json};

on_both_servers!(
    companion_multipart_upload,
    companion_form_upload,
    companion_refuses_oversized_uploads_and_aborts_them,
    sign_request_multipart_upload,
    sign_request_put_object_is_a_form,
    listing_follows_list_parts_pages,
);

fn query(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// The `?key=` query of most Companion routes.
fn key_query(key: &str) -> String {
    query(&[("key", key)])
}

async fn get(broker: &Broker, token: &str, path: &str) -> ApiReply {
    broker.call("GET", path).bearer(token).send().await
}

/// An upload created with `POST /s3/multipart`.
struct Created {
    /// The whole answer.
    json: Value,
    /// The key the broker chose.
    key: String,
    /// `/s3/multipart/{uploadId}`, the base of the later routes.
    base: String,
}

/// `POST /s3/multipart` with `body`, which must succeed.
async fn create(broker: &Broker, token: &str, body: Value, what: &str) -> Created {
    let reply = broker
        .call("POST", "/s3/multipart")
        .bearer(token)
        .json(&body)
        .send()
        .await;
    reply.assert_status(200, what);
    let json = reply.json();
    let key = json["key"].as_str().expect("a key").to_owned();
    let base = format!(
        "/s3/multipart/{}",
        urlencoding(json["uploadId"].as_str().expect("an uploadId"))
    );
    Created { json, key, base }
}

/// `POST {base}/complete?key=` with `parts` (`[{PartNumber, ETag}]`).
async fn complete(broker: &Broker, token: &str, upload: &Created, parts: &[Value]) -> ApiReply {
    broker
        .call(
            "POST",
            &format!("{}/complete?{}", upload.base, key_query(&upload.key)),
        )
        .bearer(token)
        .json(&json!({ "parts": parts }))
        .send()
        .await
}

/// The `PartNumber`s of a Companion parts listing.
fn listed_numbers(listed: &Value) -> Vec<u64> {
    listed
        .as_array()
        .expect("a parts array")
        .iter()
        .map(|p| p["PartNumber"].as_u64().unwrap())
        .collect()
}

/// A POST form's `fields` object as name/value pairs.
fn form_fields(fields: &Value) -> Vec<(String, String)> {
    fields
        .as_object()
        .expect("a fields object")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect()
}

/// Asserts a Companion error: `status`, `{"error": ..., "code": code}`.
#[track_caller]
fn companion_error(reply: &ApiReply, status: u16, code: &str, what: &str) {
    reply.assert_status(status, what);
    let json = reply.json();
    assert!(json["error"].is_string(), "{what}: {json}");
    assert_eq!(json["code"], code, "{what}: {json}");
}

/// PUTs each chunk of `data` (`chunk` bytes) to its URL and returns `[{PartNumber, ETag}]`.
async fn put_chunks(urls: &[String], data: &[u8], chunk: usize) -> Vec<Value> {
    let mut parts = Vec::new();
    for (i, (url, piece)) in urls.iter().zip(data.chunks(chunk)).enumerate() {
        let reply = send_raw("PUT", url, &[], Some(piece.to_vec())).await;
        reply.assert_ok(&format!("PUT part {}", i + 1));
        let etag = reply.header("etag").expect("an ETag").to_owned();
        parts.push(json!({ "PartNumber": i + 1, "ETag": etag }));
    }
    parts
}

async fn companion_multipart_upload(t: Ctx) {
    let broker = Broker::start(&t).await;
    let alice = broker.token("alice");
    let data = bytes(11 * MIB, 21);
    let upload = create(
        &broker,
        &alice,
        json!({ "filename": "movie.bin", "type": "application/octet-stream", "metadata": {} }),
        "create",
    )
    .await;
    let (key, base) = (&upload.key, &upload.base);
    assert!(
        key.starts_with("users/alice/") && key.ends_with("-movie.bin"),
        "{key}"
    );
    assert_eq!(upload.json["bucket"], t.bucket.as_str());

    let batch = get(
        &broker,
        &alice,
        &format!(
            "{base}/batch?{}",
            query(&[("key", key), ("partNumbers", "1,2")])
        ),
    )
    .await;
    batch.assert_status(200, "batch");
    let batch = batch.json();
    let single = get(&broker, &alice, &format!("{base}/3?{}", key_query(key))).await;
    single.assert_status(200, "one part");
    assert!(
        single.json()["expires"].as_i64().unwrap() >= 300,
        "a usable timeout"
    );
    let urls = vec![
        batch["presignedUrls"]["1"].as_str().unwrap().to_owned(),
        batch["presignedUrls"]["2"].as_str().unwrap().to_owned(),
        single.json()["url"].as_str().unwrap().to_owned(),
    ];
    let parts = put_chunks(&urls, &data, 5 * MIB).await;

    let listed = get(&broker, &alice, &format!("{base}?{}", key_query(key))).await;
    listed.assert_status(200, "list");
    let listed = listed.json();
    assert_eq!(listed_numbers(&listed), [1, 2, 3]);
    assert_eq!(listed[2]["Size"], MIB);

    // An ETag S3 does not hold for that part: refused by the broker on every server.
    let mut forged = parts.clone();
    forged[1]["ETag"] = json!("\"0123456789abcdef0123456789abcdef\"");
    let refused = complete(&broker, &alice, &upload, &forged).await;
    companion_error(
        &refused,
        400,
        "parts_mismatch",
        "complete with an unknown ETag",
    );
    // Uppy 6 strips the ETag quotes; both forms are accepted.
    let mut unquoted = parts.clone();
    unquoted[0]["ETag"] = json!(parts[0]["ETag"].as_str().unwrap().trim_matches('"'));
    let done = complete(&broker, &alice, &upload, &unquoted).await;
    done.assert_status(200, "complete");
    assert_eq!(done.json()["key"], key.as_str());
    assert!(
        done.json()["location"]
            .as_str()
            .is_some_and(|l| l.contains("movie.bin"))
    );
    assert!(t.stored(key).await.bytes == data, "the stored bytes");
}

/// `encodeURIComponent` of an upload id.
fn urlencoding(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

async fn companion_form_upload(t: Ctx) {
    let broker = Broker::start(&t).await;
    let alice = broker.token("alice");
    let reply = get(
        &broker,
        &alice,
        &format!(
            "/s3/params?{}",
            query(&[
                ("filename", "notes.txt"),
                ("type", "text/plain"),
                ("metadata[title]", "Notes")
            ])
        ),
    )
    .await;
    reply.assert_status(200, "params");
    let params = reply.json();
    assert_eq!(params["method"], "POST");
    assert!(params["expires"].as_i64().unwrap() >= 300);
    let fields = form_fields(&params["fields"]);
    let key = params["fields"]["key"].as_str().unwrap().to_owned();
    assert!(
        key.starts_with("users/alice/") && key.ends_with("-notes.txt"),
        "{key}"
    );
    let mut file = FilePart::new("notes.txt", b"hello uppy");
    file.content_type = "text/plain".into();
    crate::support::post_fields(params["url"].as_str().unwrap(), &fields, &file)
        .await
        .assert_ok("POST the form");
    let stored = t.stored(&key).await;
    assert_eq!(stored.bytes, b"hello uppy");
    assert_eq!(
        stored.metadata.get("title").map(String::as_str),
        Some("Notes")
    );
}

async fn companion_refuses_oversized_uploads_and_aborts_them(t: Ctx) {
    let broker = Broker::start(&t).await;
    let alice = broker.token("alice");
    // The `brief` profile allows 1 MiB; Uppy never declares the size.
    let upload = create(
        &broker,
        &alice,
        json!({ "filename": "big.txt", "type": "text/plain", "profile": "brief" }),
        "create in brief",
    )
    .await;
    let (key, base) = (&upload.key, &upload.base);
    let part = get(&broker, &alice, &format!("{base}/1?{}", key_query(key))).await;
    part.assert_status(200, "a part URL");
    let url = part.json()["url"].as_str().unwrap().to_owned();
    let parts = put_chunks(&[url], &bytes(2 * MIB, 1), 2 * MIB).await;
    let done = complete(&broker, &alice, &upload, &parts).await;
    companion_error(
        &done,
        400,
        "size_out_of_range",
        "complete 2 MiB in a 1 MiB profile",
    );
    t.assert_keys(&[], "nothing is stored").await;
    let listed = get(&broker, &alice, &format!("{base}?{}", key_query(key))).await;
    assert!(
        listed.status == 404 || listed.json() == json!([]),
        "the oversized upload was aborted: {} {}",
        listed.status,
        listed.text()
    );
}

/// Calls `POST /s3/sign` like Uppy 6's `signRequest`.
async fn sign(broker: &Broker, token: &str, request: Value) -> Value {
    let reply = broker
        .call("POST", "/s3/sign")
        .bearer(token)
        .json(&request)
        .send()
        .await;
    reply.assert_status(200, &format!("sign {request}"));
    reply.json()
}

fn headers_of(signed: &Value) -> Vec<(String, String)> {
    signed["headers"]
        .as_object()
        .map(|h| {
            h.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// Sends a request `POST /s3/sign` answered, as Uppy does: `method` to its URL with its
/// headers and `body`.
async fn send_signed(method: &str, signed: &Value, body: Option<Vec<u8>>) -> Reply {
    let url = signed["url"].as_str().expect("a signed URL");
    send_raw(method, url, &headers_of(signed), body).await
}

/// The text of the first `<tag>` in `xml`.
fn xml_text<'a>(xml: &'a str, tag: &str) -> &'a str {
    let open = format!("<{tag}>");
    let start = xml.find(&open).map(|i| i + open.len()).expect("the tag");
    &xml[start..start + xml[start..].find('<').expect("its end")]
}

/// Uppy 6's CompleteMultipartUpload body for `(PartNumber, ETag)` pairs.
fn complete_xml(parts: &[(usize, String)]) -> Vec<u8> {
    std::iter::once("<CompleteMultipartUpload>".to_owned())
        .chain(
            parts
                .iter()
                .map(|(n, e)| format!("<Part><PartNumber>{n}</PartNumber><ETag>{e}</ETag></Part>")),
        )
        .chain(std::iter::once("</CompleteMultipartUpload>".to_owned()))
        .collect::<String>()
        .into_bytes()
}

/// Completion URLs that must be refused, with the code of the refusal: `complete_url` with a
/// byte of its payload changed (the MAC must catch it), a genuine upload ticket of
/// `POST /v1/multipart` (sealed under the same key, with another MAC label), and a genuine
/// grant past its expiry.
async fn forged_grants(
    broker: &Broker,
    token: &str,
    complete_url: &str,
) -> [(String, &'static str); 3] {
    let grant_start = complete_url.find("grant=").unwrap() + "grant=".len();
    let payload_at = grant_start + complete_url[grant_start..].find('.').unwrap() + 1;
    let payload_at = payload_at + complete_url[payload_at..].find('.').unwrap() + 5;
    let mut tampered = complete_url.to_owned().into_bytes();
    tampered[payload_at] = if tampered[payload_at] == b'A' {
        b'B'
    } else {
        b'A'
    };
    let tampered = String::from_utf8(tampered).unwrap();
    let ticket = broker.create_upload(token, "ticket.bin", MIB).await.ticket;
    broker
        .multipart_abort(token, &ticket)
        .await
        .assert_status(204, "abort the ticket's upload");
    let keys = s3_broker::multipart::TicketKeys::new(vec![(
        s3_broker::multipart::TicketKeyId::new("e2e").unwrap(),
        crate::support::broker::TICKET_SECRET.as_bytes().to_vec(),
    )])
    .unwrap();
    let sealed = url::Url::parse(complete_url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "grant")
        .unwrap()
        .1
        .into_owned();
    let mut grant = keys.open_completion(&sealed, chrono::Utc::now()).unwrap();
    grant.upload.expires_at = chrono::Utc::now() - chrono::Duration::seconds(1);
    let url_of =
        |sealed: &str| format!("{}/s3/complete?{}", broker.url, query(&[("grant", sealed)]));
    [
        (tampered, "invalid_ticket"),
        (url_of(&ticket), "invalid_ticket"),
        (url_of(&keys.seal_completion(&grant)), "ticket_expired"),
    ]
}

async fn sign_request_multipart_upload(t: Ctx) {
    let broker = Broker::start(&t).await;
    let alice = broker.token("alice");
    let data = bytes(7 * MIB, 33);
    let created = sign(
        &broker,
        &alice,
        json!({ "method": "POST", "key": "2f1c-clip.bin" }),
    )
    .await;
    let key = created["key"]
        .as_str()
        .expect("the broker's key")
        .to_owned();
    assert!(
        key.starts_with("users/alice/") && key.ends_with("-2f1c-clip.bin"),
        "{key}"
    );
    let reply = send_signed("POST", &created, None).await;
    reply.assert_ok("CreateMultipartUpload with the signed URL");
    let upload_id = xml_text(&String::from_utf8_lossy(&reply.body), "UploadId").to_owned();

    let mut parts = Vec::new();
    for (i, piece) in data.chunks(5 * MIB).enumerate() {
        let n = i + 1;
        let signed = sign(
            &broker,
            &alice,
            json!({ "method": "PUT", "key": key, "uploadId": upload_id, "partNumber": n }),
        )
        .await;
        let reply = send_signed("PUT", &signed, Some(piece.to_vec())).await;
        reply.assert_ok(&format!("UploadPart {n}"));
        parts.push((n, reply.header("etag").unwrap().to_owned()));
    }
    let listed = sign(
        &broker,
        &alice,
        json!({ "method": "GET", "key": key, "uploadId": upload_id }),
    )
    .await;
    let reply = send_signed("GET", &listed, None).await;
    reply.assert_ok("ListParts");
    let listing = String::from_utf8_lossy(&reply.body).into_owned();
    assert_eq!(listing.matches("<PartNumber>").count(), 2, "{listing}");

    let complete = sign(
        &broker,
        &alice,
        json!({ "method": "POST", "key": key, "uploadId": upload_id }),
    )
    .await;
    // Not a presigned S3 URL (with which any parts list could be completed): the broker's
    // own, where it checks each part before completing.
    let complete_url = complete["url"].as_str().unwrap().to_owned();
    assert!(
        complete_url.starts_with(&format!("{}/s3/complete?grant=", broker.url)),
        "{complete}"
    );
    let xml_header = vec![("content-type".to_owned(), "application/xml".to_owned())];
    // A forged grant, or parts S3 does not hold with those ETags, complete nothing.
    let reply = send_raw(
        "POST",
        &complete_url,
        &xml_header,
        Some(vec![b' '; 2 * 1024 * 1024 + 1]),
    )
    .await;
    assert_eq!(
        reply.status,
        413,
        "a parts list over 2 MiB: {}",
        reply.text()
    );
    for (url, code) in forged_grants(&broker, &alice, &complete_url).await {
        let reply = send_raw("POST", &url, &xml_header, Some(complete_xml(&parts))).await;
        assert_eq!(reply.status, 403, "{code}: {}", reply.text());
        assert!(reply.text().contains(code), "{code}: {}", reply.text());
    }
    // The grant binds the parts S3 held when it was made: a shorter list is refused.
    let reply = send_raw(
        "POST",
        &complete_url,
        &xml_header,
        Some(complete_xml(&parts[..1])),
    )
    .await;
    assert_eq!(reply.status, 400, "fewer parts: {}", reply.text());
    assert!(reply.text().contains("parts_mismatch"), "{}", reply.text());
    let mut wrong = parts.clone();
    wrong[0].1 = "\"0123456789abcdef0123456789abcdef\"".to_owned();
    let reply = send_raw(
        "POST",
        &complete_url,
        &xml_header,
        Some(complete_xml(&wrong)),
    )
    .await;
    assert_eq!(reply.status, 400, "an unknown ETag: {}", reply.text());
    t.assert_keys(&[], "nothing completed yet").await;
    // Uppy 6 strips the ETag quotes.
    let unquoted: Vec<(usize, String)> = parts
        .iter()
        .map(|(n, e)| (*n, e.trim_matches('"').to_owned()))
        .collect();
    let reply = send_raw(
        "POST",
        &complete_url,
        &xml_header,
        Some(complete_xml(&unquoted)),
    )
    .await;
    reply.assert_ok("CompleteMultipartUpload through the broker");
    let result = String::from_utf8_lossy(&reply.body).into_owned();
    assert_eq!(xml_text(&result, "Key"), key, "{result}");
    assert!(
        xml_text(&result, "Location").contains("clip.bin"),
        "{result}"
    );
    assert!(t.stored(&key).await.bytes == data, "the stored bytes");

    // AbortMultipartUpload of a second upload, through a signed URL.
    let second = sign(
        &broker,
        &alice,
        json!({ "method": "POST", "key": "77-other.bin" }),
    )
    .await;
    let second_key = second["key"].as_str().unwrap().to_owned();
    let reply = send_signed("POST", &second, None).await;
    reply.assert_ok("create the second upload");
    let second_id = xml_text(&String::from_utf8_lossy(&reply.body), "UploadId").to_owned();
    let part = sign(
        &broker,
        &alice,
        json!({ "method": "PUT", "key": second_key, "uploadId": second_id, "partNumber": 1 }),
    )
    .await;
    send_signed("PUT", &part, Some(vec![b'x']))
        .await
        .assert_ok("a part of the second upload");
    let abort = sign(
        &broker,
        &alice,
        json!({ "method": "DELETE", "key": second_key, "uploadId": second_id }),
    )
    .await;
    send_signed("DELETE", &abort, None)
        .await
        .assert_ok("AbortMultipartUpload");
    let list = sign(
        &broker,
        &alice,
        json!({ "method": "GET", "key": second_key, "uploadId": second_id }),
    )
    .await;
    let listed = send_signed("GET", &list, None).await;
    assert!(
        listed.status == 404 || !String::from_utf8_lossy(&listed.body).contains("<PartNumber>"),
        "nothing is left of the aborted upload: {} {}",
        listed.status,
        listed.text()
    );

    // DeleteObject of the completed file (the token has the delete scope).
    let delete = sign(&broker, &alice, json!({ "method": "DELETE", "key": key })).await;
    send_signed("DELETE", &delete, None)
        .await
        .assert_ok("DeleteObject");
    assert!(t.object(&key).await.is_none(), "the object is deleted");

    // Another principal cannot touch alice's key, and nobody signs a key outside a namespace.
    let bob = broker.token("bob");
    for request in [
        json!({ "method": "PUT", "key": key, "uploadId": upload_id, "partNumber": 1 }),
        json!({ "method": "POST", "key": key, "uploadId": upload_id }),
        json!({ "method": "DELETE", "key": key, "uploadId": upload_id }),
        json!({ "method": "DELETE", "key": key }),
    ] {
        let reply = broker
            .call("POST", "/s3/sign")
            .bearer(&bob)
            .json(&request)
            .send()
            .await;
        companion_error(&reply, 403, "not_owner", &format!("bob signs {request}"));
    }
}

async fn sign_request_put_object_is_a_form(t: Ctx) {
    let broker = Broker::start(&t).await;
    let alice = broker.token("alice");
    let signed = sign(
        &broker,
        &alice,
        json!({ "method": "PUT", "key": "9a-photo.png", "contentType": "image/png" }),
    )
    .await;
    let key = signed["key"].as_str().unwrap().to_owned();
    assert_eq!(signed["fields"]["key"], key.as_str());
    assert_eq!(signed["fields"]["Content-Type"], "image/png");
    let fields = form_fields(&signed["fields"]);
    let mut file = FilePart::new("photo.png", b"\x89PNG not really");
    file.content_type = "image/png".into();
    crate::support::post_fields(signed["url"].as_str().unwrap(), &fields, &file)
        .await
        .assert_ok("the form Uppy 6 posts");
    assert_eq!(t.stored(&key).await.bytes, b"\x89PNG not really");
}

/// ListParts answers at most 1,000 parts a page: 1,001 one-byte parts (through Uppy's unsized
/// part URLs) must all be listed.
async fn listing_follows_list_parts_pages(t: Ctx) {
    let broker = Broker::start(&t).await;
    let alice = broker.token("alice");
    let upload = create(
        &broker,
        &alice,
        json!({ "filename": "many.bin", "type": "application/octet-stream" }),
        "create",
    )
    .await;
    let (key, base) = (&upload.key, &upload.base);
    let numbers: Vec<String> = (1..=1001).map(|n| n.to_string()).collect();
    let batch = get(
        &broker,
        &alice,
        &format!(
            "{base}/batch?{}",
            query(&[("key", key), ("partNumbers", &numbers.join(","))])
        ),
    )
    .await;
    batch.assert_status(200, "a batch of 1,001 part URLs");
    let urls = batch.json()["presignedUrls"].clone();
    let client = reqwest::Client::new();
    let sends = numbers.iter().map(|n| {
        let request = client
            .put(urls[n].as_str().unwrap())
            .body(vec![b'x'])
            .send();
        async move { request.await.map(|r| r.status()) }
    });
    let mut pending = futures_util::stream::iter(sends).buffer_unordered(16);
    while let Some(status) = futures_util::StreamExt::next(&mut pending).await {
        assert!(status.expect("an answer").is_success());
    }
    let listed = get(&broker, &alice, &format!("{base}?{}", key_query(key))).await;
    listed.assert_status(200, "list");
    assert_eq!(
        listed_numbers(&listed.json()),
        (1..=1001).collect::<Vec<u64>>(),
        "every page, in order"
    );
    broker
        .call("DELETE", &format!("{base}?{}", key_query(key)))
        .bearer(&alice)
        .send()
        .await
        .assert_status(200, "abort");
}
