//! Sealed records: upload tickets, completion grants and sealed Uppy upload ids, as arbitrary
//! text and as mutations of genuine ones (a byte changed, cut, doubled, spliced with another
//! kind). Opening never panics, and only the genuine text opens, to the record sealed.

use crate::support::{fuzz, ticket_keys};
use chrono::{DateTime, Utc};
use proptest::prelude::*;
use s3_broker::domain::{BucketName, NamespaceSegment, ObjectKey, UploadId};
use s3_broker::multipart::{CompletionGrant, NamedUpload, PartPlan, UploadTicket};

fn upload(now: DateTime<Utc>, key: &str, id: &str) -> NamedUpload {
    NamedUpload {
        principal: NamespaceSegment::for_subject(None, "alice"),
        profile: "default".into(),
        bucket: BucketName::new("uploads").expect("a bucket"),
        key: ObjectKey::new(format!("users/alice/{key}")).expect("a key"),
        upload_id: UploadId::new(id).expect("an id"),
        expires_at: DateTime::from_timestamp(now.timestamp() + 3600, 0).expect("a time"),
        file: s3_broker::multipart::DeclaredFile::default(),
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Cut(usize),
    Insert(usize, char),
    Splice(usize),
    Arbitrary(String),
}

fn mutations() -> impl Strategy<Value = (u8, String, String, Mutation)> {
    (
        0u8..3,
        "[a-z0-9._-]{1,40}",
        "[A-Za-z0-9~._+/=-]{1,120}",
        prop_oneof![
            (any::<usize>(), 1u8..=255).prop_map(|(i, x)| Mutation::Flip(i, x)),
            any::<usize>().prop_map(Mutation::Cut),
            (any::<usize>(), any::<char>()).prop_map(|(i, c)| Mutation::Insert(i, c)),
            any::<usize>().prop_map(Mutation::Splice),
            prop_oneof![
                "\\PC{0,200}",
                "v1\\.[a-z]{0,6}\\.[A-Za-z0-9_-]{0,80}\\.[A-Za-z0-9_-]{0,50}"
            ]
            .prop_map(Mutation::Arbitrary),
        ],
    )
}

#[actix_web::test]
async fn tickets_grants_and_upload_ids() {
    let keys = ticket_keys();
    fuzz("sealed", mutations(), |(kind, key, id, mutation)| {
        let keys = &keys;
        async move {
            let now = Utc::now();
            let named = upload(now, &key, &id);
            let genuine = match kind {
                0 => keys.seal(&UploadTicket {
                    upload: named.clone(),
                    plan: PartPlan::new(10 << 20, None).expect("a plan"),
                    checksum_algorithm: None,
                    no_overwrite: true,
                }),
                1 => keys.seal_completion(&CompletionGrant {
                    upload: named.clone(),
                    parts_digest: "d".into(),
                    etags_bound: true,
                    subject: None,
                }),
                _ => keys.seal_uppy_upload(&named),
            };
            let other = keys.seal_uppy_upload(&upload(now, "other", "x"));
            let mut bytes = genuine.clone().into_bytes();
            let text = match mutation {
                Mutation::Flip(i, x) => {
                    let i = i % bytes.len();
                    bytes[i] ^= x;
                    String::from_utf8_lossy(&bytes).into_owned()
                }
                Mutation::Cut(i) => {
                    genuine[..genuine.len() - 1 - i % genuine.len().max(1)].to_owned()
                }
                Mutation::Insert(i, c) => {
                    let mut text = genuine.clone();
                    text.insert(i % genuine.len(), c);
                    text
                }
                Mutation::Splice(i) => {
                    let cut = i % genuine.len();
                    format!("{}{}", &genuine[..cut], &other[cut.min(other.len())..])
                }
                Mutation::Arbitrary(text) => text,
            };
            let opened = [
                keys.open(&text, now).is_ok(),
                keys.open_completion(&text, now).is_ok(),
                keys.open_uppy_upload(&text, now)
                    .map(|u| u == named)
                    .unwrap_or(false),
            ];
            // Only the genuine text opens, as its own kind (a splice may rebuild it exactly).
            if text != genuine && opened.iter().any(|o| *o) {
                return Err(format!("an altered record opened: {opened:?} {text:?}"));
            }
            if text == genuine && !opened[usize::from(kind.min(2))] {
                return Err("the genuine record did not open".into());
            }
            Ok(())
        }
    })
    .await;
}
