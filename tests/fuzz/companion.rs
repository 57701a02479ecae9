//! Companion query strings, path ids and `POST /s3/sign` bodies: random query strings (known
//! and unknown names, repeated ones, bracketed `metadata[...]`, raw `%`, `&`, `=`, `+`,
//! Unicode) on every `/s3` route, with random, altered and genuine sealed upload ids. Nothing
//! answers 5xx (but the closed S3 port's 503), and no route grants a URL for a key that is
//! not alice's.

use crate::keys::{alices, hostile_text};
use crate::support::{Broker, fuzz, ticket_keys, token};
use actix_web::test::TestRequest;
use chrono::{DateTime, Utc};
use proptest::prelude::*;
use s3_broker::domain::{BucketName, NamespaceSegment, ObjectKey, UploadId};
use s3_broker::multipart::NamedUpload;
use serde_json::{Value, json};

/// Bytes a request line cannot carry as they are.
const NOT_ON_THE_WIRE: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

const ALICES_KEY: &str = "users/alice/0b5c0f4e-5a57-4a53-9d4b-2f0b0b0b0b0b-a.bin";

fn query() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        Just("key".to_owned()),
        Just("partNumbers".to_owned()),
        Just("filename".to_owned()),
        Just("type".to_owned()),
        Just("profile".to_owned()),
        "metadata\\[[a-zA-Z\\[\\]]{0,8}\\]",
        "[a-zA-Z%\\[\\]_.-]{0,8}",
    ];
    let value = prop_oneof![
        Just(ALICES_KEY.to_owned()),
        "[0-9,]{0,12}",
        hostile_text(),
        "[%&=+#?;]{0,6}",
    ];
    prop::collection::vec((name, value, any::<bool>()), 0..5).prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|(name, value, raw)| {
                if raw {
                    // As a client would put it on the wire: `%`, `&`, `=`, `+`, `[`, `]` as
                    // they are, only what no request line may carry encoded.
                    let wire = |s: &str| {
                        percent_encoding::utf8_percent_encode(s, NOT_ON_THE_WIRE).to_string()
                    };
                    format!("{}={}", wire(&name), wire(&value))
                } else {
                    let enc = |s: &str| {
                        url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>()
                    };
                    format!("{}={}", enc(&name), enc(&value))
                }
            })
            .collect::<Vec<_>>()
            .join("&")
    })
}

#[derive(Debug, Clone)]
enum Id {
    Genuine,
    Altered(usize),
    Text(String),
}

#[derive(Debug, Clone)]
enum Call {
    Route {
        method: &'static str,
        path: &'static str,
        id: Id,
        query: String,
    },
    Sign(Value, Id),
}

fn ids() -> impl Strategy<Value = Id> {
    prop_oneof![
        Just(Id::Genuine),
        any::<usize>().prop_map(Id::Altered),
        "[A-Za-z0-9._~-]{1,60}".prop_map(Id::Text),
    ]
}

fn calls() -> impl Strategy<Value = Call> {
    let routes = prop::sample::select(vec![
        ("GET", "/s3/params"),
        ("GET", "/s3/multipart/{id}"),
        ("DELETE", "/s3/multipart/{id}"),
        ("GET", "/s3/multipart/{id}/batch"),
        ("GET", "/s3/multipart/{id}/7"),
        ("POST", "/s3/initiated"),
    ]);
    let sign = (
        prop::sample::select(vec!["PUT", "POST", "GET", "DELETE", "HEAD", "put", ""]),
        prop_oneof![Just(ALICES_KEY.to_owned()), hostile_text()],
        prop::option::of(any_part()),
        prop::option::of(hostile_text()),
    );
    prop_oneof![
        (routes, ids(), query()).prop_map(|((method, path), id, query)| Call::Route { method, path, id, query }),
        (sign, ids(), any::<bool>()).prop_map(|((method, key, part, content_type), id, with_id)| {
            let mut body = json!({ "method": method, "key": key, "partNumber": part, "contentType": content_type });
            if !with_id {
                body.as_object_mut().expect("an object").remove("uploadId");
            }
            Call::Sign(body, if with_id { id } else { Id::Text(String::new()) })
        }),
    ]
}

