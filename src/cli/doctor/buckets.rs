//! Check 5: the buckets the profiles use, and whether the credentials reach each of them.

use super::cors::BrowserNeeds;
use super::finding::Finding;
use crate::config::Settings;
use crate::domain::BucketName;
use crate::policy::ProfileRegistry;
use crate::s3::InspectError;

/// One bucket and the profiles that use it.
pub(super) struct BucketUse {
    pub(super) bucket: BucketName,
    /// The fixed key prefixes of its profiles (e.g. `users/`), for the listing probes.
    pub(super) prefixes: Vec<String>,
    /// The prefixes of its profiles that allow multipart uploads.
    pub(super) multipart_prefixes: Vec<String>,
    /// What browsers send to it with the grants.
    pub(super) needs: BrowserNeeds,
    /// Its profiles with `scan`, which its bucket policy must back.
    pub(super) scans: Vec<super::scan_policy::ScanUse>,
}

impl BucketUse {
    /// A bucket with these listing prefixes, no multipart prefixes and no browser needs yet.
    fn new(bucket: BucketName, prefixes: Vec<String>) -> Self {
        Self {
            bucket,
            prefixes,
            multipart_prefixes: Vec::new(),
            needs: BrowserNeeds::default(),
            scans: Vec::new(),
        }
    }
}

/// The buckets the profiles use (or `s3.bucket` when the profiles did not load).
pub(super) fn buckets_in_use(
    settings: &Settings,
    profiles: Option<&ProfileRegistry>,
) -> Vec<BucketUse> {
    let mut buckets: Vec<BucketUse> = Vec::new();
    let Some(profiles) = profiles else {
        return settings
            .s3
            .bucket
            .iter()
            .map(|bucket| BucketUse::new(bucket.clone(), vec![String::new()]))
            .collect();
    };
    for profile in profiles.profiles() {
        let prefix: String = profile
            .key_template()
            .base()
            .iter()
            .map(|segment| format!("{segment}/"))
            .collect();
        let index = match buckets.iter().position(|b| &b.bucket == profile.bucket()) {
            Some(i) => i,
            None => {
                buckets.push(BucketUse::new(profile.bucket().clone(), Vec::new()));
                buckets.len() - 1
            }
        };
        let entry = &mut buckets[index];
        if !entry.prefixes.contains(&prefix) {
            entry.prefixes.push(prefix.clone());
        }
        entry.needs.add_profile(profile, settings.s3.backend);
        if let Some(rule) = profile.scan() {
            entry.scans.push(super::scan_policy::ScanUse {
                profile: profile.name().to_owned(),
                prefix: prefix.clone(),
                rule: rule.clone(),
            });
        }
        if profile.allows_multipart() && !entry.multipart_prefixes.contains(&prefix) {
            entry.multipart_prefixes.push(prefix);
        }
    }
    buckets
}

/// Check 5: what HeadBucket said and, after a refusal, the listing under each prefix the
/// profiles use in the bucket (`listings`, in order).
pub(super) fn judge_bucket(
    name: &str,
    head: &Result<(), InspectError>,
    listings: &[(String, Result<(), InspectError>)],
) -> Finding {
    let check = format!("bucket {name}");
    let head_err = match head {
        Ok(()) => return Finding::ok(check, "exists and the credentials reach it (HeadBucket)"),
        Err(InspectError::NotImplemented) => {
            return Finding::warn(
                check,
                "the store does not implement HeadBucket: the bucket was not checked",
            );
        }
        Err(err) => err,
    };
    let refused = listings.iter().find_map(|(prefix, listing)| match listing {
        Err(err @ InspectError::Refused { .. }) => Some((prefix, err)),
        _ => None,
    });
    if let Some((prefix, err)) = refused {
        return Finding::fail(
            check,
            format!(
                "listing under {prefix:?} (HeadBucket is denied): {}",
                bucket_refusal(name, prefix, err)
            ),
        );
    }
    if !listings.is_empty() && listings.iter().all(|(_, listing)| listing.is_ok()) {
        let prefixes: Vec<String> = listings.iter().map(|(p, _)| format!("{p:?}")).collect();
        return Finding::ok(
            check,
            format!(
                "reachable: listing under {} works (HeadBucket is denied, as with the \
                 least-privilege policies/iam-policy.json)",
                prefixes.join(", ")
            ),
        );
    }
    Finding::fail(check, bucket_refusal(name, "", head_err))
}

