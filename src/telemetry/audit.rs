//! Audit events: one line per grant and per verification, target `s3_broker::audit`, level
//! INFO, written to a destination of their own (`[audit] destination`: stderr with the other
//! lines, stdout, or a file) through the same bounded, non-blocking queue as every other line
//! ([`super::log_queue`]): an audit line never holds a request, and one that cannot be
//! written is dropped and counted, never waited for.
//!
//! Fields: `event` (`grant` or `verification`), `operation` (the S3 operation granted, e.g.
//! `PutObject`, `PostObject` for a form, `UploadPart` for a batch of part URLs;
//! `VerifyUpload`), `principal` (a keyed digest, [`PrincipalDigestKey`]), `profile`,
//! `bucket`, `key` (for a form whose key the browser completes, the prefix, with
//! `key_is_prefix`), `grant_id` (also in every signed URL as `x-broker-grant`, on a form's
//! object as `x-amz-meta-broker-grant`, in the `upload` token and the receipt's `jti`),
//! `count` (signed requests in the answer), `expires_at` (when they stop working), and for a
//! verification `outcome` (`verified`, `deleted`, `quarantined`) and `receipt_id` (the hex
//! SHA-256 of the receipt's compact JWS, whoever holds the receipt can compute it).
//!
//! Never a signature, a token, a signed URL, a policy or a secret: the record has no field
//! that could hold one.

use super::json::needs_escape;
use super::line_sink::LineSink;
use super::log_queue::{Entry, LogFormat, Render, enqueue, installed};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

/// The log target of audit events.
pub const AUDIT_TARGET: &str = "s3_broker::audit";

/// The label keyed into every principal digest, so that the key serves this use only.
const DIGEST_LABEL: &[u8] = b"s3-broker audit principal v1\n";

/// Where audit events go (`[audit] destination`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum AuditDestination {
    /// With every other line, on stderr (the default).
    #[default]
    Stderr,
    /// Standard output, so that a log shipper can route them apart.
    Stdout,
    /// Appended to a file.
    File(PathBuf),
}

impl AuditDestination {
    /// `"stderr"`, `"stdout"` or an absolute path.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "stderr" => Ok(Self::Stderr),
            "stdout" => Ok(Self::Stdout),
            path if path.starts_with('/') => Ok(Self::File(PathBuf::from(path))),
            other => Err(format!(
                "{other:?}: expected \"stderr\", \"stdout\" or an absolute file path"
            )),
        }
    }

    /// The writer of a destination apart from stderr (opened now: a file that cannot be
    /// opened stops startup); `None` for stderr.
    pub fn open(&self) -> std::io::Result<Option<Box<dyn std::io::Write + Send>>> {
        Ok(match self {
            Self::Stderr => None,
            Self::Stdout => Some(Box::new(std::io::stdout())),
            Self::File(path) => Some(Box::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?,
            )),
        })
    }
}

/// The key of principal digests: HMAC-SHA256 under it of a label and the principal's
/// namespace segment, first 16 bytes in hex. Without the key, a digest cannot be reversed by
/// hashing guessed names; with it, an operator maps a principal to its digest (with
/// `openssl dgst`, as doc/security.md shows).
///
/// The digests of the last principals are kept ([`DIGEST_CACHE_ENTRIES`] at most): a
/// principal's events (a session's grants) then cost a lookup, not an HMAC, each; the last
/// principal's, a comparison (a run of one caller's grants hashes nothing). Only the log
/// writer thread computes digests, so the lock is never contended.
pub struct PrincipalDigestKey {
    mac: Hmac<Sha256>,
    recent: Mutex<RecentDigests>,
}

/// The digests [`PrincipalDigestKey`] keeps.
#[derive(Default)]
struct RecentDigests {
    /// The last principal asked for and its digest (its text's capacity reused).
    last: Option<(String, PrincipalDigest)>,
    /// The last principals' digests, at most [`DIGEST_CACHE_ENTRIES`].
    by_segment: HashMap<Box<str>, PrincipalDigest>,
}

impl RecentDigests {
    fn remember_last(&mut self, segment: &str, digest: PrincipalDigest) {
        let (text, last) = self.last.get_or_insert_with(|| (String::new(), digest));
        text.clear();
        text.push_str(segment);
        *last = digest;
    }
}

