//! Step 3: the daily signing key, derived once per (access key, date, region) and reused.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html#signing-key>

use super::canonical_request::HexDigest;
use super::prefix_cache::PrefixCache;
use super::query::sigv4_query_head;
use super::sha256_state::{BLOCK, HmacStates, Sha256State};
use super::string_to_sign::write_string_to_sign_prefix;
use super::{ALGORITHM, CredentialScope, SigningTime, encode_query_component};
use crate::domain::{AccessKeyId, Region, SecretAccessKey};
use chrono::NaiveDate;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::cell::RefCell;
use std::sync::{Arc, RwLock};

pub(crate) type HmacSha256 = Hmac<Sha256>;

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = HmacSha256::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// A derived signing key, kept as a keyed HMAC state so each signature costs one HMAC pass
/// over the string to sign (the key's inner and outer pads are absorbed once).
#[derive(Clone)]
pub struct SigningKey {
    mac: HmacSha256,
    /// The same keyed states as bare SHA-256 states, for [`DailyKey::sign_canonical_hash`].
    states: HmacStates,
    raw: [u8; 32],
}

impl SigningKey {
    fn from_raw(raw: [u8; 32]) -> Self {
        Self {
            mac: HmacSha256::new_from_slice(&raw).unwrap_or_else(|_| unreachable!()),
            states: HmacStates::new(&raw),
            raw,
        }
    }

