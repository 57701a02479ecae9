//! Check 10 (`backend = "ceph"` only): the bucket policy denies uploads that carry an
//! `x-amz-grant-*` header. Ceph radosgw 16 takes the headers a presigned PUT did not sign
//! (`tests/e2e/service_public_acls.rs`). The public access block (check 9) makes public
//! grants count for nothing, but a grant to a named account of the same store
//! (`x-amz-grant-read: id="bob"`) is not public: radosgw stores it, and that account then reads
//! the object without a grant from the broker. Only a bucket policy refuses such an upload:
//! one Deny of `s3:PutObject` for every principal per condition key, each with only
//! `StringLike` `s3:x-amz-grant-...` = `?*` (a value is present; `*` works as well), as in
//! `policies/bucket-policy-acl-grants-ceph.json`. A `Null` = `false` condition on these keys
//! refuses every upload on radosgw 16, honest ones included, so it does not count (tested in
//! `tests/e2e/service_public_acls.rs`).
//!
//! A warning, not a failure: it matters only where other accounts share the store. AWS refuses
//! a presigned request with an `x-amz-*` header it did not sign, so the check runs on Ceph only.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html#API_PutObject_RequestSyntax>
//! and <https://docs.ceph.com/en/pacific/radosgw/bucketpolicy/>.

use super::bucket_policy::{sole_condition, statements};
use super::finding::Finding;
use crate::s3::InspectError;
use serde_json::Value;

/// The shipped policy that closes it.
const SHIPPED: &str = "policies/bucket-policy-acl-grants-ceph.json";

/// The condition keys of PutObject's `x-amz-grant-*` headers.
const GRANT_KEYS: [&str; 5] = [
    "s3:x-amz-grant-read",
    "s3:x-amz-grant-write",
    "s3:x-amz-grant-read-acp",
    "s3:x-amz-grant-write-acp",
    "s3:x-amz-grant-full-control",
];

/// Check 10 for one bucket on Ceph: `policy` is GetBucketPolicy's answer (`None`: no policy),
/// `prefixes` the fixed key prefixes of the profiles that use it (a Deny of uploads under a
/// download-only prefix harms nothing, and a profile may start writing there).
pub(super) fn judge_acl_grants(
    bucket: &str,
    policy: &Result<Option<String>, InspectError>,
    prefixes: &[String],
) -> Finding {
    let check = format!("acl-grants {bucket}");
    let text = match policy {
        Ok(Some(text)) => text,
        Ok(None) => {
            return Finding::warn(
                check,
                open_to_named_accounts(&GRANT_KEYS, "no bucket policy"),
            );
        }
        Err(err) => {
            return super::unreadable(&check, "GetBucketPolicy", "the bucket policy", err);
        }
    };
    let statements = match statements(text) {
        Ok(list) => list,
        Err(e) => return Finding::fail(check, format!("the bucket policy is not JSON: {e}")),
    };
    let resources: Vec<String> = prefixes
        .iter()
        .map(|prefix| format!("arn:aws:s3:::{bucket}/{prefix}"))
        .collect();
    let open: Vec<&str> = GRANT_KEYS
        .into_iter()
        .filter(|key| {
            !resources.iter().all(|resource| {
                statements
                    .iter()
                    .any(|statement| denies_grant_header(statement, resource, key))
            })
        })
        .collect();
    if open.is_empty() {
        Finding::ok(
            check,
            "the bucket policy denies uploads that carry an x-amz-grant-* header",
        )
    } else {
        Finding::warn(
            check,
            open_to_named_accounts(&open, "the bucket policy does not deny"),
        )
    }
}

fn open_to_named_accounts(keys: &[&str], what: &str) -> String {
    let headers: Vec<&str> = keys
        .iter()
        .map(|key| key.trim_start_matches("s3:"))
        .collect();
    format!(
        "{what} uploads that carry {}: radosgw stores such an unsigned header of a presigned \
         PUT, and the account it names reads the object; where other accounts share this \
         store, add the statements of {SHIPPED} to the bucket policy (s3api put-bucket-policy)",
        headers.join(", ")
    )
}

/// Whether `statement` denies, under `resource`, every upload that carries the header of
/// condition key `key`, and only on that condition: `StringLike` `key` = `?*` or `*`.
fn denies_grant_header(statement: &Value, resource: &str, key: &str) -> bool {
    sole_condition(statement, "s3:putobject", resource).is_some_and(|(operator, name, values)| {
        operator == "StringLike"
            && name.eq_ignore_ascii_case(key)
            && matches!(values[..], ["?*"] | ["*"])
    })
}

