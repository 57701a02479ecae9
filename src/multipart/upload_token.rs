//! The `upload` token of a single-request upload grant: what the client declared and the
//! grant decided, sealed like the multipart tickets (same keys, its own MAC label), so
//! `POST /v1/uploads/verify` can compare what S3 holds with it, with no state kept.

use super::sealed_upload::TicketError;
use super::ticket::TicketKeys;
use crate::domain::{BucketName, Checksum, ContentType, NamespaceSegment, ObjectKey};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Bound into every MAC: a ticket or completion grant can never pass for an upload token.
const MAC_LABEL: &[u8] = b"s3-broker upload token v1\n";

/// What an upload token binds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadToken {
    /// The namespace segment of the principal the grant was for.
    pub principal: NamespaceSegment,
    /// The profile that decided the grant.
    pub profile: String,
    /// The bucket.
    pub bucket: BucketName,
    /// The object key.
    pub key: ObjectKey,
    /// The declared size; `None` for a form whose size the client did not declare (Uppy's
    /// `/s3/params`): the policy's `content-length-range` bounded it.
    pub size: Option<u64>,
    /// The declared (and signed) `Content-Type`.
    pub content_type: ContentType,
    /// The declared checksum, when one was bound.
    pub checksum: Option<Checksum>,
    /// The file name's extension (lower case), when it has one.
    pub extension: Option<String>,
    /// The grant id (a UUID): the `jti` of the receipt.
    pub grant_id: String,
    /// When the token stops being accepted (whole seconds).
    pub expires_at: DateTime<Utc>,
}

/// The JSON payload (short names, like the tickets').
#[derive(Serialize, Deserialize)]
struct Payload {
    p: String,
    pr: String,
    b: String,
    k: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    s: Option<u64>,
    ct: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    ca: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cv: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    x: Option<String>,
    g: String,
    exp: i64,
}

impl TicketKeys {
    /// The wire form of `token`, sealed with the first key.
    pub fn seal_upload(&self, token: &UploadToken) -> String {
        let payload = Payload {
            p: token.principal.as_str().to_owned(),
            pr: token.profile.clone(),
            b: token.bucket.as_str().to_owned(),
            k: token.key.as_str().to_owned(),
            s: token.size,
            ct: token.content_type.as_str().to_owned(),
            ca: token
                .checksum
                .as_ref()
                .map(|c| c.algorithm().as_str().to_owned()),
            cv: token.checksum.as_ref().map(|c| c.value().to_owned()),
            x: token.extension.clone(),
            g: token.grant_id.clone(),
            exp: token.expires_at.timestamp(),
        };
        self.seal_json(MAC_LABEL, &payload)
    }

    /// Opens an upload token: its MAC in constant time, then its fields and expiry.
    pub fn open_upload(&self, text: &str, now: DateTime<Utc>) -> Result<UploadToken, TicketError> {
        let p: Payload = self.open_json(MAC_LABEL, text)?;
        let checksum = match (p.ca, p.cv) {
            (Some(a), Some(v)) => Some(
                a.parse()
                    .ok()
                    .and_then(|a| Checksum::new(a, &v).ok())
                    .ok_or(TicketError::Invalid)?,
            ),
            (None, None) => None,
            _ => return Err(TicketError::Invalid),
        };
        let token = (|| {
            Some(UploadToken {
                principal: NamespaceSegment::from_sealed(p.p)?,
                profile: p.pr,
                bucket: BucketName::new(p.b).ok()?,
                key: ObjectKey::new(p.k).ok()?,
                size: p.s,
                content_type: ContentType::new(&p.ct).ok()?,
                checksum,
                extension: p.x,
                grant_id: p.g,
                expires_at: DateTime::from_timestamp(p.exp, 0)?,
            })
        })()
        .ok_or(TicketError::Invalid)?;
        if now >= token.expires_at {
            return Err(TicketError::Expired);
        }
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ChecksumAlgorithm;
    use crate::multipart::{TicketKeyId, UploadTicket};
    use chrono::TimeZone;

    fn keys() -> TicketKeys {
        TicketKeys::new(vec![(TicketKeyId::new("k1").unwrap(), vec![7; 32])]).unwrap()
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, 12, 0, 0).unwrap()
    }

    fn token() -> UploadToken {
        UploadToken {
            principal: NamespaceSegment::for_subject(None, "alice"),
            profile: "avatars".into(),
            bucket: BucketName::new("uploads").unwrap(),
            key: ObjectKey::new("users/alice/1/a.png").unwrap(),
            size: Some(1020),
            content_type: ContentType::new("image/png").unwrap(),
            checksum: Some(Checksum::sha256_of(b"x")),
            extension: Some("png".into()),
            grant_id: "0b5c2b1e-6a0f-4f5e-9d43-3f1f0c9b8a11".into(),
            expires_at: now() + chrono::Duration::hours(24),
        }
    }

    #[test]
    fn round_trips_and_expires() {
        let k = keys();
        let sealed = k.seal_upload(&token());
        assert_eq!(k.open_upload(&sealed, now()), Ok(token()));
        let mut plain = token();
        plain.checksum = None;
        plain.extension = None;
        plain.size = None;
        assert_eq!(k.open_upload(&k.seal_upload(&plain), now()), Ok(plain));
        assert_eq!(
            k.open_upload(&sealed, token().expires_at),
            Err(TicketError::Expired)
        );
        assert_eq!(
            token().checksum.unwrap().algorithm(),
            ChecksumAlgorithm::Sha256
        );
    }

    #[test]
    fn altered_tokens_and_other_records_are_refused() {
        let k = keys();
        let sealed = k.seal_upload(&token());
        for (i, altered) in super::super::ticket::altered_copies(&sealed) {
            assert_eq!(
                k.open_upload(&altered, now()),
                Err(TicketError::Invalid),
                "byte {i}"
            );
        }
        // An upload token is not a ticket, and the other way round.
        let ticket: Result<UploadTicket, _> = k.open(&sealed, now());
        assert_eq!(ticket, Err(TicketError::Invalid));
    }
}
