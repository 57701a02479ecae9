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
    /// The fixed key prefixes of its profiles (e.g. `users/`), for the listing probe.
    pub(super) prefixes: Vec<String>,
    /// The prefixes of its profiles that allow multipart uploads.
    pub(super) multipart_prefixes: Vec<String>,
    /// What browsers send to it with the grants.
    pub(super) needs: BrowserNeeds,
}

impl BucketUse {
    /// A bucket with these listing prefixes, no multipart prefixes and no browser needs yet.
    fn new(bucket: BucketName, prefixes: Vec<String>) -> Self {
        Self {
            bucket,
            prefixes,
            multipart_prefixes: Vec::new(),
            needs: BrowserNeeds::default(),
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
        entry.needs.add_profile(
            profile.methods(),
            profile.allows_multipart(),
            settings.s3.backend,
        );
        if profile.allows_multipart() && !entry.multipart_prefixes.contains(&prefix) {
            entry.multipart_prefixes.push(prefix);
        }
    }
    buckets
}

/// Check 5: what HeadBucket (and, after a refusal, the listing under `prefix`) said.
pub(super) fn judge_bucket(
    name: &str,
    head: &Result<(), InspectError>,
    listing: Option<(&str, &Result<(), InspectError>)>,
) -> Finding {
    let check = format!("bucket {name}");
    match (head, listing) {
        (Ok(()), _) => Finding::ok(check, "exists and the credentials reach it (HeadBucket)"),
        (Err(InspectError::NotImplemented), _) => Finding::warn(
            check,
            "the store does not implement HeadBucket: the bucket was not checked",
        ),
        (Err(_), Some((prefix, Ok(())))) => Finding::ok(
            check,
            format!(
                "reachable: listing under {prefix:?} works (HeadBucket is denied, as with the \
                 least-privilege policies/iam-policy.json)"
            ),
        ),
        (Err(_), Some((prefix, Err(err @ InspectError::Refused { .. })))) => {
            Finding::fail(check, bucket_refusal(name, prefix, err))
        }
        (Err(err), _) => Finding::fail(check, bucket_refusal(name, "", err)),
    }
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

    #[test]
    fn bucket_refusals_name_the_bucket_and_the_fix() {
        let missing = judge_bucket(
            "photos",
            &Err(InspectError::Refused {
                status: 404,
                code: None,
            }),
            Some((
                "users/",
                &Err(InspectError::Refused {
                    status: 404,
                    code: Some("NoSuchBucket".into()),
                }),
            )),
        );
        assert_eq!(missing.status, Status::Fail);
        assert_eq!(
            missing.to_string(),
            "FAIL bucket photos: NoSuchBucket (HTTP 404): bucket photos does not exist: create \
             it, or fix s3.bucket / the profiles' bucket"
        );
        let denied_head = Err(InspectError::Refused {
            status: 403,
            code: None,
        });
        let listed = judge_bucket("photos", &denied_head, Some(("users/", &Ok(()))));
        assert_eq!(listed.status, Status::Ok, "{listed}");
        let bad_key = judge_bucket(
            "photos",
            &denied_head,
            Some((
                "users/",
                &Err(InspectError::Refused {
                    status: 403,
                    code: Some("InvalidAccessKeyId".into()),
                }),
            )),
        );
        assert!(bad_key.message.contains("access key id"), "{bad_key}");
        assert_eq!(
            judge_bucket("photos", &Err(InspectError::NotImplemented), None).status,
            Status::Warn
        );
    }
}
