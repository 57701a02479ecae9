//! The native multipart API end to end: real parts of real bytes sent to the S3 server with
//! the broker's part URLs, completed by the broker; and every refusal, which must touch
//! nothing.

use crate::support::broker::{Broker, Options};
use crate::support::multipart::{MIB, assert_part_refused, bytes, upload_parts};
use crate::support::{Ctx, Server};
use serde_json::{Value, json};

on_both_servers!(
    upload_in_parts_then_download,
    a_part_of_another_size_is_refused_by_s3,
    tampered_or_foreign_tickets_touch_nothing,
    complete_refuses_parts_that_do_not_match_the_plan,
    abort_removes_the_upload,
    complete_does_not_overwrite_an_existing_object,
    s3_down_or_slow_is_a_503_and_grants_keep_working,
    a_native_upload_cannot_be_reached_through_the_uppy_routes,
    parts_carry_their_signed_checksums,
);

with_shared_broker!(create_refuses_bad_plans);

/// 12 MiB + 5 bytes: three parts of 5, 5 and 2 MiB + 5.
const SIZE: usize = 12 * MIB + 5;

/// The part numbers S3 holds, per `GET /v1/multipart/parts`.
async fn held_parts(broker: &Broker, token: &str, ticket: &str) -> Vec<u64> {
    let reply = broker.multipart_list(token, ticket).await;
    reply.assert_status(200, "list parts");
    reply.json()["parts"]
        .as_array()
        .expect("parts")
        .iter()
        .map(|p| p["part_number"].as_u64().expect("a number"))
        .collect()
}

async fn upload_in_parts_then_download(t: Ctx) {
    let broker = Broker::start(&t).await;
    let alice = broker.token("alice");
    let data = bytes(SIZE, 7);
    let upload = broker.create_upload(&alice, "video.bin", SIZE).await;
    assert_eq!(upload.json["part_size"], 5 * MIB);
    assert_eq!(upload.json["part_count"], 3);
    assert_eq!(upload.json["bucket"], t.bucket.as_str());
    assert!(upload.key.starts_with("users/alice/") && upload.key.ends_with("-video.bin"));
    assert!(upload.json["upload_id"].is_string());

    let grants = broker.part_grants(&alice, &upload).await;
    let sizes: Vec<u64> = grants.iter().map(|g| g["size"].as_u64().unwrap()).collect();
    assert_eq!(sizes, [5 * MIB as u64, 5 * MIB as u64, 2 * MIB as u64 + 5]);
    for g in &grants {
        assert_eq!(g["headers"]["content-length"], g["size"].to_string());
    }
    let receipts = upload_parts(&grants, &data).await;
    assert_eq!(held_parts(&broker, &alice, &upload.ticket).await, [1, 2, 3]);
    t.assert_keys(&[], "before complete").await;

    let reply = broker
        .multipart_complete(&alice, &upload.ticket, Value::Array(receipts))
        .await;
    reply.assert_status(200, "complete");
    assert_eq!(reply.json()["key"], upload.key.as_str());
    assert_eq!(reply.json()["size"], SIZE);
    let stored = t.stored(&upload.key).await;
    assert!(
        stored.bytes == data,
        "the stored object is the uploaded bytes"
    );
    assert_eq!(
        stored.content_type.as_deref(),
        Some("application/octet-stream")
    );

    let download = broker.download(&alice, &upload.key).await.grant("download");
    assert!(download.get().await.body == data, "the downloaded bytes");
}

async fn a_part_of_another_size_is_refused_by_s3(t: Ctx) {
    let broker = Broker::start(&t).await;
    let alice = broker.token("alice");
    let upload = broker.create_upload(&alice, "big.bin", SIZE).await;
    let grants = broker.part_grants(&alice, &upload).await;
    assert_part_refused(&grants[0], &bytes(5 * MIB + 1, 1), "part 1 one byte larger").await;
    assert_part_refused(
        &grants[0],
        &bytes(5 * MIB - 1, 1),
        "part 1 one byte smaller",
    )
    .await;
    assert_part_refused(&grants[2], &bytes(5 * MIB, 1), "the last part at full size").await;
    assert_eq!(
        held_parts(&broker, &alice, &upload.ticket).await,
        Vec::<u64>::new(),
        "S3 holds no part"
    );
    broker
        .multipart_abort(&alice, &upload.ticket)
        .await
        .assert_status(204, "abort");
}

