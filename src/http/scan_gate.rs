//! The scan gate of `POST /v1/downloads` (a profile's `scan`): the object's scan tag is read
//! with one GetObjectTagging and must say clean before a grant is signed. No tag yet is 409
//! `scan_pending` with `Retry-After`; any other value is 403 `quarantined`; a missing object
//! is 404 `object_not_found`. Every failure closes the gate: S3 refusing or not implementing
//! GetObjectTagging is 502 `s3_refused`, a timeout 503 `s3_unavailable`.
//!
//! What S3 answered is kept briefly in [`ScanTags`], a bounded in-memory cache per instance:
//! a tag value for [`SETTLED_TTL`], the absence of a tag for [`PENDING_TTL`] (the
//! `Retry-After` of `scan_pending`, so a client that waits as told is never answered from the
//! cache), at most [`MAX_ENTRIES`] entries. Failures are not cached.

use super::code::SCAN_RETRY_AFTER_SECS;
use super::{ApiError, AppState, Code};
use crate::domain::{BucketName, ObjectKey};
use crate::policy::{ScanRule, ScanVerdict};
use crate::s3::{ObjectTag, S3Error};
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
    fn get(&self, bucket: &str, key: &str, tag: &str, now: Instant) -> Option<Option<String>> {
        let entries = self.entries.lock().ok()?;
        let cached = entries.get(&(bucket.to_owned(), key.to_owned(), tag.to_owned()))?;
        (cached.until > now).then(|| cached.value.clone())
    }

    /// Remembers what S3 said at `now`, unless the cache is full of fresh entries.
    fn put(&self, bucket: &str, key: &str, tag: &str, value: Option<String>, now: Instant) {
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

/// Refuses the download unless the object's tag `rule.tag()` has the clean value (from the
/// cache, or one GetObjectTagging). `Ok` also means the object existed when S3 answered.
pub(super) async fn require_clean(
    state: &AppState,
    bucket: &BucketName,
    key: &ObjectKey,
    rule: &ScanRule,
) -> Result<(), ApiError> {
    let now = Instant::now();
    let (b, k, tag) = (bucket.as_str(), key.as_str(), rule.tag());
    let value = match state.scan_tags.get(b, k, tag, now) {
        Some(value) => value,
        None => {
            let value = match state.s3.object_tag(bucket, key, tag).await {
                Ok(ObjectTag::Found(value)) => value,
                Ok(ObjectTag::Missing) => return Err(S3Error::NoSuchKey.into()),
                Ok(ObjectTag::Unsupported) => return Err(unsupported(tag)),
                // AWS hides a missing key behind 403 from a role that may not list the whole
                // bucket: one listing of the key tells a missing object from a refusal.
                Err(S3Error::Refused(reason)) => {
                    if !state.s3.key_listed(bucket, key).await? {
                        return Err(S3Error::NoSuchKey.into());
                    }
                    return Err(S3Error::Refused(reason).into());
                }
                Err(err) => return Err(err.into()),
            };
            state.scan_tags.put(b, k, tag, value.clone(), now);
            value
        }
    };
    match rule.verdict(value.as_deref()) {
        ScanVerdict::Clean => Ok(()),
        ScanVerdict::Pending => Err(ApiError::new(
            Code::ScanPending,
            format!(
                "the object has no {tag:?} tag yet: its malware scan has not finished; ask \
                 again after Retry-After seconds"
            ),
        )),
        ScanVerdict::Refused(value) => Err(ApiError::new(
            Code::Quarantined,
            format!(
                "the object's {tag:?} tag is {value:?}, not {:?}: it is not served",
                rule.clean()
            ),
        )),
    }
}

/// A store without object tags (s3s-fs, the dev store): the gate cannot open.
fn unsupported(tag: &str) -> ApiError {
    tracing::warn!(
        tag,
        "a profile gates downloads on a scan tag, and the store does not implement \
         GetObjectTagging: no download of that profile can be granted"
    );
    ApiError::new(
        Code::S3Refused,
        format!(
            "the profile gates downloads on the scan tag {tag:?}, and the store does not \
             implement object tags (GetObjectTagging): no download can be granted"
        ),
    )
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