/// The most principals whose digests [`PrincipalDigestKey`] keeps (about 100 bytes each);
/// when full, the cache starts over.
pub const DIGEST_CACHE_ENTRIES: usize = 256;

/// A principal digest: 32 lower-case hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrincipalDigest([u8; 32]);

impl PrincipalDigest {
    /// The digest's hex digits, as [`PrincipalDigest::as_str`] without its UTF-8 check.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The digest as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_else(|_| unreachable!("hex digits are ASCII"))
    }
}

impl PrincipalDigestKey {
    /// A key from its secret bytes.
    pub fn new(secret: &[u8]) -> Self {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(DIGEST_LABEL);
        Self {
            mac,
            recent: Mutex::default(),
        }
    }

    /// A random key, for a process configured without one (digests then differ between
    /// processes and restarts).
    pub fn ephemeral() -> Self {
        let mut secret = [0u8; 32];
        secret[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        secret[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        Self::new(&secret)
    }

    /// The digest of the principal whose namespace segment is `segment`.
    pub fn digest(&self, segment: &str) -> String {
        self.digest_of(segment).as_str().to_owned()
    }

    /// As [`PrincipalDigestKey::digest`], from the cache when the principal was seen lately.
    pub fn digest_of(&self, segment: &str) -> PrincipalDigest {
        let mut recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((last, digest)) = &recent.last
            && last == segment
        {
            return *digest;
        }
        let digest = match recent.by_segment.get(segment) {
            Some(digest) => *digest,
            None => {
                let digest = self.compute(segment);
                if recent.by_segment.len() >= DIGEST_CACHE_ENTRIES {
                    recent.by_segment.clear();
                }
                recent.by_segment.insert(segment.into(), digest);
                digest
            }
        };
        recent.remember_last(segment, digest);
        digest
    }

    fn compute(&self, segment: &str) -> PrincipalDigest {
        let mut mac = self.mac.clone();
        mac.update(segment.as_bytes());
        let bytes = mac.finalize().into_bytes();
        let mut hex = [0u8; 32];
        hex::encode_to_slice(&bytes[..16], &mut hex)
            .unwrap_or_else(|_| unreachable!("16 bytes are 32 hex digits"));
        PrincipalDigest(hex)
    }
}

impl Clone for PrincipalDigestKey {
    /// The same key, with a cache of its own.
    fn clone(&self) -> Self {
        Self {
            mac: self.mac.clone(),
            recent: Mutex::default(),
        }
    }
}

impl std::fmt::Debug for PrincipalDigestKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrincipalDigestKey([redacted])")
    }
}

/// What an audit event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditEvent {
    /// Signed requests were handed out.
    Grant,
    /// An upload was checked against its grant.
    Verification,
    /// The broker aborted a multipart upload.
    Abort,
}

impl AuditEvent {
    fn as_str(self) -> &'static str {
        match self {
            Self::Grant => "grant",
            Self::Verification => "verification",
            Self::Abort => "abort",
        }
    }
}

/// One audit event, as the writer thread formats it. The request thread only copies its
/// texts (into one string); the principal's digest is computed on the writer thread.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    /// When it happened.
    pub at: SystemTime,
    /// Grant or verification.
    pub event: AuditEvent,
    /// The S3 operation granted (`PostObject` for a form), or `VerifyUpload`.
    pub operation: &'static str,
    /// The principal's namespace segment (written only as its digest), the profile, the
    /// bucket, the object key and the grant id.
    pub texts: AuditTexts,
    /// The key of the digest.
    pub digest_key: Arc<PrincipalDigestKey>,
    /// Whether the key is a prefix (of the keys a form can write).
    pub key_is_prefix: bool,
    /// How many signed requests the answer holds (0 for a verification).
    pub count: usize,
    /// When the signed requests stop working (or the token, for a verification).
    pub expires_at: Option<DateTime<Utc>>,
    /// A verification's outcome: `verified`, `deleted` or `quarantined`.
    pub outcome: Option<&'static str>,
    /// A verification's receipt: hex SHA-256 of the compact JWS.
    pub receipt_id: Option<String>,
}

/// The texts of an audit event, copied from the request into one string (one allocation per
/// event, not one per field).
#[derive(Debug, Clone)]
pub struct AuditTexts {
    text: String,
    /// Where the principal, the profile, the bucket and the key end; the grant id is the rest.
    ends: [usize; 4],
}

