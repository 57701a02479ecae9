//! The upload ticket: everything later multipart calls need, sealed with a MAC so the broker
//! keeps no state and no caller can change a field or use another principal's upload.
//!
//! Wire form: `v1.<key id>.<base64url(JSON)>.<base64url(HMAC-SHA256)>`, the MAC covering a
//! domain-separation label, the key id and the payload. Keys rotate: the first configured key
//! seals, every configured key opens.

use super::PartPlan;
use super::base64url;
use super::sealed_upload::{NamedUpload, SealedUpload, TicketError};
use crate::domain::ChecksumAlgorithm;
use crate::sigv4::HmacStates;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt;
use subtle::ConstantTimeEq;

/// The version prefix of the wire form.
const VERSION: &str = "v1";
/// Bound into every MAC so a ticket MAC can never be confused with another use of the key.
const MAC_LABEL: &[u8] = b"s3-broker upload ticket v1\n";
/// Tickets longer than this are refused before any decoding.
pub const MAX_TICKET_LEN: usize = 4096;
/// The shortest accepted secret.
pub const MIN_SECRET_LEN: usize = 32;

/// What an upload ticket binds. Every field is checked again by the handlers that open it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadTicket {
    /// The upload, the principal that created it, the profile that decided it, and when the
    /// ticket stops being accepted.
    pub upload: NamedUpload,
    /// The declared size and its part plan.
    pub plan: PartPlan,
    /// The checksum algorithm set at create time: every part must carry it.
    pub checksum_algorithm: Option<ChecksumAlgorithm>,
    /// Whether complete must send `If-None-Match: *`.
    pub no_overwrite: bool,
}

/// The JSON payload (short names: the ticket travels in URLs).
#[derive(Serialize, Deserialize)]
struct Payload {
    #[serde(flatten)]
    upload: SealedUpload,
    s: u64,
    ps: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    ca: Option<String>,
    no: bool,
}

/// A ticket key id: 1 to 32 of `A-Z a-z 0-9 _ -`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketKeyId(String);

impl TicketKeyId {
    /// Validates a key id.
    pub fn new(id: &str) -> Result<Self, String> {
        let ok = (1..=32).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        ok.then(|| Self(id.to_owned()))
            .ok_or_else(|| format!("ticket key id {id:?} must be 1 to 32 of A-Z a-z 0-9 _ -"))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

struct TicketKey {
    id: TicketKeyId,
    /// HMAC-SHA256 keyed with the secret: its two padded key blocks already absorbed.
    mac: HmacStates,
}

/// The keys that seal and open tickets: the first seals, all open.
pub struct TicketKeys {
    keys: Vec<TicketKey>,
}

impl fmt::Debug for TicketKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|k| k.id.as_str()).collect();
        f.debug_struct("TicketKeys")
            .field("ids", &ids)
            .finish_non_exhaustive()
    }
}

impl TicketKeys {
    /// Keys from `(id, secret)` pairs; the first seals. Secrets must be at least 32 bytes and
    /// ids distinct.
    pub fn new(keys: Vec<(TicketKeyId, Vec<u8>)>) -> Result<Self, String> {
        if keys.is_empty() {
            return Err("at least one ticket key is needed".into());
        }
        let mut out: Vec<TicketKey> = Vec::with_capacity(keys.len());
        for (id, secret) in keys {
            if secret.len() < MIN_SECRET_LEN {
                return Err(format!(
                    "the secret of ticket key {:?} must be at least {MIN_SECRET_LEN} bytes",
                    id.as_str()
                ));
            }
            if out.iter().any(|k| k.id == id) {
                return Err(format!("ticket key id {:?} is listed twice", id.as_str()));
            }
            let mac = HmacStates::for_key(&secret);
            out.push(TicketKey { id, mac });
        }
        Ok(Self { keys: out })
    }

