//! The audit events of the grant handlers, of verify and of aborts
//! ([`crate::telemetry::audit`]): one per answer that hands out signed requests, one per
//! verification, one per multipart upload the broker aborts. Built from what the
//! handler decided (principal, profile, bucket, key, grant id, lifetime), never from what it
//! signed: no URL, signature, policy or token reaches an event.

use crate::domain::{BucketName, GrantId, NamespaceSegment};
use crate::grants::GrantKind;
use crate::s3::UploadRef;
use crate::telemetry::audit::wanted;
use crate::telemetry::{AuditEvent, AuditRecord, AuditTexts, PrincipalDigestKey};
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::SystemTime;

/// Writes audit events; holds the key of principal digests.
#[derive(Debug, Clone)]
pub struct Audit {
    key: Arc<PrincipalDigestKey>,
}

/// What one grant handed out.
pub(crate) struct GrantAudit<'a> {
    /// The S3 operation (`PostObject` for a form).
    pub kind: GrantKind,
    /// The profile that decided it.
    pub profile: &'a str,
    /// The bucket.
    pub bucket: &'a BucketName,
    /// The object key, or the prefix of the keys a form may write.
    pub key: &'a str,
    /// Whether `key` is a prefix.
    pub key_is_prefix: bool,
    /// The grant id its signed requests carry.
    pub grant_id: &'a GrantId,
    /// How many signed requests.
    pub count: usize,
    /// When they stop working.
    pub expires_at: DateTime<Utc>,
}

impl<'a> GrantAudit<'a> {
    /// One signed request for one object key (a PUT, POST or GET grant, one presigned call).
    pub(crate) fn one(
        kind: GrantKind,
        profile: &'a str,
        bucket: &'a BucketName,
        key: &'a str,
        grant_id: &'a GrantId,
        expires_at: DateTime<Utc>,
    ) -> Self {
        Self {
            kind,
            profile,
            bucket,
            key,
            key_is_prefix: false,
            grant_id,
            count: 1,
            expires_at,
        }
    }
}

/// What one verification found.
pub(crate) struct VerificationAudit<'a> {
    /// The profile of the grant.
    pub profile: &'a str,
    /// The bucket.
    pub bucket: &'a BucketName,
    /// The object key.
    pub key: &'a str,
    /// The grant id of the upload (the receipt's `jti`).
    pub grant_id: &'a str,
    /// When the `upload` token expires.
    pub expires_at: DateTime<Utc>,
    /// `verified`, `deleted` or `quarantined`.
    pub outcome: &'static str,
    /// The receipt, on a match: only its SHA-256 is recorded.
    pub receipt: Option<&'a str>,
}

impl Audit {
    /// Events whose principals are digested under `key`.
    pub fn new(key: Arc<PrincipalDigestKey>) -> Self {
        Self { key }
    }

    /// Records a grant to the principal of namespace segment `principal` (when audit events
    /// are wanted).
    pub(crate) fn grant(&self, principal: &NamespaceSegment, grant: &GrantAudit<'_>) {
        if wanted() {
            self.grant_record(principal, grant).enqueue();
        }
    }

    /// Records a grant of `count` signed `kind` requests (0: the broker made the call itself)
    /// on the multipart `upload` of `profile`, under the upload's grant id
    /// ([`GrantId::of_upload`]).
    pub(crate) fn upload_grant(
        &self,
        principal: &NamespaceSegment,
        profile: &str,
        upload: UploadRef<'_>,
        kind: GrantKind,
        count: usize,
        expires_at: DateTime<Utc>,
    ) {
        self.grant(
            principal,
            &GrantAudit {
                kind,
                profile,
                bucket: upload.bucket,
                key: upload.key.as_str(),
                key_is_prefix: false,
                grant_id: &GrantId::of_upload(upload.upload_id),
                count,
                expires_at,
            },
        );
    }

    /// Records a verification by the principal of `principal` (when audit events are
    /// wanted).
    pub(crate) fn verification(
        &self,
        principal: &NamespaceSegment,
        verification: &VerificationAudit<'_>,
    ) {
        if wanted() {
            self.verification_record(principal, verification).enqueue();
        }
    }

