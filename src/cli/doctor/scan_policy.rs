//! Check 8: for profiles with `scan`, the bucket policy denies a presigned GET of an object
//! until its scan tag says clean, both before the scan (no tag) and after a threat (another
//! value), and denies an upload that writes the scan tag itself. The broker checks the tag
//! before it signs a grant; only the bucket policy stops a URL already given (the object
//! replaced, or rescanned, while the URL lives), and a presigned URL signed by anyone else with
//! the broker's credentials. And only the bucket policy stops the holder of an upload grant
//! from tagging its own bytes clean: Ceph radosgw takes an unsigned `x-amz-tagging` header on a
//! presigned PUT (`tests/e2e/service_scan.rs`), so the tag would be the uploader's word.
//!
//! A Deny statement counts when it names every principal (`"*"`), covers `s3:GetObject` and
//! the profile's keys, and its conditions are the tag conditions and, at most,
//! `s3:authType = REST-QUERY-STRING` (which every presigned URL matches; not on Ceph, which has
//! no such key): any other condition (an exempt principal, an address) may leave presigned URLs
//! out, and `NotPrincipal` statements are not counted (the broker's role may be among them).
//!
//! - `StringNotEquals` `s3:ExistingObjectTag/<tag>` = the clean value denies a threat, and on
//!   AWS an untagged object too: a negated operator on a key missing from the request is
//!   true ([IAM: condition keys not present]).
//! - Ceph radosgw makes every condition on a missing key false, negated ones included, so
//!   there an untagged object needs `"Null": {"s3:ExistingObjectTag/<tag>": "true"}`
//!   (`policies/bucket-policy-scan-ceph.json`).
//! - A Deny of `s3:PutObject` (which covers PUT, POST and CreateMultipartUpload) for every
//!   principal with only `StringLike` `s3:RequestObjectTag/<tag>` = `*` refuses an upload that
//!   sets the tag, on AWS and on Ceph alike, and lets every other upload through.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/userguide/tagging-and-policies.html> and
//! <https://docs.aws.amazon.com/guardduty/latest/ug/malware-protection-s3-tag-based-access.html>.
//!
//! [IAM: condition keys not present]: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html

use super::bucket_policy::{denies_everyone, sole_condition, statements, strings};
use super::finding::Finding;
use crate::backend::Backend;
use crate::policy::ScanRule;
use crate::s3::InspectError;
use serde_json::Value;

/// A profile with `scan`, as its bucket's policy must serve it.
#[derive(Debug, Clone)]
pub(super) struct ScanUse {
    /// The profile's name.
    pub(super) profile: String,
    /// The fixed key prefix of its objects (`users/`).
    pub(super) prefix: String,
    /// Its tag and clean value.
    pub(super) rule: ScanRule,
}

/// What a statement denies of presigned GETs under one scan rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Coverage {
    /// An object without the tag (the scan has not finished).
    pending: bool,
    /// An object with another value (a threat, a scan that failed).
    threat: bool,
}