/// Every byte position of the ticket altered in turn would be slow; alter the payload, the
/// MAC, the key id and the version.
fn tampered(ticket: &str) -> Vec<String> {
    let flip = |i: usize| {
        let mut b = ticket.as_bytes().to_vec();
        b[i] = if b[i] == b'A' { b'B' } else { b'A' };
        String::from_utf8(b).unwrap()
    };
    let dots: Vec<usize> = ticket.match_indices('.').map(|(i, _)| i).collect();
    vec![
        flip(dots[1] + 5),
        flip(ticket.len() - 3),
        flip(dots[0] + 1),
        ticket.replacen("v1.", "v2.", 1),
        format!("{ticket}x"),
        ticket[..ticket.len() - 1].to_owned(),
        "not a ticket".to_owned(),
    ]
}

/// Asserts that signing, listing, completing and aborting with `ticket` as `token` are each
/// refused with 403 `code` (`what` names the ticket in failure messages).
async fn every_call_refused(
    broker: &Broker,
    token: &str,
    ticket: &str,
    receipts: &Value,
    code: &str,
    what: &str,
) {
    broker
        .multipart_sign(token, json!({ "upload": ticket }))
        .await
        .problem(403, code, &format!("sign with {what}"));
    broker
        .multipart_list(token, ticket)
        .await
        .problem(403, code, &format!("list with {what}"));
    broker
        .multipart_complete(token, ticket, receipts.clone())
        .await
        .problem(403, code, &format!("complete with {what}"));
    broker
        .multipart_abort(token, ticket)
        .await
        .problem(403, code, &format!("abort with {what}"));
}

async fn tampered_or_foreign_tickets_touch_nothing(t: Ctx) {
    let broker = Broker::start(&t).await;
    let alice = broker.token("alice");
    let bob = broker.token("bob");
    let data = bytes(SIZE, 3);
    let upload = broker.create_upload(&alice, "mine.bin", SIZE).await;
    let grants = broker.part_grants(&alice, &upload).await;
    let receipts = Value::Array(upload_parts(&grants, &data).await);

    for forged in tampered(&upload.ticket) {
        every_call_refused(
            &broker,
            &alice,
            &forged,
            &receipts,
            "invalid_ticket",
            "a tampered ticket",
        )
        .await;
    }
    every_call_refused(
        &broker,
        &bob,
        &upload.ticket,
        &receipts,
        "not_owner",
        "alice's ticket as bob",
    )
    .await;
    // A genuine ticket (sealed with the broker's key) past its expiry.
    let keys = s3_broker::multipart::TicketKeys::new(vec![(
        s3_broker::multipart::TicketKeyId::new("e2e").unwrap(),
        crate::support::broker::TICKET_SECRET.as_bytes().to_vec(),
    )])
    .unwrap();
    let mut ticket = keys
        .open(&upload.ticket, chrono::Utc::now())
        .expect("the broker's key");
    ticket.upload.expires_at = chrono::Utc::now() - chrono::Duration::seconds(1);
    let expired = keys.seal(&ticket);
    every_call_refused(
        &broker,
        &alice,
        &expired,
        &receipts,
        "ticket_expired",
        "an expired ticket",
    )
    .await;
    // Bob's own ticket does not reach alice's key either: keys come from the ticket only.
    t.assert_keys(&[], "after the refusals").await;
    assert_eq!(held_parts(&broker, &alice, &upload.ticket).await, [1, 2, 3]);
    broker
        .multipart_complete(&alice, &upload.ticket, receipts)
        .await
        .assert_status(200, "alice completes her upload");
    assert!(t.stored(&upload.key).await.bytes == data);
}

