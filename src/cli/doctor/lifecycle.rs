//! Check 7: a lifecycle rule aborts incomplete multipart uploads, not before their tickets expire.

use super::finding::Finding;
use crate::s3::LifecycleRule;

/// Check 7: whether an enabled rule aborts incomplete multipart uploads under every prefix
/// of `prefixes`, no sooner than the tickets of those uploads expire.
///
/// Coverage asks, per prefix, for a rule whose prefix contains it (`""` or `users/` for
/// `users/`). When several enabled rules apply to an upload, S3 applies the shortest
/// `DaysAfterInitiation`, so the comparison with the ticket lifetime takes the minimum over
/// every enabled abort rule whose prefix overlaps one of `prefixes`, narrower ones (such as
/// `users/alice/` for `users/`) included.
///
/// See <https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpu-abort-incomplete-mpu-lifecycle-config.html>
/// and <https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-conflicts.html>
pub(super) fn judge_lifecycle(
    bucket: &str,
    rules: &[LifecycleRule],
    prefixes: &[String],
    ticket_ttl: std::time::Duration,
) -> Finding {
    let check = format!("lifecycle {bucket}");
    // Enabled rules that abort incomplete uploads, with their prefix and days.
    let aborting: Vec<(&LifecycleRule, &str, i32)> = rules
        .iter()
        .filter(|rule| rule.enabled)
        .filter_map(|rule| {
            Some((
                rule,
                rule.prefix.as_deref()?,
                rule.abort_incomplete_after_days?,
            ))
        })
        .collect();
    let uncovered: Vec<String> = prefixes
        .iter()
        .filter(|p| {
            !aborting
                .iter()
                .any(|(_, rule_prefix, _)| p.starts_with(rule_prefix))
        })
        .map(|p| format!("{p:?}"))
        .collect();
    if !uncovered.is_empty() {
        return Finding::warn(
            check,
            format!(
                "no enabled rule aborts incomplete multipart uploads under {}, so abandoned \
                 parts stay billed: apply policies/bucket-lifecycle.json \
                 (aws s3api put-bucket-lifecycle-configuration)",
                uncovered.join(", ")
            ),
        );
    }
    let ttl_days = ticket_ttl.as_secs().div_ceil(86_400);
    let shortest = aborting
        .iter()
        .filter(|(_, rule_prefix, _)| {
            prefixes
                .iter()
                .any(|p| p.starts_with(rule_prefix) || rule_prefix.starts_with(p.as_str()))
        })
        .min_by_key(|(_, _, days)| *days);
    match shortest {
        Some((rule, prefix, days)) if u64::try_from(*days).unwrap_or(0) < ttl_days => {
            Finding::warn(
                check,
                format!(
                    "{} (prefix {prefix:?}) aborts uploads after {days} d, before their tickets \
                     expire (multipart.ticket_ttl_secs = {}), and S3 applies the shortest of \
                     the rules that match: set its DaysAfterInitiation to at least {ttl_days}",
                    rule_name(rule),
                    ticket_ttl.as_secs()
                ),
            )
        }
        Some((rule, _, days)) => Finding::ok(
            check,
            format!(
                "{} aborts incomplete multipart uploads after {days} d",
                rule_name(rule)
            ),
        ),
        // No multipart prefixes: nothing to cover.
        None => Finding::ok(check, "no profile of this bucket allows multipart uploads"),
    }
}

fn rule_name(rule: &LifecycleRule) -> String {
    rule.id
        .as_deref()
        .map_or_else(|| "a rule".to_owned(), |id| format!("rule {id:?}"))
}

#[cfg(test)]
mod tests {
    use super::super::finding::Status;
    use super::*;

    fn lifecycle(prefix: Option<&str>, enabled: bool, days: Option<i32>) -> LifecycleRule {
        LifecycleRule {
            id: Some("abort".into()),
            enabled,
            prefix: prefix.map(str::to_owned),
            abort_incomplete_after_days: days,
        }
    }

    const DAY: std::time::Duration = std::time::Duration::from_secs(86_400);

