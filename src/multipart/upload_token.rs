//! The `upload` token of a single-request upload grant: what the client declared and the
//! grant decided, sealed like the multipart tickets (same keys, its own MAC label), so
//! `POST /v1/uploads/verify` can compare what S3 holds with it, with no state kept.

use super::sealed_upload::TicketError;
use super::ticket::TicketKeys;
use crate::domain::{BucketName, Checksum, ContentType, NamespaceSegment, ObjectKey};
use crate::telemetry::push_json_str;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::cell::Cell;

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

/// What [`TicketKeys::seal_upload`] seals: an [`UploadToken`]'s fields, borrowed from the
/// decision they come from, so a grant copies none of them before they are written.
#[derive(Debug, Clone, Copy)]
pub struct UploadTokenFields<'a> {
    /// The namespace segment of the principal the grant is for.
    pub principal: &'a NamespaceSegment,
    /// The profile that decided the grant.
    pub profile: &'a str,
    /// The bucket.
    pub bucket: &'a BucketName,
    /// The object key.
    pub key: &'a ObjectKey,
    /// The declared size (see [`UploadToken::size`]).
    pub size: Option<u64>,
    /// The declared (and signed) `Content-Type`.
    pub content_type: &'a ContentType,
    /// The declared checksum, when one was bound.
    pub checksum: Option<&'a Checksum>,
    /// The file name's extension (lower case), when it has one.
    pub extension: Option<&'a str>,
    /// The grant id (a UUID).
    pub grant_id: &'a str,
    /// When the token stops being accepted (whole seconds).
    pub expires_at: DateTime<Utc>,
}

impl UploadToken {
    /// This token's fields, borrowed (what [`TicketKeys::seal_upload`] takes).
    pub fn fields(&self) -> UploadTokenFields<'_> {
        UploadTokenFields {
            principal: &self.principal,
            profile: &self.profile,
            bucket: &self.bucket,
            key: &self.key,
            size: self.size,
            content_type: &self.content_type,
            checksum: self.checksum.as_ref(),
            extension: self.extension.as_deref(),
            grant_id: &self.grant_id,
            expires_at: self.expires_at,
        }
    }
}

/// An upload token whose payload is written but not yet sealed: its wire form goes straight
/// into an answer's buffer, so a grant builds no string of it and copies it nowhere.
pub struct UploadTokenSeal<'k> {
    keys: &'k TicketKeys,
    json: Vec<u8>,
}

/// Largest payload buffer kept for the thread's next seal; a larger one (a very long key)
/// is freed.
const KEPT_PAYLOAD: usize = 4096;

thread_local! {
    /// The payload buffer of the thread's last [`UploadTokenSeal`], given back when the seal
    /// is dropped: the payload is written and sealed within one grant, so each grant would
    /// otherwise allocate and free one of its own.
    static PAYLOAD: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

impl Drop for UploadTokenSeal<'_> {
    fn drop(&mut self) {
        let json = std::mem::take(&mut self.json);
        if json.capacity() <= KEPT_PAYLOAD {
            // A thread that is being torn down keeps nothing: the buffer is freed here.
            let _ = PAYLOAD.try_with(|kept| kept.set(json));
        }
    }
}

impl UploadTokenSeal<'_> {
    /// Room for the wire form: its length, or up to 3 bytes more (base64 padding counted).
    pub fn max_len(&self) -> usize {
        self.keys.sealed_len(self.json.len())
    }

    /// Appends the wire form (what [`TicketKeys::seal_upload`] returns) to `out`: ASCII,
    /// base64url and dots, nothing a JSON string escapes.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        self.keys.seal_bytes_into(MAC_LABEL, &self.json, out);
    }
}

/// The JSON payload (short names, like the tickets'): borrowed when sealed, owned when
/// opened (`Cow` serializes as the string it holds).
#[derive(Serialize, Deserialize)]
struct Payload<'a> {
    p: Cow<'a, str>,
    pr: Cow<'a, str>,
    b: Cow<'a, str>,
    k: Cow<'a, str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    s: Option<u64>,
    ct: Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ca: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cv: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    x: Option<Cow<'a, str>>,
    g: Cow<'a, str>,
    exp: i64,
}

