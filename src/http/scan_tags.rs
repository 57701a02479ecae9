//! The bounded in-memory cache of scan tags behind scan-gated downloads (`scan_gate.rs`), one
//! per instance: what GetObjectTagging said of a tag, a value for [`SETTLED_TTL`], the absence
//! of the tag for [`PENDING_TTL`] (the `Retry-After` of `scan_pending`, so a client that waits
//! as told is never answered from the cache), at most [`MAX_ENTRIES`] objects.

use super::code::SCAN_RETRY_AFTER_SECS;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a tag value (clean or not) is served from the cache.
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
    value: Option<String>,
    until: Instant,
}

/// The bounded cache of scan tags (see the module documentation).
#[derive(Debug, Default)]
pub struct ScanTags {
    entries: Mutex<HashMap<TagKey, Cached>>,
}

impl ScanTags {
    /// The cached value of `tag` on `key` (`Some(None)`: no tag), if still fresh at `now`.
    pub(super) fn get(
        &self,
        bucket: &str,
        key: &str,
        tag: &str,
        now: Instant,
    ) -> Option<Option<String>> {
        let entries = self.entries.lock().ok()?;
        let cached = entries.get(&(bucket.to_owned(), key.to_owned(), tag.to_owned()))?;
        (cached.until > now).then(|| cached.value.clone())
    }

    /// Remembers what S3 said at `now`, unless the cache is full of fresh entries.
    pub(super) fn put(
        &self,
        bucket: &str,
        key: &str,
        tag: &str,
        value: Option<String>,
        now: Instant,
    ) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, cached| cached.until > now);
            if entries.len() >= MAX_ENTRIES {
                return;
            }
        }
        let ttl = if value.is_some() {
            SETTLED_TTL
        } else {
            PENDING_TTL
        };
        entries.insert(
            (bucket.to_owned(), key.to_owned(), tag.to_owned()),
            Cached {
                value,
                until: now + ttl,
            },
        );
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
        tags.put("b", "k", "scan", None, t0);
        tags.put("b", "c", "scan", Some("CLEAN".into()), t0);
        assert_eq!(tags.get("b", "k", "scan", t0), Some(None));
        assert_eq!(tags.get("b", "k", "other", t0), None, "per tag name");
        let later = t0 + PENDING_TTL;
        assert_eq!(tags.get("b", "k", "scan", later), None, "pending expired");
        assert_eq!(
            tags.get("b", "c", "scan", later),
            Some(Some("CLEAN".into()))
        );
        assert_eq!(tags.get("b", "c", "scan", t0 + SETTLED_TTL), None);

        for i in 0..MAX_ENTRIES + 10 {
            tags.put("b", &format!("key-{i}"), "scan", Some("v".into()), t0);
        }
        assert_eq!(tags.len(), MAX_ENTRIES, "full of fresh entries: no more");
        // Once they expire, a new answer makes room by dropping them.
        tags.put("b", "new", "scan", None, t0 + SETTLED_TTL);
        assert_eq!(tags.len(), 1);
        assert_eq!(tags.get("b", "new", "scan", t0 + SETTLED_TTL), Some(None));
    }
}
