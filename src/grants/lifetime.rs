//! The one place a grant's lifetime is cut.
//!
//! A grant must not promise more than anyone can keep: not longer than the client asked for
//! (or the profile's default), the profile's maximum, SigV4's seven days
//! ([`Expiry::MAX`]), the broker's credentials minus their safety margin (a URL signed with
//! expired credentials fails), and, for part URLs, the multipart ticket (the upload cannot be
//! finished after it).
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html>
//! (`X-Amz-Expires`, at most 604,800 seconds).

use super::LifetimeError;
use crate::domain::Expiry;
use crate::policy::Lifetime;
use chrono::{DateTime, Utc};

/// `min(requested or profile default, profile max, 7 days, credentials_end − now,
/// ticket_end − now)` at `now`.
///
/// `credentials_end` is the credentials' expiry minus the safety margin (`None`: they do not
/// expire). `ticket_end` is when a multipart ticket expires, for part URLs; an open ticket
/// counts as having at least a second left. Refused when the credentials leave less than a
/// second.
pub fn grant_lifetime(
    asked: Lifetime,
    credentials_end: Option<DateTime<Utc>>,
    ticket_end: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Expiry, LifetimeError> {
    let decided = asked
        .requested
        .unwrap_or(asked.default)
        .min(asked.max)
        .min(Expiry::MAX);
    let mut secs = u64::from(decided.as_secs());
    if let Some(end) = ticket_end {
        secs = secs.min(seconds_until(end, now).max(1));
    }
    if let Some(end) = credentials_end {
        secs = secs.min(seconds_until(end, now));
    }
    Expiry::from_secs(secs).map_err(|_| LifetimeError::CredentialsExpireTooSoon)
}

/// Whole seconds from `now` to `end`, 0 when `end` has passed.
fn seconds_until(end: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    u64::try_from((end - now).num_seconds()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap()
    }

    fn secs(n: u64) -> Expiry {
        Expiry::from_secs(n).unwrap()
    }

    fn asked(requested: Option<u64>, default: u64, max: u64) -> Lifetime {
        Lifetime {
            requested: requested.map(secs),
            default: secs(default),
            max: secs(max),
        }
    }

    fn cut(asked: Lifetime, credentials: Option<i64>, ticket: Option<i64>) -> Option<u32> {
        let at = |s: i64| now() + Duration::seconds(s);
        grant_lifetime(asked, credentials.map(at), ticket.map(at), now())
            .ok()
            .map(Expiry::as_secs)
    }

    #[test]
    fn the_request_or_the_default_within_the_profile_maximum() {
        assert_eq!(cut(asked(None, 300, 600), None, None), Some(300));
        assert_eq!(cut(asked(Some(30), 300, 600), None, None), Some(30));
        assert_eq!(cut(asked(Some(3600), 300, 600), None, None), Some(600));
        assert_eq!(cut(asked(None, 600, 600), None, None), Some(600));
    }

    #[test]
    fn never_beyond_seven_days() {
        let week = Expiry::MAX.as_secs();
        assert_eq!(
            cut(asked(None, 600, u64::from(week)), None, None),
            Some(600)
        );
        assert_eq!(
            cut(
                asked(Some(u64::from(week)), 600, u64::from(week)),
                None,
                None
            ),
            Some(week)
        );
    }

    #[test]
    fn never_beyond_the_credentials_minus_their_margin() {
        assert_eq!(cut(asked(None, 600, 600), Some(100), None), Some(100));
        assert_eq!(cut(asked(None, 600, 600), Some(10_000), None), Some(600));
        assert_eq!(cut(asked(None, 600, 600), Some(1), None), Some(1));
        assert_eq!(
            grant_lifetime(asked(None, 600, 600), Some(now()), None, now()),
            Err(LifetimeError::CredentialsExpireTooSoon)
        );
        assert_eq!(cut(asked(None, 600, 600), Some(-5), None), None);
    }

    #[test]
    fn part_urls_never_outlive_their_ticket() {
        assert_eq!(cut(asked(None, 600, 600), None, Some(90)), Some(90));
        assert_eq!(cut(asked(None, 600, 600), Some(60), Some(90)), Some(60));
        assert_eq!(cut(asked(None, 600, 600), Some(120), Some(90)), Some(90));
        assert_eq!(
            cut(asked(None, 600, 600), None, Some(0)),
            Some(1),
            "an open ticket has a second left"
        );
    }
}