    /// Records the abort of the multipart `upload` of `profile`, which the broker made itself
    /// (the S3 call succeeded), under the upload's grant id ([`GrantId::of_upload`]);
    /// `outcome` says why when the broker aborted it on its own (`oversized`).
    pub(crate) fn abort(
        &self,
        principal: &NamespaceSegment,
        profile: &str,
        upload: UploadRef<'_>,
        outcome: Option<&'static str>,
    ) {
        if wanted() {
            self.abort_record(principal, profile, upload, outcome)
                .enqueue();
        }
    }

    fn abort_record(
        &self,
        principal: &NamespaceSegment,
        profile: &str,
        upload: UploadRef<'_>,
        outcome: Option<&'static str>,
    ) -> AuditRecord {
        AuditRecord {
            at: SystemTime::now(),
            event: AuditEvent::Abort,
            operation: GrantKind::AbortMultipartUpload.name(),
            texts: AuditTexts::new(
                principal.as_str(),
                profile,
                upload.bucket.as_str(),
                upload.key.as_str(),
                GrantId::of_upload(upload.upload_id).as_str(),
            ),
            digest_key: Arc::clone(&self.key),
            key_is_prefix: false,
            count: 0,
            expires_at: None,
            outcome,
            receipt_id: None,
        }
    }

    fn grant_record(&self, principal: &NamespaceSegment, grant: &GrantAudit<'_>) -> AuditRecord {
        AuditRecord {
            at: SystemTime::now(),
            event: AuditEvent::Grant,
            operation: grant.kind.name(),
            texts: AuditTexts::new(
                principal.as_str(),
                grant.profile,
                grant.bucket.as_str(),
                grant.key,
                grant.grant_id.as_str(),
            ),
            digest_key: Arc::clone(&self.key),
            key_is_prefix: grant.key_is_prefix,
            count: grant.count,
            expires_at: Some(grant.expires_at),
            outcome: None,
            receipt_id: None,
        }
    }

