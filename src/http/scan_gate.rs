//! The scan gate of `POST /v1/downloads` (a profile's `scan`): the object's scan tag is read
//! with one GetObjectTagging and must say clean before a grant is signed. No tag yet is 409
//! `scan_pending` with `Retry-After`; any other value is 403 `quarantined`, and so is an object
//! the broker's own verification quarantined (tagged `s3-broker-verification=mismatch`,
//! whatever a scanner wrote next to it or whether a new tag set lost it); a missing object is
//! 404 `object_not_found`. Every failure closes the gate: S3 refusing or not implementing
//! GetObjectTagging is 502 `s3_refused`, a timeout 503 `s3_unavailable`.
//!
//! What S3 answered is kept briefly in [`super::ScanTags`] (see `scan_tags.rs`); failures are
//! not cached.

use super::{ApiError, AppState, Code};
use crate::domain::{BucketName, ObjectKey};
use crate::policy::{ScanRule, ScanVerdict};
use crate::s3::{ObjectTag, QUARANTINE_TAG, S3Error};
use std::time::Instant;

/// Refuses the download unless the object's tag `rule.tag()` has the clean value (from the
/// cache, or one GetObjectTagging), and refuses an object a verification quarantined. `Ok`
/// also means the object existed when S3 answered.
pub(super) async fn require_clean(
    state: &AppState,
    bucket: &BucketName,
    key: &ObjectKey,
    rule: &ScanRule,
) -> Result<(), ApiError> {
    let now = Instant::now();
    let (b, k, tag) = (bucket.as_str(), key.as_str(), rule.tag());
    let answer = match state.scan_tags.get(b, k, tag, now) {
        Some(answer) => answer,
        None => {
            let answer = match state.s3.object_tag(bucket, key, tag).await {
                Ok(answer @ (ObjectTag::Found(_) | ObjectTag::Quarantined)) => answer,
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
            state.scan_tags.put(b, k, tag, answer.clone(), now);
            answer
        }
    };
    // Only `Found` and `Quarantined` are answers (and cached); the others returned above.
    let ObjectTag::Found(value) = answer else {
        let (name, value) = QUARANTINE_TAG;
        return Err(ApiError::new(
            Code::Quarantined,
            format!(
                "the object is tagged {name}={value}: a verification found it does not match \
                 its grant and quarantined it; it is not served"
            ),
        ));
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