fn any_part() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<u64>().prop_map(Value::from),
        (0u64..10_002).prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        Just(json!("1"))
    ]
}

fn genuine_id() -> String {
    let now: DateTime<Utc> = Utc::now();
    ticket_keys().seal_uppy_upload(&NamedUpload {
        principal: NamespaceSegment::for_subject(None, "alice"),
        profile: "default".into(),
        bucket: BucketName::new("uploads").expect("a bucket"),
        key: ObjectKey::new(ALICES_KEY).expect("a key"),
        upload_id: UploadId::new("2~fuzz").expect("an id"),
        expires_at: DateTime::from_timestamp(now.timestamp() + 3600, 0).expect("a time"),
        file: s3_broker::multipart::DeclaredFile::default(),
    })
}

fn id_text(id: &Id, genuine: &str) -> String {
    match id {
        Id::Genuine => genuine.to_owned(),
        Id::Altered(i) => {
            let mut bytes = genuine.as_bytes().to_vec();
            let i = i % bytes.len();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            String::from_utf8(bytes).expect("ASCII")
        }
        Id::Text(text) => text.clone(),
    }
}

#[actix_web::test]
async fn companion_queries_ids_and_sign_bodies() {
    let broker = Broker::start().await;
    let alice = token("alice");
    let genuine = genuine_id();
    fuzz("companion", calls(), |call| {
        let (broker, alice, genuine) = (&broker, &alice, &genuine);
        async move {
            let request = match &call {
                Call::Route {
                    method,
                    path,
                    id,
                    query,
                } => {
                    let id: String =
                        url::form_urlencoded::byte_serialize(id_text(id, genuine).as_bytes())
                            .collect();
                    let mut uri = path.replace("{id}", &id);
                    if *path == "/s3/initiated" {
                        uri = format!("{uri}?upload={id}&{query}");
                    } else {
                        uri = format!("{uri}?{query}");
                    }
                    let request = match *method {
                        "GET" => TestRequest::get(),
                        "DELETE" => TestRequest::delete(),
                        _ => TestRequest::post(),
                    };
                    request.uri(&uri)
                }
                Call::Sign(body, id) => {
                    let mut body = body.clone();
                    if let Id::Text(text) = id
                        && text.is_empty()
                    {
                    } else {
                        body["uploadId"] = json!(id_text(id, genuine));
                    }
                    TestRequest::post().uri("/s3/sign").set_json(body)
                }
            };
            let request = request.insert_header(("authorization", format!("Bearer {alice}")));
            let (status, answer) = broker.send(request).await?;
            if status == 200 {
                // Every signed URL names a key of alice's (one she named, or one the broker
                // chose for her).
                for url in signed_urls(&answer) {
                    let key = signed_key(&url).unwrap_or_default();
                    if !alices(&key) {
                        return Err(format!("a URL for {key:?}: {answer}"));
                    }
                }
                let json: Value = serde_json::from_str(&answer).unwrap_or_default();
                for key in [&json["key"], &json["fields"]["key"]] {
                    if let Some(key) = key.as_str()
                        && !alices(key)
                    {
                        return Err(format!("a grant for {key:?}: {answer}"));
                    }
                }
            }
            Ok(())
        }
    })
    .await;
}

/// The presigned S3 URLs in an answer (any string value with a signature).
fn signed_urls(answer: &str) -> Vec<String> {
    fn walk(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::String(text) if text.contains("X-Amz-Signature") => out.push(text.clone()),
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            Value::Object(map) => map.values().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Ok(json) = serde_json::from_str::<Value>(answer) {
        walk(&json, &mut out);
    }
    out
}

/// The key of a path-style presigned URL of the bucket `uploads`.
fn signed_key(url: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    let path = url.path().strip_prefix("/uploads/")?;
    percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .ok()
        .map(|k| k.into_owned())
}
