//! The bounded in-memory cache of scan tags behind scan-gated downloads (`scan_gate.rs`), one
//! per instance: what GetObjectTagging said of a tag, a value (or the broker's own quarantine
//! tag) for [`SETTLED_TTL`], the absence of the tag for [`PENDING_TTL`] (the `Retry-After` of `scan_pending`, so a client that waits
//! as told is never answered from the cache), at most [`MAX_ENTRIES`] objects.

use super::code::SCAN_RETRY_AFTER_SECS;
use crate::s3::ObjectTag;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a tag value (clean or not), or a quarantine, is served from the cache.
pub(super) const SETTLED_TTL: Duration = Duration::from_secs(15);
/// How long "no tag yet" is served from the cache: the `Retry-After` of `scan_pending`.
pub(super) const PENDING_TTL: Duration = Duration::from_secs(SCAN_RETRY_AFTER_SECS as u64);
/// The most objects the cache remembers; when full, expired entries are dropped and, if
/// none had expired, new answers are not cached until some do.
pub(super) const MAX_ENTRIES: usize = 4096;

/// (bucket, key, tag name).
type TagKey = (String, String, String);

/// What S3 said of one tag, until when.
#[derive(Debug, Clone)]
struct Cached {
    answer: ObjectTag,
    until: Instant,
}

/// The bounded cache of scan tags (see the module documentation).
#[derive(Debug, Default)]
pub struct ScanTags {
    entries: Mutex<HashMap<TagKey, Cached>>,
}

impl ScanTags {
    /// What S3 said of `tag` on `key` ([`ObjectTag::Found`] or [`ObjectTag::Quarantined`]),
    /// if still fresh at `now`.
    pub(super) fn get(
        &self,
        bucket: &str,
        key: &str,
        tag: &str,
        now: Instant,
    ) -> Option<ObjectTag> {
        let entries = self.entries.lock().ok()?;
        let cached = entries.get(&(bucket.to_owned(), key.to_owned(), tag.to_owned()))?;
        (cached.until > now).then(|| cached.answer.clone())
    }

    /// Remembers what S3 said at `now` (an answer about the object's tags, not a failure),
    /// unless the cache is full of fresh entries.
    pub(super) fn put(&self, bucket: &str, key: &str, tag: &str, answer: ObjectTag, now: Instant) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, cached| cached.until > now);
            if entries.len() >= MAX_ENTRIES {
                return;
            }
        }
        let ttl = match answer {
            ObjectTag::Found(None) => PENDING_TTL,
            _ => SETTLED_TTL,
        };
        entries.insert(
            (bucket.to_owned(), key.to_owned(), tag.to_owned()),
            Cached {
                answer,
                until: now + ttl,
            },
        );
    }

    /// Forgets every answer about `key` of `bucket`: the broker itself just deleted or
    /// quarantined the object, so what S3 said of its tags no longer holds.
    pub(super) fn forget(&self, bucket: &str, key: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|(b, k, _), _| b != bucket || k != key);
        }
    }

    /// How many answers are held (fresh or not).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_expire_and_the_cache_stays_bounded() {
        let tags = ScanTags::default();
        let t0 = Instant::now();
        let (pending, clean) = (
            ObjectTag::Found(None),
            ObjectTag::Found(Some("CLEAN".into())),
        );
        tags.put("b", "k", "scan", pending.clone(), t0);
        tags.put("b", "c", "scan", clean.clone(), t0);
        tags.put("b", "q", "scan", ObjectTag::Quarantined, t0);
        assert_eq!(tags.get("b", "k", "scan", t0), Some(pending.clone()));
        assert_eq!(tags.get("b", "k", "other", t0), None, "per tag name");
        let later = t0 + PENDING_TTL;
        assert_eq!(tags.get("b", "k", "scan", later), None, "pending expired");
        assert_eq!(tags.get("b", "c", "scan", later), Some(clean));
        assert_eq!(
            tags.get("b", "q", "scan", later),
            Some(ObjectTag::Quarantined),
            "a quarantine is settled"
        );
        assert_eq!(tags.get("b", "c", "scan", t0 + SETTLED_TTL), None);
        tags.put("b", "c", "other", ObjectTag::Found(None), t0);
        tags.forget("b", "c");
        assert_eq!(tags.get("b", "c", "scan", t0), None, "forgotten");
        assert_eq!(tags.get("b", "c", "other", t0), None, "every tag name");
        assert_eq!(tags.get("b", "q", "scan", t0), Some(ObjectTag::Quarantined));

        for i in 0..MAX_ENTRIES + 10 {
            let value = ObjectTag::Found(Some("v".into()));
            tags.put("b", &format!("key-{i}"), "scan", value, t0);
        }
        assert_eq!(tags.len(), MAX_ENTRIES, "full of fresh entries: no more");
        // Once they expire, a new answer makes room by dropping them.
        tags.put("b", "new", "scan", pending.clone(), t0 + SETTLED_TTL);
        assert_eq!(tags.len(), 1);
        assert_eq!(
            tags.get("b", "new", "scan", t0 + SETTLED_TTL),
            Some(pending)
        );
    }
}