#[cfg(test)]
mod tests {
    use super::super::finding::Status;
    use super::*;

    const SHIPPED_POLICY: &str =
        include_str!("../../../policies/bucket-policy-acl-grants-ceph.json");

    fn judge(policy: &str) -> Finding {
        judge_acl_grants(
            "my-uploads",
            &Ok(Some(policy.to_owned())),
            &["users/".to_owned(), "avatars/".to_owned()],
        )
    }

    fn deny(key: &str, pattern: &str, resource: &str) -> String {
        format!(
            r#"{{"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
                "Resource": "{resource}", "Condition": {{"StringLike": {{"{key}": "{pattern}"}}}}}}"#
        )
    }

    fn policy(statements: &[String]) -> String {
        format!(
            r#"{{"Version": "2012-10-17", "Statement": [{}]}}"#,
            statements.join(",")
        )
    }

    fn all_keys(pattern: &str, resource: &str) -> Vec<String> {
        GRANT_KEYS
            .iter()
            .map(|key| deny(key, pattern, resource))
            .collect()
    }

    #[test]
    fn the_shipped_policy_passes() {
        let finding = judge(SHIPPED_POLICY);
        assert_eq!(finding.status, Status::Ok, "{finding:?}");
    }

    #[test]
    fn every_grant_header_must_be_denied() {
        let mut statements = all_keys("?*", "arn:aws:s3:::my-uploads/*");
        statements.remove(4);
        let finding = judge(&policy(&statements));
        assert_eq!(finding.status, Status::Warn, "{finding:?}");
        assert!(
            finding.message.contains("x-amz-grant-full-control"),
            "{finding:?}"
        );
        assert!(
            !finding.message.contains("x-amz-grant-read,"),
            "{finding:?}"
        );
        assert!(finding.message.contains(SHIPPED), "{finding:?}");
    }

    #[test]
    fn a_missing_or_unreadable_policy_is_a_warning() {
        let none = judge_acl_grants("my-uploads", &Ok(None), &["users/".to_owned()]);
        assert_eq!(none.status, Status::Warn, "{none:?}");
        assert!(none.message.contains("no bucket policy"), "{none:?}");
        let refused = judge_acl_grants(
            "my-uploads",
            &Err(InspectError::NotImplemented),
            &["users/".to_owned()],
        );
        assert_eq!(refused.status, Status::Warn, "{refused:?}");
        let broken = judge("{not json");
        assert_eq!(broken.status, Status::Fail, "{broken:?}");
    }

    #[test]
    fn only_a_deny_of_a_present_header_on_every_prefix_counts() {
        // `*` counts like `?*`; a `Null` condition (every upload refused on radosgw 16) not.
        let star = judge(&policy(&all_keys("*", "arn:aws:s3:::my-uploads/*")));
        assert_eq!(star.status, Status::Ok, "{star:?}");
        let null: Vec<String> = all_keys("?*", "arn:aws:s3:::my-uploads/*")
            .into_iter()
            .map(|s| {
                s.replace("StringLike", "Null")
                    .replace("\"?*\"", "\"false\"")
            })
            .collect();
        let null = judge(&policy(&null));
        assert_eq!(null.status, Status::Warn, "{null:?}");
        // Denied under one profile's prefix only.
        let one_prefix = judge(&policy(&all_keys("?*", "arn:aws:s3:::my-uploads/users/*")));
        assert_eq!(one_prefix.status, Status::Warn, "{one_prefix:?}");
        // Another bucket.
        let other = judge(&policy(&all_keys("?*", "arn:aws:s3:::other/*")));
        assert_eq!(other.status, Status::Warn, "{other:?}");
        // All five keys in one condition: denied only when every header is present.
        let together = format!(
            r#"{{"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
                "Resource": "arn:aws:s3:::my-uploads/*", "Condition": {{"StringLike": {{{}}}}}}}"#,
            GRANT_KEYS
                .iter()
                .map(|key| format!(r#""{key}": "?*""#))
                .collect::<Vec<_>>()
                .join(",")
        );
        let together = judge(&policy(&[together]));
        assert_eq!(together.status, Status::Warn, "{together:?}");
        // An exempt principal.
        let exempt: Vec<String> = all_keys("?*", "arn:aws:s3:::my-uploads/*")
            .into_iter()
            .map(|s| {
                s.replace(
                    r#""Principal": "*""#,
                    r#""Principal": {"AWS": "arn:aws:iam::1:user/x"}"#,
                )
            })
            .collect();
        let exempt = judge(&policy(&exempt));
        assert_eq!(exempt.status, Status::Warn, "{exempt:?}");
    }
}
