//! The XML body of `POST /s3/complete` under a genuine completion grant: arbitrary text,
//! almost-right documents (parts with any number and ETag, unknown and nested elements,
//! entities, DOCTYPEs, comments, CDATA, huge numbers). Parsing never panics, no body answers
//! 5xx (but the closed S3 port's 503), and only the exact parts the grant binds get past the
//! digest (they then need S3).

use crate::support::{Broker, fuzz, ticket_keys};
use actix_web::test::TestRequest;
use chrono::{DateTime, Utc};
use proptest::prelude::*;
use s3_broker::domain::{BucketName, NamespaceSegment, ObjectKey, UploadId};
use s3_broker::multipart::{CompletionGrant, NamedUpload, parts_digest};

fn part() -> impl Strategy<Value = String> {
    let number = prop_oneof![
        "[0-9]{1,6}",
        "-?[0-9]{1,25}",
        "\\PC{0,6}",
        Just("1".to_owned()),
        Just("2".to_owned())
    ];
    let etag = prop_oneof![
        "\"?[0-9a-f]{32}\"?",
        "\\PC{0,40}",
        Just("\"e1\"".to_owned()),
        Just("e2".to_owned()),
        Just("&quot;e1&quot;".to_owned())
    ];
    let extra = prop_oneof![
        Just(String::new()),
        Just("<ChecksumSHA256>x</ChecksumSHA256>".to_owned()),
        Just("<Part><PartNumber>1</PartNumber></Part>".to_owned()),
        "<[A-Za-z]{1,8}>[^<]{0,10}</[A-Za-z]{1,8}>",
        Just("<!-- c -->".to_owned()),
        Just("<![CDATA[<x>]]>".to_owned()),
    ];
    (number, etag, extra, any::<bool>()).prop_map(|(n, e, extra, swap)| {
        if swap {
            format!("<Part>{extra}<ETag>{e}</ETag><PartNumber>{n}</PartNumber></Part>")
        } else {
            format!("<Part><PartNumber>{n}</PartNumber>{extra}<ETag>{e}</ETag></Part>")
        }
    })
}

fn bodies() -> impl Strategy<Value = String> {
    let prolog = prop_oneof![
        Just(String::new()),
        Just("<?xml version=\"1.0\" encoding=\"UTF-8\"?>".to_owned()),
        Just("<!DOCTYPE x [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]>".to_owned()),
        Just("<?xml version=\"1.1\"?>".to_owned()),
    ];
    let root = prop::sample::select(vec![
        "CompleteMultipartUpload",
        "completemultipartupload",
        "X",
        "",
    ]);
    prop_oneof![
        20 => (prolog, root, prop::collection::vec(part(), 0..6), "[^<>]{0,10}").prop_map(|(prolog, root, parts, junk)| {
            format!("{prolog}<{root}>{}{junk}</{root}>", parts.concat())
        }),
        5 => "\\PC{0,300}",
        5 => ".{0,100}",
        1 => Just("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"e1\"</ETag></Part><Part><PartNumber>2</PartNumber><ETag>\"e2\"</ETag></Part></CompleteMultipartUpload>".to_owned()),
    ]
}

fn grant() -> String {
    let now: DateTime<Utc> = Utc::now();
    ticket_keys().seal_completion(&CompletionGrant {
        upload: NamedUpload {
            principal: NamespaceSegment::for_subject(None, "alice"),
            profile: "default".into(),
            bucket: BucketName::new("uploads").expect("a bucket"),
            key: ObjectKey::new("users/alice/0b5c-a.bin").expect("a key"),
            upload_id: UploadId::new("2~fuzz").expect("an id"),
            expires_at: DateTime::from_timestamp(now.timestamp() + 3600, 0).expect("a time"),
            file: s3_broker::multipart::DeclaredFile::default(),
        },
        parts_digest: parts_digest([(1, "\"e1\""), (2, "\"e2\"")]),
        etags_bound: true,
        subject: None,
    })
}

#[actix_web::test]
async fn completion_xml_bodies() {
    let broker = Broker::start().await;
    let uri = format!("/s3/complete?grant={}", grant());
    fuzz("completion_xml", bodies(), |body| {
        let (broker, uri) = (&broker, &uri);
        async move {
            let request = TestRequest::post()
                .uri(uri)
                .insert_header(("content-type", "application/xml"))
                .set_payload(body.clone());
            let (status, answer) = broker.send(request).await?;
            if status == 200 {
                return Err(format!("completed without S3: {answer}"));
            }
            Ok(())
        }
    })
    .await;
}