impl AuditTexts {
    /// The principal's namespace segment, the profile that decided, the bucket, the object key
    /// (or the prefix of the keys a form can write) and the grant id.
    pub fn new(principal: &str, profile: &str, bucket: &str, key: &str, grant_id: &str) -> Self {
        let parts = [principal, profile, bucket, key, grant_id];
        let mut text = String::with_capacity(parts.iter().map(|p| p.len()).sum());
        let mut ends = [0; 4];
        for (i, part) in parts.into_iter().enumerate() {
            text.push_str(part);
            if let Some(end) = ends.get_mut(i) {
                *end = text.len();
            }
        }
        Self { text, ends }
    }

    fn part(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        let end = self.ends.get(i).copied().unwrap_or(self.text.len());
        &self.text[start..end]
    }

    /// The principal's namespace segment.
    pub fn principal(&self) -> &str {
        self.part(0)
    }

    /// The profile.
    pub fn profile(&self) -> &str {
        self.part(1)
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        self.part(2)
    }

    /// The object key, or the prefix of the keys a form can write.
    pub fn key(&self) -> &str {
        self.part(3)
    }

    /// The grant id.
    pub fn grant_id(&self) -> &str {
        self.part(4)
    }
}

/// Whether audit events are wanted: a log queue is installed and `RUST_LOG` lets
/// `s3_broker::audit` through at INFO. Decided by [`decide_wanted`] when logging is set up,
/// as the access log's is (asking the filter again looks the current dispatcher up on every
/// grant).
pub fn wanted() -> bool {
    WANTED.load(Ordering::Relaxed)
}

/// What [`wanted`] answers.
static WANTED: AtomicBool = AtomicBool::new(false);

/// Asks the installed subscriber whether audit events pass its filter (logging's `init`
/// calls it once the queue and the subscriber are in place).
pub(crate) fn decide_wanted() {
    let wanted = installed() && tracing::enabled!(target: AUDIT_TARGET, tracing::Level::INFO);
    WANTED.store(wanted, Ordering::Relaxed);
}

impl AuditRecord {
    /// Hands the record to the log queue (never blocks; dropped and counted when full).
    pub fn enqueue(self) {
        enqueue(Entry::Audit(Box::new(self)));
    }

