//! The upload id handed to Uppy: not S3's, which on a store that does not tie upload ids to
//! keys (the embedded dev store) would let a caller act on another caller's upload by naming
//! it next to a key of its own, but an opaque record sealed like an upload ticket (under its
//! own MAC label) that wraps S3's id with the principal, profile, bucket and key it belongs to
//! and an expiry. Every Uppy route on an upload opens it and checks all of it before any S3
//! call, whatever the store.
//!
//! The wire form (`v1.<key id>.<base64url>.<base64url>`) is made of `A-Z a-z 0-9 - _ .`
//! only, so Uppy passes it through `encodeURIComponent`, URL paths, JSON and `localStorage`
//! unchanged; it is at most [`MAX_TICKET_LEN`](super::MAX_TICKET_LEN) bytes long.

use super::sealed_upload::{NamedUpload, SealedUpload};
use super::{TicketError, TicketKeys};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Distinguishes sealed Uppy upload ids from tickets and completion grants under the same keys.
const MAC_LABEL: &[u8] = b"s3-broker uppy upload id v1\n";

#[derive(Serialize, Deserialize)]
struct Payload {
    #[serde(flatten)]
    upload: SealedUpload,
}

impl TicketKeys {
    /// The sealed Uppy upload id of `upload`.
    pub fn seal_uppy_upload(&self, upload: &NamedUpload) -> String {
        self.seal_json(
            MAC_LABEL,
            &Payload {
                upload: SealedUpload::of(upload),
            },
        )
    }

    /// Opens a sealed Uppy upload id: its MAC, its fields, its expiry. The caller still has
    /// to check that the upload is the one its request names ([`NamedUpload`]'s principal and
    /// key).
    pub fn open_uppy_upload(
        &self,
        text: &str,
        now: DateTime<Utc>,
    ) -> Result<NamedUpload, TicketError> {
        let p: Payload = self.open_json(MAC_LABEL, text)?;
        p.upload.open(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{BucketName, NamespaceSegment, ObjectKey, UploadId};
    use crate::multipart::{CompletionGrant, PartPlan, TicketKeyId, UploadTicket};

    fn keys() -> TicketKeys {
        TicketKeys::new(vec![(TicketKeyId::new("k").unwrap(), vec![9; 32])]).unwrap()
    }

    fn upload(now: DateTime<Utc>) -> NamedUpload {
        NamedUpload {
            principal: NamespaceSegment::for_subject(None, "alice"),
            profile: "default".into(),
            bucket: BucketName::new("uploads").unwrap(),
            key: ObjectKey::new("users/alice/x/a.bin").unwrap(),
            upload_id: UploadId::new("2~abc/def+ghi=").unwrap(),
            expires_at: DateTime::from_timestamp(now.timestamp() + 3600, 0).unwrap(),
            file: crate::multipart::DeclaredFile::new(
                crate::domain::ContentType::new("video/mp4").unwrap(),
                "Clip.MP4",
            ),
        }
    }

    #[test]
    fn round_trips_expires_and_stays_url_safe() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let sealed = keys().seal_uppy_upload(&upload(now));
        assert!(
            sealed
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)),
            "{sealed}"
        );
        assert_eq!(keys().open_uppy_upload(&sealed, now), Ok(upload(now)));
        assert_eq!(
            keys().open_uppy_upload(&sealed, upload(now).expires_at),
            Err(TicketError::Expired)
        );
        // The real id is not one: a raw S3 id is refused.
        assert_eq!(
            keys().open_uppy_upload("2~abc/def+ghi=", now),
            Err(TicketError::Invalid)
        );
    }

    #[test]
    fn an_altered_id_is_refused() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let sealed = keys().seal_uppy_upload(&upload(now));
        for i in 0..sealed.len() {
            let mut altered = sealed.clone().into_bytes();
            altered[i] = if altered[i] == b'A' { b'B' } else { b'A' };
            let altered = String::from_utf8(altered).unwrap();
            if altered != sealed {
                assert!(keys().open_uppy_upload(&altered, now).is_err(), "byte {i}");
            }
        }
        let other_keys =
            TicketKeys::new(vec![(TicketKeyId::new("k").unwrap(), vec![8; 32])]).unwrap();
        assert_eq!(
            other_keys.open_uppy_upload(&sealed, now),
            Err(TicketError::Invalid)
        );
    }

    #[test]
    fn tickets_and_completion_grants_are_not_upload_ids_nor_the_reverse() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let ticket = keys().seal(&UploadTicket {
            upload: upload(now),
            plan: PartPlan::new(10, None).unwrap(),
            checksum_algorithm: None,
            no_overwrite: true,
        });
        let completion = keys().seal_completion(&CompletionGrant {
            upload: upload(now),
            parts_digest: String::new(),
            etags_bound: false,
            subject: None,
        });
        for other in [ticket, completion] {
            assert_eq!(
                keys().open_uppy_upload(&other, now),
                Err(TicketError::Invalid)
            );
        }
        let sealed = keys().seal_uppy_upload(&upload(now));
        assert_eq!(keys().open(&sealed, now), Err(TicketError::Invalid));
        assert_eq!(
            keys().open_completion(&sealed, now),
            Err(TicketError::Invalid)
        );
    }
}