    /// One random key that lives as long as the process: tickets die with a restart and are
    /// not accepted by other replicas.
    pub fn ephemeral() -> Self {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).expect("the operating system's random source failed");
        let id = TicketKeyId::new("ephemeral").expect("a valid id");
        Self::new(vec![(id, secret.to_vec())]).expect("a valid key")
    }

    /// The MAC of a record: HMAC-SHA256 of `label`, the key id, `.` and the payload's base64
    /// (RFC 2104), hashed from the keyed state, the payload where it lies. `sealing`: the
    /// record is the broker's own, so its first block may come from the thread's last one
    /// ([`HmacStates::mac_of_own`]); a record being opened is the caller's and never does.
    fn tag(key: &TicketKey, label: &[u8], payload_b64: &[u8], sealing: bool) -> [u8; 32] {
        let head: [&[u8]; 3] = [label, key.id.as_str().as_bytes(), b"."];
        if sealing {
            key.mac.mac_of_own(&head, payload_b64)
        } else {
            key.mac.mac(&head, payload_b64)
        }
    }

    /// The wire form of `ticket`, sealed with the first key.
    pub fn seal(&self, ticket: &UploadTicket) -> String {
        let payload = Payload {
            upload: SealedUpload::of(&ticket.upload),
            s: ticket.plan.size(),
            ps: ticket.plan.part_size(),
            ca: ticket.checksum_algorithm.map(|a| a.as_str().to_owned()),
            no: ticket.no_overwrite,
        };
        self.seal_json(MAC_LABEL, &payload)
    }

    /// `v1.<key id>.<base64url(JSON of payload)>.<base64url(MAC)>`, the MAC covering `label`
    /// (one per kind of sealed record, so one kind can never pass for another), the key id and
    /// the payload.
    /// Written into one string: the payload's base64 goes straight after the key id, and the
    /// MAC is computed over it in place.
    pub(super) fn seal_json(&self, label: &[u8], payload: &impl Serialize) -> String {
        let json = serde_json::to_vec(payload).expect("a payload always serializes");
        self.seal_bytes(label, &json)
    }

    /// As [`TicketKeys::seal_json`], for a payload already written as JSON.
    pub(super) fn seal_bytes(&self, label: &[u8], json: &[u8]) -> String {
        let mut out = Vec::with_capacity(self.sealed_len(json.len()));
        self.seal_bytes_into(label, json, &mut out);
        String::from_utf8(out).expect("a sealed record is ASCII")
    }

    /// Room for the wire form of a payload of `json_len` bytes of JSON (base64's padding
    /// counted, which the wire form leaves out: up to 3 bytes more than its length).
    pub(super) fn sealed_len(&self, json_len: usize) -> usize {
        // base64 without padding: 4 characters per 3 bytes, rounded up; the MAC's 32 bytes
        // take 43.
        VERSION.len() + self.keys[0].id.as_str().len() + json_len.div_ceil(3) * 4 + 47
    }

    /// As [`TicketKeys::seal_bytes`], appended to `out` (the buffer of an answer the record
    /// goes into): the base64 is written straight into it, with no string in between and no
    /// UTF-8 check of what base64 writes, and the MAC is computed over it in place.
    pub(super) fn seal_bytes_into(&self, label: &[u8], json: &[u8], out: &mut Vec<u8>) {
        let key = &self.keys[0];
        out.reserve(self.sealed_len(json.len()));
        out.extend_from_slice(VERSION.as_bytes());
        out.push(b'.');
        out.extend_from_slice(key.id.as_str().as_bytes());
        out.push(b'.');
        let start = out.len();
        base64url::push(out, json);
        let tag = Self::tag(key, label, &out[start..], true);
        out.push(b'.');
        base64url::push(out, &tag);
    }

    /// Opens a ticket: checks its MAC in constant time, then its fields and its expiry.
    pub fn open(&self, text: &str, now: DateTime<Utc>) -> Result<UploadTicket, TicketError> {
        let p: Payload = self.open_json(MAC_LABEL, text)?;
        Ok(UploadTicket {
            upload: p.upload.open(now)?,
            plan: PartPlan::new(p.s, Some(p.ps)).map_err(|_| TicketError::Invalid)?,
            checksum_algorithm: p
                .ca
                .map(|a| a.parse())
                .transpose()
                .map_err(|_| TicketError::Invalid)?,
            no_overwrite: p.no,
        })
    }

    /// The payload of a record sealed by [`TicketKeys::seal_json`] with `label`, after its MAC
    /// is checked in constant time.
    pub(super) fn open_json<T: DeserializeOwned>(
        &self,
        label: &[u8],
        text: &str,
    ) -> Result<T, TicketError> {
        if text.len() > MAX_TICKET_LEN {
            return Err(TicketError::Invalid);
        }
        let mut parts = text.split('.');
        let (Some(VERSION), Some(kid), Some(payload_b64), Some(tag), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(TicketError::Invalid);
        };
        let key = self
            .keys
            .iter()
            .find(|k| k.id.as_str() == kid)
            .ok_or(TicketError::Invalid)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| TicketError::Invalid)?;
        // Compared in constant time; a tag of another length is unequal.
        let expected = Self::tag(key, label, payload_b64.as_bytes(), false);
        if !bool::from(expected[..].ct_eq(&tag)) {
            return Err(TicketError::Invalid);
        }
        let json = URL_SAFE_NO_PAD
            .decode(payload_b64)
            .map_err(|_| TicketError::Invalid)?;
        serde_json::from_slice(&json).map_err(|_| TicketError::Invalid)
    }
}