/// Check 8 for one bucket: `policy` is GetBucketPolicy's answer (`None`: no policy).
pub(super) fn judge_scan_policy(
    bucket: &str,
    policy: &Result<Option<String>, InspectError>,
    scans: &[ScanUse],
    backend: Backend,
) -> Finding {
    let check = format!("scan-policy {bucket}");
    let text = match policy {
        Ok(Some(text)) => text,
        Ok(None) => {
            return Finding::fail(
                check,
                format!(
                    "the bucket has no bucket policy, so a presigned URL of an object the scan \
                     has not cleared still downloads it: {}",
                    apply_hint(scans, backend)
                ),
            );
        }
        Err(InspectError::NotImplemented) => {
            return Finding::fail(
                check,
                "the store does not implement GetBucketPolicy (nor, likely, object tags): \
                 profiles with scan cannot be enforced here; remove scan or use a store with \
                 object tags and bucket policies",
            );
        }
        Err(err) => {
            return Finding::warn(
                check,
                format!(
                    "GetBucketPolicy answered {err}: not checked (the broker's role need not \
                     read bucket settings; run doctor with credentials that may, or check that \
                     policies/bucket-policy-scan.json is applied by hand)"
                ),
            );
        }
    };
    let statements = match statements(text) {
        Ok(list) => list,
        Err(e) => return Finding::fail(check, format!("the bucket policy is not JSON: {e}")),
    };
    let mut problems = Vec::new();
    for scan in scans {
        let resource = format!("arn:aws:s3:::{bucket}/{}", scan.prefix);
        let mut covered = Coverage::default();
        for statement in &statements {
            let c = coverage(statement, &resource, &scan.rule, backend);
            covered.pending |= c.pending;
            covered.threat |= c.threat;
        }
        if !statements
            .iter()
            .any(|statement| denies_self_tagging(statement, &resource, &scan.rule))
        {
            problems.push(format!(
                "profile {:?}: an upload that writes the tag itself is not denied (Ceph takes \
                 an unsigned x-amz-tagging header on a presigned PUT): add a Deny of \
                 s3:PutObject on {resource}* with StringLike s3:RequestObjectTag/{} = \"*\"",
                scan.profile,
                scan.rule.tag()
            ));
        }
        let condition = format!(
            "s3:ExistingObjectTag/{} = {:?}",
            scan.rule.tag(),
            scan.rule.clean()
        );
        match (covered.pending, covered.threat) {
            (true, true) => {}
            (false, false) => problems.push(format!(
                "profile {:?}: no Deny of s3:GetObject on {resource}* for every principal \
                 unless {condition}",
                scan.profile
            )),
            (true, false) => problems.push(format!(
                "profile {:?}: objects with another value of the tag (a threat) are not \
                 denied: add a Deny with StringNotEquals {condition}",
                scan.profile
            )),
            (false, true) => problems.push(format!(
                "profile {:?}: objects without the tag (not scanned yet) are not denied{}",
                scan.profile,
                if backend == Backend::Ceph {
                    format!(
                        " (Ceph makes a condition on a missing tag false): add a Deny with \
                         \"Null\": {{\"s3:ExistingObjectTag/{}\": \"true\"}}",
                        scan.rule.tag()
                    )
                } else {
                    String::new()
                }
            )),
        }
    }
    if problems.is_empty() {
        let names: Vec<String> = scans.iter().map(|s| format!("{:?}", s.profile)).collect();
        Finding::ok(
            check,
            format!(
                "the bucket policy denies presigned GETs until the scan tag says clean ({})",
                names.join(", ")
            ),
        )
    } else {
        Finding::fail(
            check,
            format!("{}: {}", problems.join("; "), apply_hint(scans, backend)),
        )
    }
}

fn apply_hint(scans: &[ScanUse], backend: Backend) -> String {
    let tags: Vec<String> = scans
        .iter()
        .map(|s| format!("{} = {}", s.rule.tag(), s.rule.clean()))
        .collect();
    let file = match backend {
        Backend::Ceph => "bucket-policy-scan-ceph.json",
        _ => "bucket-policy-scan.json",
    };
    format!(
        "apply policies/{file} with the bucket's name and {} (s3api put-bucket-policy)",
        tags.join(", ")
    )
}

/// Whether `statement` denies, under `resource`, every upload that sets `rule`'s tag and only
/// on that condition: `StringLike` `s3:RequestObjectTag/<tag>` = `*`.
fn denies_self_tagging(statement: &Value, resource: &str, rule: &ScanRule) -> bool {
    sole_condition(statement, "s3:putobject", resource).is_some_and(|(operator, key, values)| {
        operator == "StringLike"
            && key.split_once('/').is_some_and(|(name, tag)| {
                name.eq_ignore_ascii_case("s3:RequestObjectTag") && tag == rule.tag()
            })
            && values == ["*"]
    })
}