async fn complete_refuses_parts_that_do_not_match_the_plan(t: Ctx) {
    let broker = Broker::start(&t).await;
    let alice = broker.token("alice");
    let data = bytes(SIZE, 9);
    let upload = broker.create_upload(&alice, "ordered.bin", SIZE).await;
    let grants = broker.part_grants(&alice, &upload).await;
    let receipts = upload_parts(&grants, &data).await;
    let cases = [
        (
            "missing part 2",
            vec![receipts[0].clone(), receipts[2].clone()],
        ),
        ("missing the last part", receipts[..2].to_vec()),
        (
            "reordered",
            vec![
                receipts[1].clone(),
                receipts[0].clone(),
                receipts[2].clone(),
            ],
        ),
        (
            "duplicated",
            vec![
                receipts[0].clone(),
                receipts[0].clone(),
                receipts[1].clone(),
                receipts[2].clone(),
            ],
        ),
        ("no parts", vec![]),
    ];
    for (what, parts) in cases {
        broker
            .multipart_complete(&alice, &upload.ticket, Value::Array(parts))
            .await
            .problem(400, "parts_mismatch", what);
    }
    // The broker compares the ETags with ListParts itself (s3s-fs 0.17 would not).
    let mut wrong_etag = receipts.clone();
    wrong_etag[1]["etag"] = json!("\"0123456789abcdef0123456789abcdef\"");
    broker
        .multipart_complete(&alice, &upload.ticket, Value::Array(wrong_etag))
        .await
        .problem(400, "parts_mismatch", "an ETag S3 never returned");
    t.assert_keys(&[], "after refused completes").await;
    broker
        .multipart_complete(&alice, &upload.ticket, Value::Array(receipts))
        .await
        .assert_status(200, "the right parts");
    assert!(t.stored(&upload.key).await.bytes == data);
}

async fn abort_removes_the_upload(t: Ctx) {
    let broker = Broker::start(&t).await;
    let alice = broker.token("alice");
    let data = bytes(SIZE, 5);
    let upload = broker.create_upload(&alice, "dropped.bin", SIZE).await;
    let grants = broker.part_grants(&alice, &upload).await;
    let receipts = upload_parts(&grants[..1], &data[..5 * MIB]).await;
    broker
        .multipart_abort(&alice, &upload.ticket)
        .await
        .assert_status(204, "abort");
    // AWS and Ceph answer NoSuchUpload; s3s-fs 0.17 lists no parts.
    let listed = broker.multipart_list(&alice, &upload.ticket).await;
    if listed.status == 200 {
        assert_eq!(
            listed.json()["parts"],
            json!([]),
            "no part is left after abort"
        );
    } else {
        listed.problem(404, "no_such_upload", "list after abort");
    }
    assert_part_refused(
        &grants[1],
        &data[5 * MIB..10 * MIB],
        "a part sent after abort",
    )
    .await;
    let mut all = receipts;
    all.push(json!({ "part_number": 2, "etag": "\"aa\"" }));
    all.push(json!({ "part_number": 3, "etag": "\"bb\"" }));
    let reply = broker
        .multipart_complete(&alice, &upload.ticket, Value::Array(all))
        .await;
    // AWS answers NoSuchUpload; s3s-fs 0.17 AccessDenied; Ceph 16 an InternalError.
    assert!(
        reply.status >= 400 && reply.header("content-type") == Some("application/problem+json"),
        "complete after abort must fail: {} {}",
        reply.status,
        reply.text()
    );
    t.assert_keys(&[], "after abort").await;
}

async fn complete_does_not_overwrite_an_existing_object(t: Ctx) {
    let broker = Broker::start(&t).await;
    let alice = broker.token("alice");
    let data = bytes(SIZE, 11);
    let upload = broker.create_upload(&alice, "taken.bin", SIZE).await;
    let grants = broker.part_grants(&alice, &upload).await;
    let receipts = upload_parts(&grants, &data).await;
    // Another writer takes the key while the parts travel.
    t.put(&upload.key, b"first").await;
    let reply = broker
        .multipart_complete(&alice, &upload.ticket, Value::Array(receipts))
        .await;
    match t.bed.server {
        Server::S3sFs => {
            reply.problem(412, "object_exists", "complete over an existing object");
            assert_eq!(
                t.stored(&upload.key).await.bytes,
                b"first",
                "the first object is intact"
            );
        }
        Server::Ceph => {
            // Ceph 16 predates conditional CompleteMultipartUpload and ignores If-None-Match.
            reply.assert_status(200, "ceph-rgw 16 ignores If-None-Match on complete");
        }
    }
}