/// The JSON of [`Payload`] for `token`'s fields: the same keys, order and omissions.
///
/// Values rarely need an escape, so they are first written as they are, and the whole text is
/// then checked in one pass that vectorizes (instead of one short scan per value): without a
/// `\` or a control character, and with exactly the quotes the names and values are written
/// between, no value held one, and the text is the JSON. Otherwise it is written again with
/// escapes.
///
/// It is written into `out`, cleared first (its capacity reused).
fn payload_json_in(token: &UploadTokenFields<'_>, out: Vec<u8>) -> Vec<u8> {
    let mut strings = 0;
    let out = write_payload(token, out, |out, value| {
        out.push(b'"');
        out.extend_from_slice(value.as_bytes());
        out.push(b'"');
        strings += 1;
    });
    // Four quotes per string field (name and value), two for each number's name.
    let expected = 4 * strings + 2 + 2 * usize::from(token.size.is_some());
    // Counted in bytes per piece of 64, so that the count vectorizes.
    let (mut found, mut escapes) = (0, false);
    for piece in out.chunks(64) {
        let (quotes, escape) = piece.iter().fold((0u8, false), |(quotes, escape), &b| {
            (
                quotes + u8::from(b == b'"'),
                escape | (b < 0x20) | (b == b'\\'),
            )
        });
        found += usize::from(quotes);
        escapes |= escape;
    }
    if found == expected && !escapes {
        return out;
    }
    write_payload(token, out, push_json_str)
}

/// [`payload_json_in`] in a buffer of its own.
fn payload_json(token: &UploadTokenFields<'_>) -> Vec<u8> {
    payload_json_in(token, Vec::new())
}

/// The payload's JSON in `out` (cleared first), each string value written by `value`.
fn write_payload(
    token: &UploadTokenFields<'_>,
    mut out: Vec<u8>,
    mut value: impl FnMut(&mut Vec<u8>, &str),
) -> Vec<u8> {
    out.clear();
    out.reserve(160 + token.key.as_str().len());
    let mut field = |out: &mut Vec<u8>, name: &str, text: &str| {
        out.extend_from_slice(name.as_bytes());
        value(out, text);
    };
    field(&mut out, "{\"p\":", token.principal.as_str());
    field(&mut out, ",\"pr\":", token.profile);
    field(&mut out, ",\"b\":", token.bucket.as_str());
    field(&mut out, ",\"k\":", token.key.as_str());
    if let Some(size) = token.size {
        out.extend_from_slice(b",\"s\":");
        out.extend_from_slice(itoa::Buffer::new().format(size).as_bytes());
    }
    field(&mut out, ",\"ct\":", token.content_type.as_str());
    if let Some(checksum) = token.checksum {
        field(&mut out, ",\"ca\":", checksum.algorithm().as_str());
        field(&mut out, ",\"cv\":", checksum.value());
    }
    if let Some(extension) = token.extension {
        field(&mut out, ",\"x\":", extension);
    }
    field(&mut out, ",\"g\":", token.grant_id);
    out.extend_from_slice(b",\"exp\":");
    out.extend_from_slice(
        itoa::Buffer::new()
            .format(token.expires_at.timestamp())
            .as_bytes(),
    );
    out.push(b'}');
    out
}

impl TicketKeys {
    /// The wire form of the token of `token`'s fields, sealed with the first key. The
    /// payload is written straight into one buffer, byte for byte what `serde_json` writes
    /// for [`Payload`] (tested), without its map serializer.
    pub fn seal_upload(&self, token: &UploadTokenFields<'_>) -> String {
        self.seal_bytes(MAC_LABEL, &payload_json(token))
    }

    /// The token of `token`'s fields, its payload written, ready to be sealed into the
    /// buffer of the answer that carries it ([`UploadTokenSeal::write_to`]).
    pub fn upload_seal(&self, token: &UploadTokenFields<'_>) -> UploadTokenSeal<'_> {
        let kept = PAYLOAD.try_with(Cell::take).unwrap_or_default();
        UploadTokenSeal {
            keys: self,
            json: payload_json_in(token, kept),
        }
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
                principal: NamespaceSegment::from_sealed(p.p.into_owned())?,
                profile: p.pr.into_owned(),
                bucket: BucketName::new(p.b.into_owned()).ok()?,
                key: ObjectKey::new(p.k.into_owned()).ok()?,
                size: p.s,
                content_type: ContentType::new(p.ct.into_owned()).ok()?,
                checksum,
                extension: p.x.map(Cow::into_owned),
                grant_id: p.g.into_owned(),
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

    /// The payload of `token` as it was serialized before [`payload_json`]: the reference
    /// for its bytes.
    fn serde_payload<'a>(token: &UploadTokenFields<'a>) -> Payload<'a> {
        Payload {
            p: Cow::Borrowed(token.principal.as_str()),
            pr: Cow::Borrowed(token.profile),
            b: Cow::Borrowed(token.bucket.as_str()),
            k: Cow::Borrowed(token.key.as_str()),
            s: token.size,
            ct: Cow::Borrowed(token.content_type.as_str()),
            ca: token
                .checksum
                .map(|c| Cow::Borrowed(c.algorithm().as_str())),
            cv: token.checksum.map(|c| Cow::Borrowed(c.value())),
            x: token.extension.map(Cow::Borrowed),
            g: Cow::Borrowed(token.grant_id),
            exp: token.expires_at.timestamp(),
        }
    }