/// What `statement` denies of a presigned GET under `resource` for `rule`.
fn coverage(statement: &Value, resource: &str, rule: &ScanRule, backend: Backend) -> Coverage {
    let none = Coverage::default();
    let applies = denies_everyone(statement, "s3:getobject", resource);
    let Some(conditions) = statement["Condition"].as_object().filter(|_| applies) else {
        return none;
    };
    // Every condition must hold for a presigned GET of an uncleared object.
    let mut covered = Coverage {
        pending: true,
        threat: true,
    };
    let mut on_tag = false;
    for (operator, pairs) in conditions {
        let Some(pairs) = pairs.as_object() else {
            return none;
        };
        for (key, values) in pairs {
            let values = strings(values);
            // Condition key names are case-insensitive; the tag's name is not.
            let is_tag = key.split_once('/').is_some_and(|(name, tag)| {
                name.eq_ignore_ascii_case("s3:ExistingObjectTag") && tag == rule.tag()
            });
            let key = key.to_ascii_lowercase();
            match (operator.as_str(), is_tag) {
                ("StringNotEquals", true) if values == [rule.clean()] => {
                    on_tag = true;
                    covered.pending &= backend != Backend::Ceph;
                }
                ("Null", true) if values == ["true"] => {
                    on_tag = true;
                    covered.threat = false;
                }
                // Ceph has no `s3:authType`: there the condition is false.
                ("StringEquals", false)
                    if key == "s3:authtype"
                        && values == ["REST-QUERY-STRING"]
                        && backend != Backend::Ceph => {}
                _ => return none,
            }
        }
    }
    if on_tag { covered } else { none }
}

#[cfg(test)]
mod tests {
    use super::super::finding::Status;
    use super::*;

    const SHIPPED: &str = include_str!("../../../policies/bucket-policy-scan.json");
    const SHIPPED_CEPH: &str = include_str!("../../../policies/bucket-policy-scan-ceph.json");

    fn guard_duty() -> Vec<ScanUse> {
        let profile = crate::policy::Profile::from_toml(
            "default",
            "key_template = \"users/{principal}/{uuid}/{filename}\"\n\
             content_types = [\"text/plain\"]\nmax_size = 100\n\
             scan = { tag = \"GuardDutyMalwareScanStatus\", clean = \"NO_THREATS_FOUND\" }",
            Some(&crate::domain::BucketName::new("my-uploads").unwrap()),
        )
        .unwrap();
        vec![ScanUse {
            profile: "default".into(),
            prefix: "users/".into(),
            rule: profile.scan().unwrap().clone(),
        }]
    }

    fn judge(policy: &str, backend: Backend) -> Finding {
        judge_scan_policy(
            "my-uploads",
            &Ok(Some(policy.to_owned())),
            &guard_duty(),
            backend,
        )
    }