async fn create_refuses_bad_plans(b: &'static Broker) {
    let alice = b.token("alice");
    let base = json!({ "filename": "a.bin", "content_type": "application/octet-stream" });
    let with = |extra: Value| {
        let mut body = base.clone();
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    let cases = [
        (
            json!({ "size": 10, "part_size": 5 * MIB - 1 }),
            400,
            "invalid_part_size",
        ),
        (
            json!({ "size": 10, "part_size": 5u64 << 30 | 1 }),
            400,
            "invalid_part_size",
        ),
        (
            json!({ "size": 60_000 * MIB, "part_size": 5 * MIB }),
            400,
            "size_out_of_range",
        ),
        (
            json!({ "size": 10, "checksum_algorithm": "MD5" }),
            400,
            "invalid_checksum_algorithm",
        ),
        (
            json!({ "size": 10, "checksum_algorithm": "CRC64NVME" }),
            400,
            "invalid_checksum_algorithm",
        ),
        (
            json!({ "size": 10, "profile": "nope" }),
            404,
            "unknown_profile",
        ),
        (
            json!({ "size": 10, "filename": "../x" }),
            400,
            "invalid_filename",
        ),
        (
            json!({ "size": 10, "content_type": "text/html" }),
            400,
            "content_type_not_allowed",
        ),
        (json!({ "size": 10, "extra": 1 }), 400, "unknown_field"),
        // No size.
        (json!({}), 400, "invalid_field"),
    ];
    for (extra, status, code) in cases {
        let body = with(extra);
        b.multipart_create(&alice, body.clone()).await.problem(
            status,
            code,
            &format!("create {body}"),
        );
    }
    let reader = b.token_with("reader", &[s3_broker::domain::Scope::Download]);
    b.multipart_create(&reader, with(json!({ "size": 10 })))
        .await
        .problem(403, "insufficient_scope", "create without the upload scope");
}

async fn s3_down_or_slow_is_a_503_and_grants_keep_working(t: Ctx) {
    // A port that accepts connections and never answers (the backlog completes the
    // handshake), and a port nobody listens on.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a port")
        .local_addr()
        .expect("its address");
    let real = Broker::start(&t).await;
    let alice = real.token("alice");
    let upload = real.create_upload(&alice, "later.bin", SIZE).await;
    for endpoint in [
        format!("http://{}", silent.local_addr().expect("its address")),
        format!("http://{closed}"),
    ] {
        let broker = Broker::start_with(
            t.bed,
            t.bucket.as_str(),
            Options {
                s3_calls_to: Some(endpoint.clone()),
                ..Options::default()
            },
        )
        .await;
        let token = broker.token("alice");
        let started = std::time::Instant::now();
        let replies = [
            broker
                .multipart_create(
                    &token,
                    json!({ "filename": "a.bin", "content_type": "application/octet-stream", "size": SIZE }),
                )
                .await,
            broker.multipart_list(&token, &upload.ticket).await,
            broker.multipart_abort(&token, &upload.ticket).await,
            broker
                .multipart_complete(&token, &upload.ticket, json!([{ "part_number": 1, "etag": "e" }, { "part_number": 2, "etag": "e" }, { "part_number": 3, "etag": "e" }]))
                .await,
        ];
        for reply in &replies {
            reply.problem(503, "s3_unavailable", &format!("S3 at {endpoint}"));
            assert!(
                reply.header("retry-after").is_some(),
                "503 carries Retry-After"
            );
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "bounded: {:?}",
            started.elapsed()
        );
        // Signing needs no S3 call: single-request grants keep working.
        let grant = broker
            .upload(
                &token,
                json!({ "filename": "ok.txt", "content_type": "text/plain", "size": 2 }),
            )
            .await
            .grant("a PUT grant while S3 is unreachable");
        grant
            .put(b"ok")
            .await
            .assert_ok("the grant works once S3 is back");
    }
    let keys = t.keys().await;
    assert!(
        keys.len() == 2 && keys.iter().all(|k| k.ends_with("-ok.txt")),
        "only the two PUT uploads are stored: {keys:?}"
    );
}

async fn a_native_upload_cannot_be_reached_through_the_uppy_routes(t: Ctx) {
    let broker = Broker::start(&t).await;
    let alice = broker.token("alice");
    let data = bytes(SIZE, 13);
    let upload = broker.create_upload(&alice, "planned.bin", SIZE).await;
    let grants = broker.part_grants(&alice, &upload).await;
    let receipts = upload_parts(&grants, &data).await;
    // The Uppy routes sign part URLs without a length (Uppy declares none), so they must not
    // sign one for a native upload, whose plan fixes every part's length: they only take the
    // sealed upload ids they handed out themselves, never S3's id of a native upload.
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("key", &upload.key)
        .finish();
    let upload_id = upload.json["upload_id"].as_str().unwrap();
    let encoded =
        percent_encoding::utf8_percent_encode(upload_id, percent_encoding::NON_ALPHANUMERIC);
    let unsized_url = broker
        .call("GET", &format!("/s3/multipart/{encoded}/1?{query}"))
        .bearer(&alice)
        .send()
        .await;
    unsized_url.assert_status(400, "an Uppy part URL for the native upload");
    assert_eq!(unsized_url.json()["code"], "invalid_upload_id");
    let signed = broker
        .call("POST", "/s3/sign")
        .bearer(&alice)
        .json(
            &json!({ "method": "PUT", "key": upload.key, "uploadId": upload_id, "partNumber": 1 }),
        )
        .send()
        .await;
    signed.assert_status(400, "Uppy 6's part URL for the native upload");
    assert_eq!(signed.json()["code"], "invalid_upload_id");
    // The upload is untouched and completes as planned.
    broker
        .multipart_complete(&alice, &upload.ticket, Value::Array(receipts))
        .await
        .assert_status(200, "the planned parts complete");
    assert!(
        t.stored(&upload.key).await.bytes == data,
        "the planned bytes"
    );
}

async fn parts_carry_their_signed_checksums(t: Ctx) {
    use base64::Engine;
    use sha2::Digest;
    let sha256 = |bytes: &[u8]| {
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(bytes))
    };
    let broker = Broker::start(&t).await;
    let alice = broker.token("alice");
    let data = bytes(SIZE, 17);
    let reply = broker
        .multipart_create(
            &alice,
            json!({
                "filename": "sums.bin",
                "content_type": "application/octet-stream",
                "size": SIZE,
                "part_size": 5 * MIB,
                "checksum_algorithm": "SHA256",
            }),
        )
        .await;
    reply.assert_status(200, "create with a checksum algorithm");
    let ticket = reply.json()["upload"].as_str().unwrap().to_owned();
    let key = reply.json()["key"].as_str().unwrap().to_owned();
    let chunks: Vec<&[u8]> = data.chunks(5 * MIB).collect();
    broker
        .multipart_sign(&alice, json!({ "upload": ticket }))
        .await
        .problem(400, "checksum_required", "parts without their checksums");
    let checksums: serde_json::Map<String, Value> = chunks
        .iter()
        .enumerate()
        .map(|(i, c)| ((i + 1).to_string(), Value::String(sha256(c))))
        .collect();
    let signed = broker
        .multipart_sign(&alice, json!({ "upload": ticket, "checksums": checksums }))
        .await;
    signed.assert_status(200, "parts with their checksums");
    let grants = signed.json()["parts"].as_array().unwrap().clone();
    assert_eq!(
        grants[0]["headers"]["x-amz-checksum-sha256"],
        sha256(chunks[0])
    );
    // Other bytes of the planned length under part 1's signed checksum.
    let mut other = chunks[0].to_vec();
    other[0] ^= 1;
    let reply = crate::support::multipart::put_part(&grants[0], &other).await;
    match t.bed.server {
        Server::S3sFs => reply.assert_rejected("part 1 with other bytes than its checksum"),
        // Ceph 16 ignores x-amz-checksum-* (Content-MD5 is what it verifies).
        Server::Ceph => reply.assert_ok("ceph-rgw 16 ignores x-amz-checksum-sha256"),
    };
    let mut receipts = upload_parts(&grants, &data).await;
    for (receipt, chunk) in receipts.iter_mut().zip(&chunks) {
        receipt["checksum"] = Value::String(sha256(chunk));
    }
    let done = broker
        .multipart_complete(&alice, &ticket, Value::Array(receipts))
        .await;
    done.assert_status(200, "complete with every part's checksum");
    assert!(t.stored(&key).await.bytes == data, "the stored bytes");
}