    /// The event's fields, in order, each handed to `field(name, value)`. Nothing is copied
    /// but the principal's digest (from the key's cache).
    fn each_field(&self, mut field: impl FnMut(FieldName, Value<'_>)) {
        field(
            field_name!("event"),
            Value::Plain(self.event.as_str().as_bytes()),
        );
        field(
            field_name!("operation"),
            Value::Plain(self.operation.as_bytes()),
        );
        let digest = self.digest_key.digest_of(self.texts.principal());
        field(field_name!("principal"), Value::Plain(digest.as_bytes()));
        field(field_name!("profile"), Value::Text(self.texts.profile()));
        field(field_name!("bucket"), Value::Text(self.texts.bucket()));
        field(field_name!("key"), Value::Text(self.texts.key()));
        if self.key_is_prefix {
            field(field_name!("key_is_prefix"), Value::Raw("true"));
        }
        field(field_name!("grant_id"), Value::Text(self.texts.grant_id()));
        if self.event == AuditEvent::Grant {
            field(
                field_name!("count"),
                Value::Raw(itoa::Buffer::new().format(self.count)),
            );
        }
        if let Some(at) = self.expires_at {
            field(field_name!("expires_at"), Value::Time(at));
        }
        if let Some(outcome) = self.outcome {
            field(field_name!("outcome"), Value::Plain(outcome.as_bytes()));
        }
        // Escaped like a name: the one `Plain`-looking value that is not a `&'static str` or
        // a digest made here, so a release build can never write it raw.
        if let Some(id) = &self.receipt_id {
            field(field_name!("receipt_id"), Value::Text(id));
        }
    }
}

/// An audit field's name as each format writes it before the value: `,"name":` in JSON,
/// ` name=` in text (made by [`field_name!`], so each is one piece).
#[derive(Clone, Copy)]
struct FieldName {
    json: &'static str,
    text: &'static str,
}

/// The [`FieldName`] of a name (a literal of `a-z` and `_`: nothing to escape).
macro_rules! field_name {
    ($name:literal) => {
        FieldName {
            json: concat!(",\"", $name, "\":"),
            text: concat!(" ", $name, "="),
        }
    };
}
use field_name;

/// How an audit field's value is written.
#[derive(Clone, Copy)]
enum Value<'a> {
    /// Text that may need escapes (names from requests and configuration).
    Text(&'a str),
    /// ASCII text that never needs one: fixed words and hex digits (as bytes: a digest is
    /// written without a UTF-8 check).
    Plain(&'a [u8]),
    /// A number or a boolean: unquoted in JSON.
    Raw(&'a str),
    /// A time: RFC 3339 in whole seconds (`2027-01-15T08:15:00Z`).
    Time(DateTime<Utc>),
}

impl Value<'_> {
    /// The value as JSON.
    fn write_json(self, line: &mut LineSink<'_>) {
        match self {
            Self::Text(text) => line.push_json_str(text),
            Self::Plain(text) => line.push_plain_json_bytes(text),
            Self::Raw(text) => line.push_str(text),
            Self::Time(at) => {
                line.push_str("\"");
                line.push_timestamp_secs(at);
                line.push_str("\"");
            }
        }
    }

    /// The value in a text line: escaped as `str::escape_debug` does, unquoted.
    fn write_text(self, line: &mut LineSink<'_>) {
        match self {
            Self::Text(text) => {
                let _ = write!(line, "{}", text.escape_debug());
            }
            Self::Plain(text) => line.0.extend_from_slice(text),
            Self::Raw(text) => line.push_str(text),
            Self::Time(at) => line.push_timestamp_secs(at),
        }
    }
}

impl Render for AuditRecord {
    /// Written straight into the batch, without a string of its own.
    fn render(&self, format: LogFormat, out: &mut Vec<u8>) {
        let mut line = LineSink(out);
        match format {
            LogFormat::Json => {
                line.push_str("{\"timestamp\":\"");
                line.push_timestamp(self.at);
                line.push_str("\",\"level\":\"INFO\",\"fields\":{\"message\":\"");
                // The message: the event and the operation, two fixed words (nothing in
                // them needs an escape).
                debug_assert!(!needs_escape(self.operation), "{:?}", self.operation);
                line.push_str(self.event.as_str());
                line.push_str(" ");
                line.push_str(self.operation);
                line.push_str("\"");
                self.each_field(|name, value| {
                    line.push_str(name.json);
                    value.write_json(&mut line);
                });
                line.push_str("},\"target\":\"");
                line.push_str(AUDIT_TARGET);
                line.push_str("\"}\n");
            }
            LogFormat::Text => {
                line.push_timestamp(self.at);
                let _ = write!(
                    line,
                    "  INFO {AUDIT_TARGET}: {} {}",
                    self.event.as_str(),
                    self.operation
                );
                self.each_field(|name, value| {
                    line.push_str(name.text);
                    value.write_text(&mut line);
                });
                line.push_str("\n");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn texts(key: &str) -> AuditTexts {
        AuditTexts::new(
            "alice",
            "default",
            "uploads",
            key,
            "0b5c2b1e-6a0f-4f5e-9d43-3f1f0c9b8a11",
        )
    }

    #[test]
    fn texts_keep_each_field_apart() {
        let t = AuditTexts::new("p", "", "bucket", "a/é\n", "g");
        assert_eq!(
            [
                t.principal(),
                t.profile(),
                t.bucket(),
                t.key(),
                t.grant_id()
            ],
            ["p", "", "bucket", "a/é\n", "g"]
        );
        let empty = AuditTexts::new("", "", "", "", "");
        assert_eq!(empty.grant_id(), "");
    }

    fn record() -> AuditRecord {
        AuditRecord {
            at: SystemTime::UNIX_EPOCH + Duration::from_micros(1_800_000_000_123_456),
            event: AuditEvent::Grant,
            operation: "PutObject",
            texts: texts("users/alice/1/a \"b\".txt"),
            digest_key: Arc::new(PrincipalDigestKey::new(b"0123456789abcdef0123456789abcdef")),
            key_is_prefix: false,
            count: 1,
            expires_at: DateTime::from_timestamp(1_800_000_900, 0),
            outcome: None,
            receipt_id: None,
        }
    }

    /// A verification's record: its outcome and receipt, no count.
    fn verification() -> AuditRecord {
        AuditRecord {
            event: AuditEvent::Verification,
            operation: "VerifyUpload",
            outcome: Some("verified"),
            receipt_id: Some("ab".repeat(32)),
            count: 0,
            ..record()
        }
    }

    fn json(record: &AuditRecord) -> serde_json::Value {
        let mut out = Vec::new();
        record.render(LogFormat::Json, &mut out);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        serde_json::from_str(&text).unwrap()
    }

    #[test]
    fn a_grant_event_holds_every_field() {
        let line = json(&record());
        assert_eq!(line["target"], AUDIT_TARGET);
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["timestamp"], "2027-01-15T08:00:00.123456Z");
        let fields = &line["fields"];
        assert_eq!(fields["message"], "grant PutObject");
        assert_eq!(fields["event"], "grant");
        assert_eq!(fields["operation"], "PutObject");
        assert_eq!(fields["profile"], "default");
        assert_eq!(fields["bucket"], "uploads");
        assert_eq!(fields["key"], "users/alice/1/a \"b\".txt");
        assert_eq!(fields["grant_id"], "0b5c2b1e-6a0f-4f5e-9d43-3f1f0c9b8a11");
        assert_eq!(fields["count"], 1);
        assert_eq!(fields["expires_at"], "2027-01-15T08:15:00Z");
        assert!(fields.get("key_is_prefix").is_none());
        assert!(fields.get("receipt_id").is_none());
        assert!(fields.get("outcome").is_none());
        // The keyed digest, never the name.
        let principal = fields["principal"].as_str().unwrap();
        assert_eq!(principal.len(), 32);
        assert!(principal.bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(!line.to_string().contains("\"alice\""));
    }

    #[test]
    fn a_verification_event_holds_its_outcome_and_receipt() {
        let verification = verification();
        let fields = json(&verification)["fields"].clone();
        assert_eq!(fields["event"], "verification");
        assert_eq!(fields["outcome"], "verified");
        assert_eq!(fields["receipt_id"], "ab".repeat(32));
        assert!(fields.get("count").is_none());
    }

    #[test]
    fn digests_are_keyed_stable_and_distinct() {
        let key = PrincipalDigestKey::new(b"0123456789abcdef0123456789abcdef");
        let other = PrincipalDigestKey::new(b"fedcba9876543210fedcba9876543210");
        assert_eq!(key.digest("alice"), key.digest("alice"));
        assert_ne!(key.digest("alice"), key.digest("bob"));
        assert_ne!(key.digest("alice"), other.digest("alice"));
        // HMAC-SHA256(key, label || segment), as doc/security.md shows with openssl.
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(b"0123456789abcdef0123456789abcdef").unwrap();
        mac.update(b"s3-broker audit principal v1\nalice");
        assert_eq!(
            key.digest("alice"),
            hex::encode(&mac.finalize().into_bytes()[..16])
        );
        // What `openssl dgst -sha256 -mac HMAC` prints for it (doc/security.md).
        assert_eq!(key.digest("alice"), "e78bf7a664d976d02ff64b0219c00986");
        assert!(!format!("{key:?}").contains("0123"));
    }

    #[test]
    fn cached_digests_equal_computed_ones() {
        let key = PrincipalDigestKey::new(b"0123456789abcdef0123456789abcdef");
        // Past the bound, so the cache starts over at least once.
        for round in 0..2 {
            for i in 0..DIGEST_CACHE_ENTRIES + 10 {
                let segment = format!("p{i}");
                let digest = key.digest_of(&segment);
                assert_eq!(digest, key.compute(&segment), "round {round}, {segment}");
                assert!(key.recent.lock().unwrap().by_segment.len() <= DIGEST_CACHE_ENTRIES);
            }
        }
        // The last principal again, then others that share its start, back and forth.
        for segment in ["p1", "p1", "p10", "p1", "p", "p1", "", "p1", "p1"] {
            assert_eq!(key.digest_of(segment), key.compute(segment), "{segment:?}");
        }
        assert_eq!(key.digest("alice"), "e78bf7a664d976d02ff64b0219c00986");
        assert_eq!(key.digest("alice"), "e78bf7a664d976d02ff64b0219c00986");
        assert_eq!(
            key.clone().digest("alice"),
            "e78bf7a664d976d02ff64b0219c00986"
        );
    }

    #[test]
    fn lines_are_exactly_these_bytes() {
        let mut record = record();
        record.key_is_prefix = true;
        let [json, text] = [LogFormat::Json, LogFormat::Text].map(|format| {
            let mut out = Vec::new();
            record.render(format, &mut out);
            String::from_utf8(out).unwrap()
        });
        assert_eq!(
            json,
            "{\"timestamp\":\"2027-01-15T08:00:00.123456Z\",\"level\":\"INFO\",\"fields\":{\"message\":\"grant PutObject\",\"event\":\"grant\",\"operation\":\"PutObject\",\"principal\":\"e78bf7a664d976d02ff64b0219c00986\",\"profile\":\"default\",\"bucket\":\"uploads\",\"key\":\"users/alice/1/a \\\"b\\\".txt\",\"key_is_prefix\":true,\"grant_id\":\"0b5c2b1e-6a0f-4f5e-9d43-3f1f0c9b8a11\",\"count\":1,\"expires_at\":\"2027-01-15T08:15:00Z\"},\"target\":\"s3_broker::audit\"}\n"
        );
        assert_eq!(
            text,
            "2027-01-15T08:00:00.123456Z  INFO s3_broker::audit: grant PutObject event=grant operation=PutObject principal=e78bf7a664d976d02ff64b0219c00986 profile=default bucket=uploads key=users/alice/1/a \\\"b\\\".txt key_is_prefix=true grant_id=0b5c2b1e-6a0f-4f5e-9d43-3f1f0c9b8a11 count=1 expires_at=2027-01-15T08:15:00Z\n"
        );
    }

    #[test]
    fn verification_lines_are_exactly_these_bytes() {
        let verification = verification();
        let [json, text] = [LogFormat::Json, LogFormat::Text].map(|format| {
            let mut out = Vec::new();
            verification.render(format, &mut out);
            String::from_utf8(out).unwrap()
        });
        let receipt = "ab".repeat(32);
        assert_eq!(
            json,
            format!(
                "{{\"timestamp\":\"2027-01-15T08:00:00.123456Z\",\"level\":\"INFO\",\"fields\":{{\"message\":\"verification VerifyUpload\",\"event\":\"verification\",\"operation\":\"VerifyUpload\",\"principal\":\"e78bf7a664d976d02ff64b0219c00986\",\"profile\":\"default\",\"bucket\":\"uploads\",\"key\":\"users/alice/1/a \\\"b\\\".txt\",\"grant_id\":\"0b5c2b1e-6a0f-4f5e-9d43-3f1f0c9b8a11\",\"expires_at\":\"2027-01-15T08:15:00Z\",\"outcome\":\"verified\",\"receipt_id\":\"{receipt}\"}},\"target\":\"s3_broker::audit\"}}\n"
            )
        );
        assert_eq!(
            text,
            format!(
                "2027-01-15T08:00:00.123456Z  INFO s3_broker::audit: verification VerifyUpload event=verification operation=VerifyUpload principal=e78bf7a664d976d02ff64b0219c00986 profile=default bucket=uploads key=users/alice/1/a \\\"b\\\".txt grant_id=0b5c2b1e-6a0f-4f5e-9d43-3f1f0c9b8a11 expires_at=2027-01-15T08:15:00Z outcome=verified receipt_id={receipt}\n"
            )
        );
    }

    #[test]
    fn text_lines_are_one_line() {
        let mut out = Vec::new();
        let mut odd = record();
        odd.texts = texts("a\nb");
        odd.key_is_prefix = true;
        odd.render(LogFormat::Text, &mut out);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(
            text.contains("INFO s3_broker::audit: grant PutObject"),
            "{text}"
        );
        assert!(text.contains("key=a\\nb key_is_prefix=true"), "{text}");
    }

    #[test]
    fn destinations_parse() {
        assert_eq!(
            AuditDestination::parse("stderr"),
            Ok(AuditDestination::Stderr)
        );
        assert_eq!(
            AuditDestination::parse("stdout"),
            Ok(AuditDestination::Stdout)
        );
        assert_eq!(
            AuditDestination::parse("/var/log/audit.jsonl"),
            Ok(AuditDestination::File("/var/log/audit.jsonl".into()))
        );
        assert!(AuditDestination::parse("audit.jsonl").is_err());
        assert!(AuditDestination::parse("").is_err());
    }
}