/// What a refusal on a bucket means, by S3 error code (or status, for HEAD answers).
fn bucket_refusal(name: &str, prefix: &str, err: &InspectError) -> String {
    let hint = match (err.code(), err.status()) {
        (Some("NoSuchBucket"), _) | (None, Some(404)) => format!(
            "bucket {name} does not exist: create it, or fix s3.bucket / the profiles' bucket"
        ),
        (Some("InvalidAccessKeyId"), _) => {
            "the store does not know the access key id: fix the broker's credentials".to_owned()
        }
        (Some("SignatureDoesNotMatch"), _) => {
            "the secret key does not match the access key id: fix the broker's credentials"
                .to_owned()
        }
        (Some("AccessDenied" | "AllAccessDisabled"), _) | (None, Some(403)) => format!(
            "the credentials may not list {prefix:?} in {name}: grant s3:ListBucket \
             (see policies/iam-policy.json) or fix the credentials"
        ),
        (Some("RequestTimeTooSkewed"), _) => {
            "the local clock is too far off: synchronise it with NTP".to_owned()
        }
        (
            Some(
                "PermanentRedirect"
                | "AuthorizationHeaderMalformed"
                | "IllegalLocationConstraintException",
            ),
            _,
        )
        | (None, Some(301)) => {
            format!("bucket {name} is in another region than s3.region: fix s3.region")
        }
        _ => format!("fix access to bucket {name}"),
    };
    format!("{err}: {hint}")
}

#[cfg(test)]
mod tests {
    use super::super::finding::Status;
    use super::*;

    fn refused(status: u16, code: Option<&str>) -> Result<(), InspectError> {
        Err(InspectError::Refused {
            status,
            code: code.map(str::to_owned),
        })
    }

    fn listing(
        prefix: &str,
        result: Result<(), InspectError>,
    ) -> (String, Result<(), InspectError>) {
        (prefix.to_owned(), result)
    }

    #[test]
    fn bucket_refusals_name_the_bucket_and_the_fix() {
        let missing = judge_bucket(
            "photos",
            &refused(404, None),
            &[listing("users/", refused(404, Some("NoSuchBucket")))],
        );
        assert_eq!(missing.status, Status::Fail);
        assert_eq!(
            missing.to_string(),
            "FAIL bucket photos: listing under \"users/\" (HeadBucket is denied): NoSuchBucket \
             (HTTP 404): bucket photos does not exist: create it, or fix s3.bucket / the \
             profiles' bucket"
        );
        let denied_head = refused(403, None);
        let listed = judge_bucket("photos", &denied_head, &[listing("users/", Ok(()))]);
        assert_eq!(listed.status, Status::Ok, "{listed}");
        let bad_key = judge_bucket(
            "photos",
            &denied_head,
            &[listing("users/", refused(403, Some("InvalidAccessKeyId")))],
        );
        assert!(bad_key.message.contains("access key id"), "{bad_key}");
        assert_eq!(
            judge_bucket("photos", &Err(InspectError::NotImplemented), &[]).status,
            Status::Warn
        );
    }

    #[test]
    fn every_prefix_of_the_bucket_is_listed_after_a_head_refusal() {
        let denied_head = refused(403, None);
        // The role reaches users/ but not avatars/: the bucket fails, naming avatars/.
        let partial = judge_bucket(
            "photos",
            &denied_head,
            &[
                listing("users/", Ok(())),
                listing("avatars/", refused(403, Some("AccessDenied"))),
            ],
        );
        assert_eq!(partial.status, Status::Fail, "{partial}");
        assert!(
            partial.message.starts_with("listing under \"avatars/\""),
            "{partial}"
        );
        assert!(
            partial
                .message
                .contains("may not list \"avatars/\" in photos: grant s3:ListBucket"),
            "{partial}"
        );
        let both = judge_bucket(
            "photos",
            &denied_head,
            &[listing("users/", Ok(())), listing("avatars/", Ok(()))],
        );
        assert_eq!(both.status, Status::Ok, "{both}");
        assert!(both.message.contains("\"users/\", \"avatars/\""), "{both}");
    }
}