    #[test]
    fn lifecycle_rules_must_abort_incomplete_uploads_under_every_multipart_prefix() {
        let users = ["users/".to_owned()];
        let ok = judge_lifecycle("b", &[lifecycle(Some(""), true, Some(7))], &users, DAY);
        assert_eq!(ok.status, Status::Ok, "{ok}");
        assert!(ok.message.contains("after 7 d"), "{ok}");
        let narrower = judge_lifecycle(
            "b",
            &[lifecycle(Some("users/"), true, Some(1))],
            &users,
            DAY,
        );
        assert_eq!(narrower.status, Status::Ok, "{narrower}");

        for (rules, why) in [
            (vec![], "no rules"),
            (vec![lifecycle(Some(""), false, Some(7))], "disabled"),
            (vec![lifecycle(Some(""), true, None)], "no abort action"),
            (
                vec![lifecycle(Some("avatars/"), true, Some(7))],
                "other prefix",
            ),
            (vec![lifecycle(None, true, Some(7))], "tag filter"),
        ] {
            let finding = judge_lifecycle("b", &rules, &users, DAY);
            assert_eq!(finding.status, Status::Warn, "{why}: {finding}");
            assert!(finding.message.contains("\"users/\""), "{why}: {finding}");
            assert!(
                finding.message.contains("policies/bucket-lifecycle.json"),
                "{why}: {finding}"
            );
        }
        // A rule that aborts before the tickets expire.
        let early = judge_lifecycle("b", &[lifecycle(Some(""), true, Some(1))], &users, 7 * DAY);
        assert_eq!(early.status, Status::Warn, "{early}");
        assert!(early.message.contains("at least 7"), "{early}");
    }

    #[test]
    fn the_shortest_overlapping_rule_is_compared_with_the_ticket_lifetime() {
        let users = ["users/".to_owned()];
        let named = |id: &str, prefix: &str, days: i32| LifecycleRule {
            id: Some(id.into()),
            ..lifecycle(Some(prefix), true, Some(days))
        };
        // S3 applies the shortest of the rules that match an upload: R2's single day.
        for narrower in ["users/", "users/alice/"] {
            let rules = [named("R1", "", 7), named("R2", narrower, 1)];
            let finding = judge_lifecycle("b", &rules, &users, 7 * DAY);
            assert_eq!(finding.status, Status::Warn, "{narrower}: {finding}");
            assert!(finding.message.contains("rule \"R2\""), "{finding}");
            assert!(finding.message.contains("after 1 d"), "{finding}");
            assert!(finding.message.contains("at least 7"), "{finding}");
        }
        // Rules elsewhere, disabled, or without the abort action do not count.
        let rules = [
            named("R1", "", 7),
            named("other", "avatars/", 1),
            LifecycleRule {
                enabled: false,
                ..named("off", "users/", 1)
            },
            LifecycleRule {
                abort_incomplete_after_days: None,
                ..named("expire", "users/", 7)
            },
        ];
        let finding = judge_lifecycle("b", &rules, &users, 7 * DAY);
        assert_eq!(finding.status, Status::Ok, "{finding}");
        assert!(finding.message.contains("rule \"R1\""), "{finding}");
        // A narrower rule alone does not cover the prefix.
        let finding = judge_lifecycle("b", &[named("R2", "users/alice/", 7)], &users, DAY);
        assert_eq!(finding.status, Status::Warn, "{finding}");
        assert!(finding.message.contains("no enabled rule"), "{finding}");
    }

    #[test]
    fn the_recommended_lifecycle_rule_passes() {
        let json: serde_json::Value =
            serde_json::from_str(include_str!("../../../policies/bucket-lifecycle.json")).unwrap();
        let rule = &json["Rules"][0];
        let recommended = LifecycleRule {
            id: rule["ID"].as_str().map(str::to_owned),
            enabled: rule["Status"] == "Enabled",
            prefix: rule["Filter"]["Prefix"].as_str().map(str::to_owned),
            abort_incomplete_after_days:
                rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"]
                    .as_i64()
                    .and_then(|d| i32::try_from(d).ok()),
        };
        let longest_ticket = 7 * DAY;
        let finding = judge_lifecycle(
            "b",
            &[recommended],
            &["users/".to_owned(), "avatars/".to_owned()],
            longest_ticket,
        );
        assert_eq!(finding.status, Status::Ok, "{finding}");
    }
}