    /// The raw 32-byte key (for known-answer tests).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.raw
    }

    /// Lowercase hex HMAC-SHA256 of `string_to_sign` under this key: the signature.
    pub fn sign(&self, string_to_sign: &str) -> String {
        self.sign_with(|mac| mac.update(string_to_sign.as_bytes()))
            .as_str()
            .to_owned()
    }

    /// A fresh HMAC-SHA256 keyed with this key (to resume from a shared prefix).
    pub(crate) fn keyed_mac(&self) -> HmacSha256 {
        self.mac.clone()
    }

    /// The signature of whatever `write` feeds into the keyed HMAC (no text is built).
    pub(crate) fn sign_with(&self, write: impl FnOnce(&mut HmacSha256)) -> HexDigest {
        let mut mac = self.mac.clone();
        write(&mut mac);
        HexDigest::of(mac.finalize().into_bytes().into())
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

/// `HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`.
pub fn derive_signing_key(
    secret: &SecretAccessKey,
    date_stamp: &str,
    region: &str,
    service: &str,
) -> SigningKey {
    let mut seed = Vec::with_capacity(4 + secret.expose().len());
    seed.extend_from_slice(b"AWS4");
    seed.extend_from_slice(secret.expose().as_bytes());
    let k_date = hmac(&seed, date_stamp.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    SigningKey::from_raw(hmac(&k_service, b"aws4_request"))
}

/// Everything of a signature that depends only on (credentials, date, region), computed once
/// a day: the derived key, the credential scope, and the `X-Amz-Credential` value both plain
/// (POST forms) and URI-encoded (query strings).
#[derive(Debug)]
pub struct DailyKey {
    /// The derived signing key.
    pub key: SigningKey,
    /// `YYYYMMDD/region/s3/aws4_request`.
    pub scope: CredentialScope,
    /// `AKID/scope`.
    pub credential: String,
    /// `AKID%2Fscope`, ready for a query string.
    pub credential_query: String,
    /// A presigned URL's SigV4 parameters up to the `X-Amz-Date` value, built once a day.
    pub(crate) query_head: String,
    /// The keyed HMAC state after the string to sign's first block, for the last second.
    prefix: PrefixCache,
}

/// The longest string to sign [`DailyKey::sign_canonical_hash`] writes on the stack: the
/// algorithm, a date, the scope of a 64-byte region and the hash, with their line breaks, is
/// 188 bytes.
const STRING_TO_SIGN_MAX: usize = 192;

/// `AWS4-HMAC-SHA256 \n <X-Amz-Date> \n`: the bytes of a string to sign before its scope.
const BEFORE_SCOPE: usize = ALGORITHM.len() + 1 + 16 + 1;

impl DailyKey {
    /// The signature of the string to sign of a request signed at `time` whose canonical
    /// request's SHA-256 is `canonical_digest`, as [`DailyKey::sign_canonical_hash`] makes it.
    ///
    /// When the string to sign's saved whole blocks ([`PrefixCache`]) end within its scope
    /// (any region of six characters or more), what follows them is the rest of the scope, a
    /// line break and the hash: that tail is written straight into the blocks the inner hash
    /// pads and compresses, the hash's hex digits in place, with no string to sign built
    /// first and no copy of it. Otherwise, and for the first URL of a second, the general
    /// path does it.
    pub(crate) fn sign_canonical_digest(
        &self,
        time: &SigningTime,
        canonical_digest: &[u8; 32],
    ) -> HexDigest {
        let scope = self.scope.as_str().as_bytes();
        let whole = (BEFORE_SCOPE + scope.len() + 1) / BLOCK * BLOCK;
        // The scope's bytes after the saved blocks, and whether its line break is too.
        let rest = whole
            .checked_sub(BEFORE_SCOPE)
            .and_then(|at| match scope.get(at..) {
                Some(rest) => Some((rest, true)),
                None if at == scope.len() + 1 => Some((&[][..], false)),
                None => None,
            });
        if let Some((rest, newline)) = rest
            && let Some(words) = self.prefix.get(time.amz_date_bytes())
        {
            let mut blocks = [0u8; 3 * BLOCK];
            blocks[..rest.len()].copy_from_slice(rest);
            let hash_at = rest.len() + usize::from(newline);
            if newline {
                blocks[rest.len()] = b'\n';
            }
            if let Some(hex) = blocks
                .get_mut(hash_at..hash_at + 64)
                .and_then(|hex| <&mut [u8; 64]>::try_from(hex).ok())
            {
                HexDigest::write(canonical_digest, hex);
                let states = &self.key.states;
                let inner = Sha256State::from_words(words, states.inner.len() + whole as u64);
                return HexDigest::of(states.finish_in_place(inner, &mut blocks, hash_at + 64));
            }
        }
        self.sign_canonical_hash(time, &HexDigest::of(*canonical_digest))
    }

    /// The signature of the string to sign of a request signed at `time` whose canonical
    /// request hashes to `canonical_hash`: `ALGORITHM \n amz-date \n scope \n hash`, HMAC'd
    /// with the key. Its first whole block is compressed once a second
    /// ([`PrefixCache`]); the rest is written on the stack and hashed in one go.
    pub(crate) fn sign_canonical_hash(
        &self,
        time: &SigningTime,
        canonical_hash: &HexDigest,
    ) -> HexDigest {
        let amz_date = time.amz_date_bytes();
        let hash = canonical_hash.as_bytes();
        let mut text = [0u8; STRING_TO_SIGN_MAX];
        let mut end = 0;
        for part in [
            ALGORITHM.as_bytes(),
            b"\n",
            amz_date,
            b"\n",
            self.scope.as_str().as_bytes(),
            b"\n",
            hash,
        ] {
            let Some(slot) = text.get_mut(end..end + part.len()) else {
                return self.sign_canonical_hash_slowly(time, canonical_hash);
            };
            slot.copy_from_slice(part);
            end += part.len();
        }
        let whole = (end - hash.len()) / BLOCK * BLOCK;
        let states = &self.key.states;
        let inner = if whole == 0 {
            states.inner
        } else if let Some(words) = self.prefix.get(amz_date) {
            Sha256State::from_words(words, states.inner.len() + whole as u64)
        } else {
            let mut inner = states.inner;
            inner.absorb_blocks(text[..whole].as_chunks().0);
            self.prefix.put(amz_date, inner.words());
            inner
        };
        match states.finish(inner, &text[whole..end]) {
            Some(signature) => HexDigest::of(signature),
            None => self.sign_canonical_hash_slowly(time, canonical_hash),
        }
    }

    /// [`DailyKey::sign_canonical_hash`] through the `hmac` crate, whatever the lengths.
    fn sign_canonical_hash_slowly(
        &self,
        time: &SigningTime,
        canonical_hash: &HexDigest,
    ) -> HexDigest {
        self.key.sign_with(|mac| {
            write_string_to_sign_prefix(mac, time, &self.scope);
            mac.update(canonical_hash.as_bytes());
        })
    }
}

#[derive(Clone)]
struct Entry {
    access_key_id: AccessKeyId,
    secret: SecretAccessKey,
    date: NaiveDate,
    region: Region,
    key: Arc<DailyKey>,
}

/// A small cache of S3 signing keys keyed by access key id, UTC date and region.
///
/// The secret is compared on lookup too, so a rotated secret under the same id is never
/// served a stale key. Entries of older dates are dropped when a newer date is derived.
#[derive(Default)]
pub struct SigningKeyCache {
    entries: RwLock<Vec<Entry>>,
}

/// More entries than this means many credentials or regions at once; the oldest go first.
const CAPACITY: usize = 32;

/// Keys a signing thread keeps of its own: the last few it used.
const RECENT_CAPACITY: usize = 4;

thread_local! {
    /// The keys this thread used last, found without the cache's lock: a shared read lock is
    /// two atomic read-modify-writes on a counter every signing thread writes to. A daily key
    /// is a function of what an entry compares (access key id, secret, date, region), so a
    /// key found here is the one any cache would give.
    static RECENT: RefCell<Vec<Entry>> = const { RefCell::new(Vec::new()) };
}

/// Calls `use_key` with this thread's recent key that `matches`, or gives it back.
fn with_recent<R, F: FnOnce(&Arc<DailyKey>) -> R>(
    matches: impl Fn(&Entry) -> bool,
    use_key: F,
) -> Result<R, F> {
    let mut pending = Some(use_key);
    let used = RECENT
        .try_with(|recent| {
            let recent = recent.try_borrow().ok()?;
            let hit = recent.iter().find(|e| matches(e))?;
            pending.take().map(|use_key| use_key(&hit.key))
        })
        .ok()
        .flatten();
    match (used, pending) {
        (Some(result), _) => Ok(result),
        (None, Some(use_key)) => Err(use_key),
        // `pending` is taken only when `use_key` ran and gave its result.
        (None, None) => unreachable!(),
    }
}

/// Keeps `entry` among this thread's recent keys, in place of the oldest. Like the shared
/// cache, a thread keeps no key of the same access key and region older than yesterday's,
/// nor one made from another secret (a rotated one): no stale secret outlives its use.
fn remember(entry: &Entry) {
    let _ = RECENT.try_with(|recent| {
        if let Ok(mut recent) = recent.try_borrow_mut() {
            let yesterday = entry.date.pred_opt().unwrap_or(entry.date);
            recent.retain(|e| {
                !(e.access_key_id == entry.access_key_id && e.region == entry.region)
                    || (e.date >= yesterday && e.secret.expose() == entry.secret.expose())
            });
            if recent.len() >= RECENT_CAPACITY {
                recent.remove(0);
            }
            recent.push(entry.clone());
        }
    });
}

impl SigningKeyCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The daily key for S3, derived at most once per (access key, date, region).
    pub fn get(
        &self,
        access_key_id: &AccessKeyId,
        secret: &SecretAccessKey,
        time: &SigningTime,
        region: &Region,
    ) -> Arc<DailyKey> {
        self.with(access_key_id, secret, time, region, Arc::clone)
    }

    /// Calls `use_key` with the daily key for S3 (as [`SigningKeyCache::get`] finds or
    /// derives it). A key the thread used recently is lent from the thread's own copy (no
    /// lock, no atomic operation); another cached key is lent under the cache's read lock,
    /// not cloned out: no reference count goes up and down per signature. `use_key` must not
    /// look up a key of this cache itself.
    pub(crate) fn with<R>(
        &self,
        access_key_id: &AccessKeyId,
        secret: &SecretAccessKey,
        time: &SigningTime,
        region: &Region,
        use_key: impl FnOnce(&Arc<DailyKey>) -> R,
    ) -> R {
        let date = time.date();
        let matches = |e: &Entry| {
            e.date == date
                && e.access_key_id == *access_key_id
                && e.region == *region
                && e.secret.expose() == secret.expose()
        };
        let use_key = match with_recent(matches, use_key) {
            Ok(result) => return result,
            Err(use_key) => use_key,
        };
        if let Ok(entries) = self.entries.read()
            && let Some(hit) = entries.iter().find(|e| matches(e))
        {
            remember(hit);
            return use_key(&hit.key);
        }
        use_key(&self.derive(access_key_id, secret, time, region))
    }

    /// Derives the daily key and caches it.
    fn derive(
        &self,
        access_key_id: &AccessKeyId,
        secret: &SecretAccessKey,
        time: &SigningTime,
        region: &Region,
    ) -> Arc<DailyKey> {
        let date = time.date();
        let scope = CredentialScope::new(time, region, "s3");
        let credential = scope.credential(access_key_id);
        let credential_query = encode_query_component(&credential);
        let key = Arc::new(DailyKey {
            key: derive_signing_key(secret, time.date_stamp(), region.as_str(), "s3"),
            query_head: sigv4_query_head(&credential_query),
            credential_query,
            credential,
            scope,
            prefix: PrefixCache::new(),
        });
        if let Ok(mut entries) = self.entries.write() {
            // Keep yesterday's keys for requests signed just before midnight.
            entries.retain(|e| {
                !(e.access_key_id == *access_key_id && e.region == *region)
                    || (e.date >= date.pred_opt().unwrap_or(date) && e.date != date)
            });
            if entries.len() >= CAPACITY {
                entries.remove(0);
            }
            let entry = Entry {
                access_key_id: access_key_id.clone(),
                secret: secret.clone(),
                date,
                region: region.clone(),
                key: Arc::clone(&key),
            };
            remember(&entry);
            entries.push(entry);
        }
        key
    }

    /// Number of cached keys (for tests and metrics).
    pub fn len(&self) -> usize {
        self.entries.read().map(|e| e.len()).unwrap_or(0)
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> SigningTime {
        SigningTime::new(format!("{s}T12:00:00Z").parse().unwrap()).unwrap()
    }

    #[test]
    fn derives_once_per_day_and_evicts_old_days() {
        let cache = SigningKeyCache::new();
        let id = AccessKeyId::new("AKID").unwrap();
        let secret = SecretAccessKey::new("secret").unwrap();
        let region = Region::new("us-east-1").unwrap();
        let a = cache.get(&id, &secret, &day("2024-01-01"), &region);
        let b = cache.get(&id, &secret, &day("2024-01-01"), &region);
        assert!(Arc::ptr_eq(&a, &b), "same day must reuse the derived key");
        assert_eq!(a.credential, "AKID/20240101/us-east-1/s3/aws4_request");
        assert_eq!(
            a.credential_query,
            "AKID%2F20240101%2Fus-east-1%2Fs3%2Faws4_request"
        );
        assert_eq!(cache.len(), 1);
        let c = cache.get(&id, &secret, &day("2024-01-02"), &region);
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(cache.len(), 2, "yesterday is kept");
        cache.get(&id, &secret, &day("2024-01-03"), &region);
        assert_eq!(cache.len(), 2, "the day before yesterday is dropped");
    }

    #[test]
    fn signs_as_the_hmac_crate_in_any_region_and_second() {
        let cache = SigningKeyCache::new();
        let id = AccessKeyId::new("AKID").unwrap();
        let secret = SecretAccessKey::new("secret").unwrap();
        let hash = HexDigest::of([7; 32]);
        // Scopes whose prefix ends before, within and after the first block.
        // `auto`'s prefix is exactly one block: its line break is saved too.
        for region in ["a", "us", "auto", "eu-central-1", &"r".repeat(64)] {
            let region = Region::new(region).unwrap();
            for second in ["12:00:00", "12:00:00", "12:00:01", "12:00:00", "23:59:59"] {
                let time =
                    SigningTime::new(format!("2024-01-01T{second}Z").parse().unwrap()).unwrap();
                let key = cache.get(&id, &secret, &time, &region);
                let slowly = key.sign_canonical_hash_slowly(&time, &hash);
                assert_eq!(
                    key.sign_canonical_hash(&time, &hash).as_str(),
                    slowly.as_str(),
                    "{region:?} {second}"
                );
                assert_eq!(
                    key.sign_canonical_digest(&time, &[7; 32]).as_str(),
                    slowly.as_str(),
                    "{region:?} {second}"
                );
            }
        }
    }

    #[test]
    fn a_rotated_secret_gets_a_new_key() {
        let cache = SigningKeyCache::new();
        let id = AccessKeyId::new("AKID").unwrap();
        let region = Region::new("us-east-1").unwrap();
        let today = day("2024-01-01");
        let a = cache.get(&id, &SecretAccessKey::new("one").unwrap(), &today, &region);
        let b = cache.get(&id, &SecretAccessKey::new("two").unwrap(), &today, &region);
        assert_ne!(a.key.as_bytes(), b.key.as_bytes());
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn a_thread_keeps_no_rotated_secret_and_no_old_day() {
        // Each test runs on a thread of its own: RECENT starts empty here.
        let cache = SigningKeyCache::new();
        let id = AccessKeyId::new("AKID").unwrap();
        let region = Region::new("us-east-1").unwrap();
        let one = SecretAccessKey::new("one").unwrap();
        cache.get(&id, &one, &day("2024-01-01"), &region);
        cache.get(&id, &one, &day("2024-01-02"), &region);
        let secrets = || {
            RECENT.with(|r| {
                r.borrow()
                    .iter()
                    .map(|e| e.secret.expose().to_owned())
                    .collect::<Vec<_>>()
            })
        };
        assert_eq!(secrets(), ["one", "one"], "today's and yesterday's keys");
        cache.get(&id, &one, &day("2024-01-04"), &region);
        assert_eq!(secrets(), ["one"], "older days are dropped");
        cache.get(
            &id,
            &SecretAccessKey::new("two").unwrap(),
            &day("2024-01-04"),
            &region,
        );
        assert_eq!(secrets(), ["two"], "the rotated secret is dropped");
    }
}