    fn deny(condition: &str) -> String {
        format!(
            r#"{{"Effect":"Deny","Principal":"*","Action":"s3:GetObject",
                "Resource":"arn:aws:s3:::my-uploads/*","Condition":{condition}}}"#
        )
    }

    /// The Deny of uploads that set the scan tag.
    const SELF_TAGGING: &str = r#"{"Effect":"Deny","Principal":"*","Action":"s3:PutObject",
        "Resource":"arn:aws:s3:::my-uploads/*",
        "Condition":{"StringLike":{"s3:RequestObjectTag/GuardDutyMalwareScanStatus":"*"}}}"#;

    /// A policy of `statements` and [`SELF_TAGGING`].
    fn policy(statements: &[String]) -> String {
        let mut all = statements.to_vec();
        all.push(SELF_TAGGING.to_owned());
        without_self_tagging(&all)
    }

    /// A policy of `statements` alone.
    fn without_self_tagging(statements: &[String]) -> String {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
            statements.join(",")
        )
    }

    const NOT_CLEAN: &str = r#"{"StringNotEquals":{"s3:ExistingObjectTag/GuardDutyMalwareScanStatus":"NO_THREATS_FOUND"}}"#;
    const UNTAGGED: &str = r#"{"Null":{"s3:ExistingObjectTag/GuardDutyMalwareScanStatus":"true"}}"#;

    #[test]
    fn the_shipped_policy_passes_on_aws() {
        let ok = judge(SHIPPED, Backend::Aws);
        assert_eq!(ok.status, Status::Ok, "{ok}");
        assert_eq!(ok.check, "scan-policy my-uploads");
    }

    /// Ceph takes an unsigned `x-amz-tagging` on a presigned PUT: without a Deny of uploads
    /// that set the scan tag, the uploader could tag its own bytes clean.
    #[test]
    fn uploads_that_set_the_scan_tag_must_be_denied() {
        for (backend, gets) in [
            (Backend::Aws, vec![deny(NOT_CLEAN)]),
            (Backend::Ceph, vec![deny(NOT_CLEAN), deny(UNTAGGED)]),
        ] {
            assert_eq!(judge(&policy(&gets), backend).status, Status::Ok);
            let fail = judge(&without_self_tagging(&gets), backend);
            assert_eq!(fail.status, Status::Fail, "{fail}");
            assert!(fail.message.contains("writes the tag itself"), "{fail}");
            assert!(
                fail.message
                    .contains("StringLike s3:RequestObjectTag/GuardDutyMalwareScanStatus"),
                "{fail}"
            );
            for weaker in [
                SELF_TAGGING.replace("\"*\"}}", "\"NO_THREATS_FOUND\"}}"),
                SELF_TAGGING.replace("s3:PutObject", "s3:PutObjectTagging"),
                SELF_TAGGING.replace("my-uploads/*", "my-uploads/avatars/*"),
                SELF_TAGGING.replace("GuardDutyMalwareScanStatus", "OtherTag"),
                SELF_TAGGING.replace("Deny", "Allow"),
                SELF_TAGGING.replace(
                    "\"StringLike\"",
                    "\"IpAddress\":{\"aws:SourceIp\":\"10.0.0.0/8\"},\"StringLike\"",
                ),
            ] {
                let mut statements = gets.clone();
                statements.push(weaker.clone());
                let fail = judge(&without_self_tagging(&statements), backend);
                assert_eq!(fail.status, Status::Fail, "{weaker}: {fail}");
            }
            let wildcard = SELF_TAGGING.replace("\"s3:PutObject\"", "[\"s3:Put*\"]");
            let mut statements = gets.clone();
            statements.push(wildcard);
            let ok = judge(&without_self_tagging(&statements), backend);
            assert_eq!(ok.status, Status::Ok, "{ok}");
        }
    }

    #[test]
    fn a_missing_or_unreadable_policy_is_reported() {
        let none = judge_scan_policy("my-uploads", &Ok(None), &guard_duty(), Backend::Aws);
        assert_eq!(none.status, Status::Fail, "{none}");
        assert!(none.message.contains("no bucket policy"), "{none}");
        assert!(none.message.contains("bucket-policy-scan.json"), "{none}");
        let s3s = judge_scan_policy(
            "my-uploads",
            &Err(InspectError::NotImplemented),
            &guard_duty(),
            Backend::Aws,
        );
        assert_eq!(s3s.status, Status::Fail, "{s3s}");
        let denied = InspectError::Refused {
            status: 403,
            code: Some("AccessDenied".into()),
        };
        let warn = judge_scan_policy("my-uploads", &Err(denied), &guard_duty(), Backend::Aws);
        assert_eq!(warn.status, Status::Warn, "{warn}");
        assert_eq!(judge("not json", Backend::Aws).status, Status::Fail);
    }

    #[test]
    fn a_policy_for_another_tag_value_or_prefix_does_not_match() {
        let other_value = NOT_CLEAN.replace("NO_THREATS_FOUND", "CLEAN");
        let fail = judge(&policy(&[deny(&other_value)]), Backend::Aws);
        assert_eq!(fail.status, Status::Fail, "{fail}");
        assert!(fail.message.contains("\"default\""), "{fail}");
        let other_tag =
            NOT_CLEAN.replace("GuardDutyMalwareScanStatus", "guarddutymalwarescanstatus");
        assert_eq!(
            judge(&policy(&[deny(&other_tag)]), Backend::Aws).status,
            Status::Fail
        );
        let elsewhere = deny(NOT_CLEAN).replace("my-uploads/*", "my-uploads/avatars/*");
        assert_eq!(
            judge(&policy(&[elsewhere]), Backend::Aws).status,
            Status::Fail
        );
        let narrower = deny(NOT_CLEAN).replace("my-uploads/*", "my-uploads/users/*");
        assert_eq!(judge(&policy(&[narrower]), Backend::Aws).status, Status::Ok);
        let wildcard = deny(NOT_CLEAN).replace("\"s3:GetObject\"", "[\"s3:Get*\"]");
        assert_eq!(judge(&policy(&[wildcard]), Backend::Aws).status, Status::Ok);
        let put = deny(NOT_CLEAN).replace("s3:GetObject", "s3:PutObject");
        assert_eq!(judge(&policy(&[put]), Backend::Aws).status, Status::Fail);
    }

    #[test]
    fn statements_that_exempt_someone_do_not_count() {
        let shipped: Value = serde_json::from_str(SHIPPED).unwrap();
        // The shipped statement that exempts the scanner's and the broker's roles, alone.
        let exempting = shipped["Statement"][1].to_string();
        let fail = judge(&policy(&[exempting]), Backend::Aws);
        assert_eq!(fail.status, Status::Fail, "{fail}");
        let not_principal = deny(NOT_CLEAN).replace(
            "\"Principal\":\"*\"",
            "\"NotPrincipal\":{\"AWS\":\"arn:aws:iam::111122223333:role/scanner\"}",
        );
        assert_eq!(
            judge(&policy(&[not_principal]), Backend::Aws).status,
            Status::Fail
        );
        let allow = deny(NOT_CLEAN).replace("Deny", "Allow");
        assert_eq!(judge(&policy(&[allow]), Backend::Aws).status, Status::Fail);
    }

    #[test]
    fn ceph_needs_a_null_condition_for_untagged_objects() {
        // Ceph has no s3:authType: the shipped statements never apply there.
        assert_eq!(judge(SHIPPED, Backend::Ceph).status, Status::Fail);
        let only_values = judge(&policy(&[deny(NOT_CLEAN)]), Backend::Ceph);
        assert_eq!(only_values.status, Status::Fail, "{only_values}");
        assert!(only_values.message.contains("\"Null\""), "{only_values}");
        assert!(
            only_values.message.contains("bucket-policy-scan-ceph.json"),
            "{only_values}"
        );
        let only_null = judge(&policy(&[deny(UNTAGGED)]), Backend::Ceph);
        assert!(only_null.message.contains("a threat"), "{only_null}");
        let both = judge(&policy(&[deny(NOT_CLEAN), deny(UNTAGGED)]), Backend::Ceph);
        assert_eq!(both.status, Status::Ok, "{both}");
        let shipped = judge(SHIPPED_CEPH, Backend::Ceph);
        assert_eq!(shipped.status, Status::Ok, "{shipped}");
        // One statement with both conditions (AND) denies neither state on Ceph.
        let and = r#"{"StringNotEquals":{"s3:ExistingObjectTag/GuardDutyMalwareScanStatus":"NO_THREATS_FOUND"},
                "Null":{"s3:ExistingObjectTag/GuardDutyMalwareScanStatus":"true"}}"#;
        assert_eq!(
            judge(&policy(&[deny(and)]), Backend::Ceph).status,
            Status::Fail
        );
        assert_eq!(
            judge(&policy(&[deny(NOT_CLEAN)]), Backend::Aws).status,
            Status::Ok
        );
    }
}