    fn verification_record(
        &self,
        principal: &NamespaceSegment,
        verification: &VerificationAudit<'_>,
    ) -> AuditRecord {
        use sha2::{Digest, Sha256};
        AuditRecord {
            at: SystemTime::now(),
            event: AuditEvent::Verification,
            operation: "VerifyUpload",
            texts: AuditTexts::new(
                principal.as_str(),
                verification.profile,
                verification.bucket.as_str(),
                verification.key,
                verification.grant_id,
            ),
            digest_key: Arc::clone(&self.key),
            key_is_prefix: false,
            count: 0,
            expires_at: Some(verification.expires_at),
            outcome: Some(verification.outcome),
            receipt_id: verification
                .receipt
                .map(|jws| hex::encode(Sha256::digest(jws.as_bytes()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Expiry, ObjectKey, Principal, Scopes};
    use crate::sigv4::{PresignRequest, S3Operation};
    use crate::telemetry::LogFormat;
    use crate::telemetry::log_queue::Render;
    use sha2::Digest;

    fn audit() -> Audit {
        Audit::new(Arc::new(PrincipalDigestKey::new(&[9; 32])))
    }

    fn lines(record: &AuditRecord) -> Vec<String> {
        [LogFormat::Json, LogFormat::Text]
            .into_iter()
            .map(|format| {
                let mut out = Vec::new();
                record.render(format, &mut out);
                String::from_utf8(out).unwrap()
            })
            .collect()
    }

    /// A real presigned URL with its grant id, and the event of its grant: the event names
    /// the grant id and nothing of the URL's signature, nor the token the caller sent.
    #[test]
    fn a_grant_event_names_the_grant_and_never_the_signature_or_a_token() {
        let (signer, credentials) = crate::multipart::example_signer("eu-west-3");
        let bucket = BucketName::new("uploads").unwrap();
        let key = ObjectKey::new("users/alice/1/a.txt").unwrap();
        let grant_id = GrantId::new();
        let mut put = PresignRequest::new(
            S3Operation::PutObject,
            bucket.clone(),
            key.clone(),
            Expiry::from_secs(900).unwrap(),
        );
        crate::grants::attribute_url(&mut put, &grant_id).unwrap();
        let presigned = signer.presign(&credentials, &put, Utc::now()).unwrap();
        let signature = presigned.url.rsplit_once("X-Amz-Signature=").unwrap().1;
        assert!(
            presigned
                .url
                .contains(&format!("x-broker-grant={grant_id}"))
        );

        let principal = Principal::new("alice", Some("https://id.test/".into()), Scopes::all());
        let bearer = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl";
        let record = audit().grant_record(
            &principal.segment,
            &GrantAudit {
                kind: GrantKind::PutObject,
                profile: "default",
                bucket: &bucket,
                key: key.as_str(),
                key_is_prefix: false,
                grant_id: &grant_id,
                count: 1,
                expires_at: presigned.expires_at,
            },
        );
        for line in lines(&record) {
            assert!(line.contains(grant_id.as_str()), "{line}");
            assert!(line.contains("PutObject"), "{line}");
            assert!(line.contains(key.as_str()), "{line}");
            for secret in [
                signature,
                "X-Amz-Signature",
                "X-Amz-Credential",
                presigned.url.as_str(),
                bearer,
                credentials.secret_access_key.expose(),
            ] {
                assert!(!line.contains(secret), "{secret} in {line}");
            }
        }
    }

    /// An abort names the upload by its grant id, as every event of the upload does: S3's
    /// upload id, the grant count and an expiry are not in it.
    #[test]
    fn an_abort_event_names_the_uploads_grant_id() {
        let bucket = BucketName::new("uploads").unwrap();
        let key = ObjectKey::new("users/alice/1/big.bin").unwrap();
        let upload_id = crate::domain::UploadId::new("2~s3-own-upload-id").unwrap();
        let upload = UploadRef {
            bucket: &bucket,
            key: &key,
            upload_id: &upload_id,
        };
        let principal = Principal::new("alice", None, Scopes::all());
        let grant_id = GrantId::of_upload(&upload_id);
        for (outcome, seen) in [(None, None), (Some("oversized"), Some("oversized"))] {
            let record = audit().abort_record(&principal.segment, "default", upload, outcome);
            assert_eq!(record.event, AuditEvent::Abort);
            assert_eq!(record.operation, "AbortMultipartUpload");
            assert_eq!(record.texts.grant_id(), grant_id.as_str());
            assert_eq!(record.texts.key(), key.as_str());
            assert_eq!(record.outcome, seen);
            for line in lines(&record) {
                assert!(line.contains("abort AbortMultipartUpload"), "{line}");
                assert!(line.contains(grant_id.as_str()), "{line}");
                assert!(!line.contains(upload_id.as_str()), "{line}");
                assert!(!line.contains("count"), "{line}");
                assert!(!line.contains("expires_at"), "{line}");
                assert_eq!(line.contains("oversized"), outcome.is_some(), "{line}");
            }
        }
    }

    #[test]
    fn a_verification_event_records_the_receipt_by_digest_only() {
        let bucket = BucketName::new("uploads").unwrap();
        let receipt = "eyJhbGciOiJFZERTQSJ9.eyJqdGkiOiJnIn0.c2lnbmF0dXJl";
        let principal = Principal::api_key("svc", Scopes::all());
        let record = audit().verification_record(
            &principal.segment,
            &VerificationAudit {
                profile: "default",
                bucket: &bucket,
                key: "users/k-svc/1/a.png",
                grant_id: "0b5c2b1e-6a0f-4f5e-9d43-3f1f0c9b8a11",
                expires_at: Utc::now(),
                outcome: "verified",
                receipt: Some(receipt),
            },
        );
        assert_eq!(
            record.receipt_id.as_deref(),
            Some(hex::encode(sha2::Sha256::digest(receipt.as_bytes())).as_str())
        );
        for line in lines(&record) {
            assert!(
                line.contains("0b5c2b1e-6a0f-4f5e-9d43-3f1f0c9b8a11"),
                "{line}"
            );
            assert!(line.contains("verified"), "{line}");
            assert!(!line.contains(receipt), "{line}");
            assert!(!line.contains("c2lnbmF0dXJl"), "{line}");
        }
    }
}
