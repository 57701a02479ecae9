//! The completion grant of Uppy 6's `signRequest` mode: instead of a presigned
//! CompleteMultipartUpload URL (with which a client could complete any parts list, whatever
//! their size), the broker answers with a URL of its own carrying this sealed grant. Uppy posts
//! its parts list there; the broker checks the parts S3 holds against the profile and completes
//! the upload itself. The grant is a short-lived bearer capability for one upload of one
//! principal, sealed like an upload ticket but under its own MAC label.

use super::sealed_upload::{NamedUpload, SealedUpload};
use super::{TicketError, TicketKeys};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Distinguishes completion grants from upload tickets under the same keys.
const MAC_LABEL: &[u8] = b"s3-broker uppy completion v1\n";

/// What a completion grant allows: completing one upload, for one principal, until it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletionGrant {
    /// The upload, the principal that asked for the grant, the profile whose rules apply, and
    /// when the grant stops being accepted (whole seconds).
    pub upload: NamedUpload,
    /// [`parts_digest`] of the parts S3 held when the grant was made: the completion must
    /// name exactly those parts.
    pub parts_digest: String,
    /// Whether the digest covers ETags (false only for stores that list none).
    pub etags_bound: bool,
    /// The subject of the principal that asked for the grant: the `sub` of the receipt
    /// answered at completion (`None` in grants sealed before receipts).
    pub subject: Option<String>,
}

/// Hex SHA-256 of a parts list, `number:etag` lines in order (the ETag quoted as S3 returns it,
/// or empty when ETags are not bound).
pub fn parts_digest<'a>(parts: impl IntoIterator<Item = (u16, &'a str)>) -> String {
    use sha2::{Digest, Sha256};
    let mut sha = Sha256::new();
    for (number, etag) in parts {
        sha.update(number.to_string().as_bytes());
        sha.update(b":");
        sha.update(etag.as_bytes());
        sha.update(b"\n");
    }
    hex::encode(sha.finalize())
}

#[derive(Serialize, Deserialize)]
struct Payload {
    #[serde(flatten)]
    upload: SealedUpload,
    d: String,
    e: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
}

impl TicketKeys {
    /// The sealed form of `grant`.
    pub fn seal_completion(&self, grant: &CompletionGrant) -> String {
        self.seal_json(
            MAC_LABEL,
            &Payload {
                upload: SealedUpload::of(&grant.upload),
                d: grant.parts_digest.clone(),
                e: grant.etags_bound,
                sub: grant.subject.clone(),
            },
        )
    }

    /// Opens a completion grant: its MAC, its fields, its expiry.
    pub fn open_completion(
        &self,
        text: &str,
        now: DateTime<Utc>,
    ) -> Result<CompletionGrant, TicketError> {
        let p: Payload = self.open_json(MAC_LABEL, text)?;
        Ok(CompletionGrant {
            upload: p.upload.open(now)?,
            parts_digest: p.d,
            etags_bound: p.e,
            subject: p.sub,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{BucketName, NamespaceSegment, ObjectKey, UploadId};
    use crate::multipart::{PartPlan, TicketKeyId, UploadTicket};

    fn keys() -> TicketKeys {
        TicketKeys::new(vec![(TicketKeyId::new("k").unwrap(), vec![7; 32])]).unwrap()
    }

    fn grant(now: DateTime<Utc>) -> CompletionGrant {
        CompletionGrant {
            upload: NamedUpload {
                principal: NamespaceSegment::for_subject(None, "alice"),
                profile: "default".into(),
                bucket: BucketName::new("uploads").unwrap(),
                key: ObjectKey::new("users/alice/x/a.bin").unwrap(),
                upload_id: UploadId::new("u1").unwrap(),
                expires_at: DateTime::from_timestamp(now.timestamp() + 300, 0).unwrap(),
                file: crate::multipart::DeclaredFile::default(),
            },
            parts_digest: parts_digest([(1, "\"e1\""), (2, "\"e2\"")]),
            etags_bound: true,
            subject: Some("alice@example.com".into()),
        }
    }

    #[test]
    fn the_digest_depends_on_every_number_and_etag() {
        let base = parts_digest([(1, "\"a\""), (2, "\"b\"")]);
        assert_ne!(base, parts_digest([(1, "\"a\"")]));
        assert_ne!(base, parts_digest([(1, "\"a\""), (2, "\"c\"")]));
        assert_ne!(base, parts_digest([(2, "\"b\""), (1, "\"a\"")]));
        assert_ne!(base, parts_digest([(1, "\"a\""), (3, "\"b\"")]));
        assert_eq!(base, parts_digest([(1, "\"a\""), (2, "\"b\"")]));
    }

    #[test]
    fn round_trips_and_expires() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let sealed = keys().seal_completion(&grant(now));
        assert_eq!(keys().open_completion(&sealed, now), Ok(grant(now)));
        assert_eq!(
            keys().open_completion(&sealed, grant(now).upload.expires_at),
            Err(TicketError::Expired)
        );
    }

    #[test]
    fn an_upload_ticket_is_not_a_completion_grant_nor_the_reverse() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let g = grant(now);
        let ticket = keys().seal(&UploadTicket {
            upload: g.upload.clone(),
            plan: PartPlan::new(10, None).unwrap(),
            checksum_algorithm: None,
            no_overwrite: true,
        });
        assert_eq!(
            keys().open_completion(&ticket, now),
            Err(TicketError::Invalid)
        );
        let completion = keys().seal_completion(&g);
        assert_eq!(keys().open(&completion, now), Err(TicketError::Invalid));
    }
}