    #[test]
    fn a_seal_writes_the_sealed_token_after_what_the_buffer_holds() {
        let k = keys();
        let token = token();
        let seal = k.upload_seal(&token.fields());
        let mut out = b"{\"upload\":\"".to_vec();
        seal.write_to(&mut out);
        let sealed = k.seal_upload(&token.fields());
        assert!((sealed.len()..=sealed.len() + 3).contains(&seal.max_len()));
        assert_eq!(out, [&b"{\"upload\":\""[..], sealed.as_bytes()].concat());
        assert_eq!(k.open_upload(&sealed, now()), Ok(token));
    }

    #[test]
    fn seals_in_a_reused_buffer_equal_seals_in_fresh_ones() {
        let k = keys();
        let mut long = token();
        long.key = ObjectKey::new(format!("users/alice/1/{}.png", "x".repeat(900))).unwrap();
        let mut escaped = token();
        escaped.profile = "a\"b".into();
        let mut short = token();
        short.checksum = None;
        short.extension = None;
        // Each seal after the first is written in the buffer the one before gave back:
        // longer, shorter, with and without escapes.
        for token in [token(), long, escaped, short, token()] {
            let fields = token.fields();
            let seal = k.upload_seal(&fields);
            assert_eq!(seal.json, payload_json(&fields));
            let mut out = Vec::new();
            seal.write_to(&mut out);
            assert_eq!(out, k.seal_upload(&fields).into_bytes());
        }
    }

    #[test]
    fn a_dropped_seal_leaves_its_buffer_for_the_next_unless_it_is_large() {
        let kept = || {
            PAYLOAD.with(|cell| {
                let buffer = cell.take();
                let capacity = buffer.capacity();
                cell.set(buffer);
                capacity
            })
        };
        let k = keys();
        PAYLOAD.with(Cell::take);
        let small = token();
        drop(k.upload_seal(&small.fields()));
        let after_small = kept();
        assert!(after_small > 0, "a payload's buffer is kept");
        let seal = k.upload_seal(&small.fields());
        assert_eq!(kept(), 0, "the next seal takes the kept buffer");
        assert_eq!(seal.json.capacity(), after_small);
        drop(seal);
        // No token's payload is that long (a key has at most 1,024 bytes): the bound is for
        // a buffer grown otherwise.
        let mut large = k.upload_seal(&small.fields());
        large.json.reserve(KEPT_PAYLOAD + 1);
        drop(large);
        assert_eq!(kept(), 0, "a buffer over KEPT_PAYLOAD is freed");
    }

    #[test]
    fn the_payload_is_byte_for_byte_the_serde_form() {
        let mut odd = token();
        odd.key = ObjectKey::new("users/alice/1/\"q\" \\ \u{e9}.png").unwrap();
        odd.profile = "a\u{1}b\tc\u{7f}".into();
        odd.content_type = ContentType::new("text/plain; charset=\"utf-8\"").unwrap();
        let mut plain = token();
        plain.checksum = None;
        plain.extension = None;
        plain.size = None;
        plain.expires_at = DateTime::from_timestamp(-5, 0).unwrap();
        // One character needing an escape, alone in one value: each is found.
        let one = |profile: &str| {
            let mut one = token();
            one.profile = profile.into();
            one
        };
        let singles = [one("a\"b"), one("a\\b"), one("\u{1f}"), one("\"")];
        for token in [token(), odd, plain].into_iter().chain(singles) {
            let fields = token.fields();
            assert_eq!(
                String::from_utf8(payload_json(&fields)).unwrap(),
                serde_json::to_string(&serde_payload(&fields)).unwrap()
            );
            let k = keys();
            assert_eq!(
                k.seal_upload(&fields),
                k.seal_json(MAC_LABEL, &serde_payload(&fields))
            );
        }
    }

    #[test]
    fn round_trips_and_expires() {
        let k = keys();
        let sealed = k.seal_upload(&token().fields());
        assert_eq!(k.open_upload(&sealed, now()), Ok(token()));
        let mut plain = token();
        plain.checksum = None;
        plain.extension = None;
        plain.size = None;
        assert_eq!(
            k.open_upload(&k.seal_upload(&plain.fields()), now()),
            Ok(plain)
        );
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
        let sealed = k.seal_upload(&token().fields());
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