/// Every copy of `sealed` with one byte changed (to `A`, or `B` where it was `A`), with the
/// index of that byte: what a sealed record must refuse, whatever byte an attacker alters.
#[cfg(test)]
pub(crate) fn altered_copies(sealed: &str) -> impl Iterator<Item = (usize, String)> + '_ {
    (0..sealed.len()).map(move |i| {
        let mut bytes = sealed.as_bytes().to_vec();
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        (
            i,
            String::from_utf8(bytes).expect("sealed records are ASCII"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{BucketName, NamespaceSegment, ObjectKey, UploadId};
    use chrono::TimeZone;

    fn keys(ids: &[(&str, u8)]) -> TicketKeys {
        TicketKeys::new(
            ids.iter()
                .map(|(id, fill)| (TicketKeyId::new(id).unwrap(), vec![*fill; 32]))
                .collect(),
        )
        .unwrap()
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
    }

    fn ticket() -> UploadTicket {
        UploadTicket {
            upload: NamedUpload {
                principal: NamespaceSegment::for_subject(None, "alice"),
                profile: "default".into(),
                bucket: BucketName::new("uploads").unwrap(),
                key: ObjectKey::new("users/alice/1/a.bin").unwrap(),
                upload_id: UploadId::new("2~abc").unwrap(),
                expires_at: now() + chrono::Duration::hours(1),
                file: crate::multipart::DeclaredFile::new(
                    crate::domain::ContentType::new("image/png").unwrap(),
                    "a.png",
                ),
            },
            plan: PartPlan::new(12 << 20, Some(5 << 20)).unwrap(),
            checksum_algorithm: Some(ChecksumAlgorithm::Sha256),
            no_overwrite: true,
        }
    }

    #[test]
    fn round_trips() {
        let k = keys(&[("k1", 1)]);
        let sealed = k.seal(&ticket());
        assert!(sealed.starts_with("v1.k1."));
        assert_eq!(k.open(&sealed, now()), Ok(ticket()));
    }

    #[test]
    fn the_mac_is_hmac_sha256_of_the_label_key_id_and_payload() {
        use hmac::{Hmac, Mac};
        for secret in [vec![1u8; 32], vec![9u8; 64], vec![5u8; 100]] {
            let id = TicketKeyId::new("k1").unwrap();
            let k = TicketKeys::new(vec![(id, secret.clone())]).unwrap();
            let sealed = k.seal(&ticket());
            let (signed, tag) = sealed.rsplit_once('.').unwrap();
            let (_, payload) = signed.rsplit_once('.').unwrap();
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&secret).unwrap();
            mac.update(MAC_LABEL);
            mac.update(b"k1.");
            mac.update(payload.as_bytes());
            let expected = mac.finalize().into_bytes().to_vec();
            assert_eq!(URL_SAFE_NO_PAD.decode(tag).unwrap(), expected);
            assert_eq!(k.open(&sealed, now()), Ok(ticket()));
        }
    }

    #[test]
    fn every_altered_byte_is_refused() {
        let k = keys(&[("k1", 1)]);
        let sealed = k.seal(&ticket());
        for (i, altered) in altered_copies(&sealed) {
            assert_eq!(
                k.open(&altered, now()),
                Err(TicketError::Invalid),
                "byte {i}"
            );
        }
        assert_eq!(k.open("", now()), Err(TicketError::Invalid));
        assert_eq!(
            k.open(&format!("{sealed}.x"), now()),
            Err(TicketError::Invalid)
        );
    }

    #[test]
    fn expires() {
        let k = keys(&[("k1", 1)]);
        let sealed = k.seal(&ticket());
        assert_eq!(
            k.open(&sealed, ticket().upload.expires_at),
            Err(TicketError::Expired)
        );
    }

    #[test]
    fn keys_rotate_with_two_active() {
        let old = keys(&[("old", 1)]);
        let rotated = keys(&[("new", 2), ("old", 1)]);
        let only_new = keys(&[("new", 2)]);
        let from_old = old.seal(&ticket());
        assert!(rotated.open(&from_old, now()).is_ok());
        assert_eq!(only_new.open(&from_old, now()), Err(TicketError::Invalid));
        let from_rotated = rotated.seal(&ticket());
        assert!(from_rotated.starts_with("v1.new."));
        assert!(only_new.open(&from_rotated, now()).is_ok());
        // Same id, other secret: refused.
        assert_eq!(
            keys(&[("old", 9)]).open(&from_old, now()),
            Err(TicketError::Invalid)
        );
    }

    #[test]
    fn refuses_weak_or_duplicate_keys() {
        let id = || TicketKeyId::new("a").unwrap();
        assert!(TicketKeys::new(vec![(id(), vec![0; 31])]).is_err());
        assert!(TicketKeys::new(vec![(id(), vec![0; 32]), (id(), vec![1; 32])]).is_err());
        assert!(TicketKeys::new(vec![]).is_err());
        assert!(TicketKeyId::new("a.b").is_err());
        assert!(TicketKeyId::new("").is_err());
    }

    #[test]
    fn debug_shows_ids_only() {
        let text = format!("{:?}", keys(&[("k1", 0x41)]));
        assert!(text.contains("k1") && !text.contains("AAAA") && !text.contains("65"));
    }
}
