//! Check 3: the broker's credentials resolve, and how long they have left.

use super::duration::human;
use super::finding::Finding;
use crate::config::{CredentialsSetting, Settings};
use crate::s3::{CredentialSource, CredentialsUnavailable, REFRESH_AHEAD};
use chrono::{DateTime, Duration, Utc};

/// Check 3: the credentials resolve. Returns whether S3 calls can be signed at all.
pub(super) async fn check_credentials(
    settings: &Settings,
    source: &CredentialSource,
    longest_grant: Option<Duration>,
) -> (Finding, bool) {
    let origin = match settings.s3.credentials {
        CredentialsSetting::Static(_) => "static keys from the configuration",
        CredentialsSetting::DefaultChain => "the default credential chain",
    };
    let now = Utc::now();
    let expires_at = match source.current(now).await {
        Ok(credentials) => credentials.expires_at,
        Err(CredentialsUnavailable::Expiring(end)) => Some(end),
        Err(CredentialsUnavailable::Provider(why)) => {
            return (
                Finding::fail(
                    "credentials",
                    format!(
                        "{origin} gave no credentials ({why}): set AWS_* variables, a profile or \
                         a role, or [s3.credentials] source = \"static\""
                    ),
                ),
                false,
            );
        }
    };
    let finding = judge_credentials(origin, expires_at, now, source.margin(), longest_grant);
    (finding, true)
}

/// Judges credentials expiring at `expires_at` (if ever): FAIL inside the margin (the broker
/// refuses to sign), warn when less than the refresh lead remains beyond it (grants are being
/// shortened, and credentials that cannot be refreshed stop soon).
pub(super) fn judge_credentials(
    origin: &str,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    margin: Duration,
    longest_grant: Option<Duration>,
) -> Finding {
    let Some(end) = expires_at else {
        return Finding::ok("credentials", format!("{origin}: resolved, no expiry"));
    };
    let left = end - now;
    if left <= margin {
        return Finding::fail(
            "credentials",
            format!(
                "{origin} expire in {}, within s3.credential_margin_secs ({}): the broker \
                 refuses to sign with them; renew them",
                human(left),
                human(margin)
            ),
        );
    }
    let usable = left - margin;
    let text = format!(
        "{origin}: temporary, expire in {} (margin {})",
        human(left),
        human(margin)
    );
    if usable < REFRESH_AHEAD {
        Finding::warn(
            "credentials",
            format!(
                "{text}: grants are cut to {} now; unless the source renews them, the broker \
                 stops signing then",
                human(usable)
            ),
        )
    } else if let Some(grant) = longest_grant.filter(|g| usable < *g) {
        Finding::ok(
            "credentials",
            format!(
                "{text}; grants up to {} are shortened until they are refreshed",
                human(grant)
            ),
        )
    } else {
        Finding::ok("credentials", text)
    }
}

#[cfg(test)]
mod tests {
    use super::super::finding::Status;
    use super::*;

    #[test]
    fn credentials_are_judged_against_the_margin() {
        let now: DateTime<Utc> = "2030-01-01T00:00:00Z".parse().unwrap();
        let margin = Duration::minutes(5);
        let judge = |left: Duration| judge_credentials("x", Some(now + left), now, margin, None);
        assert_eq!(
            judge_credentials("x", None, now, margin, None).status,
            Status::Ok
        );
        assert_eq!(judge(Duration::minutes(4)).status, Status::Fail);
        assert_eq!(judge(Duration::minutes(5)).status, Status::Fail);
        assert_eq!(judge(Duration::minutes(10)).status, Status::Warn);
        let fine = judge(Duration::minutes(60));
        assert_eq!(fine.status, Status::Ok);
        assert!(
            fine.message.contains("expire in 1 h (margin 5 min)"),
            "{fine}"
        );
        let cut = judge_credentials(
            "x",
            Some(now + Duration::minutes(60)),
            now,
            margin,
            Some(Duration::hours(1)),
        );
        assert!(cut.message.contains("shortened"), "{cut}");
    }
}
