//! Check 4: the local clock against the `Date` of S3's answer, and how much skew is too much.

use super::duration::human;
use super::finding::{Finding, Status};
use crate::s3::ServerTime;
use chrono::Duration;

/// Skew above which a warning is given: presigned URLs then start or end a minute off.
pub(super) const SKEW_WARN: Duration = Duration::minutes(1);

/// The skew beyond which S3 refuses SigV4 requests (`RequestTimeTooSkewed`).
///
/// See <https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-authenticating-requests.html>
pub(super) const SKEW_FAIL: Duration = Duration::minutes(15);

/// Check 4: classifies a clock skew: `ok` up to [`SKEW_WARN`], `warn` up to [`SKEW_FAIL`],
/// then `FAIL` (S3 refuses SigV4 requests and grants beyond it).
pub(super) fn classify_skew(skew: Duration) -> Status {
    let skew = skew.abs();
    if skew > SKEW_FAIL {
        Status::Fail
    } else if skew > SKEW_WARN {
        Status::Warn
    } else {
        Status::Ok
    }
}

/// Check 4: the local clock against S3's.
pub(super) fn judge_clock(time: Option<ServerTime>) -> Finding {
    let Some(time) = time else {
        return Finding::warn("clock", "not checked: S3 sent no answer with a Date header");
    };
    let skew = time.skew();
    let direction = if skew < Duration::zero() {
        "behind"
    } else {
        "ahead of"
    };
    // The Date header has whole seconds: within 2 s, the clocks agree.
    let text = if skew.abs() < Duration::seconds(2) {
        "S3's clock agrees with this host's (within 2 s)".to_owned()
    } else {
        format!(
            "S3's clock is {} {direction} this host's",
            human(skew.abs())
        )
    };
    match classify_skew(skew) {
        Status::Ok => Finding::ok("clock", text),
        Status::Warn => Finding::warn(
            "clock",
            format!("{text}: grants start and end that much off; synchronise with NTP"),
        ),
        Status::Fail => Finding::fail(
            "clock",
            format!(
                "{text}: beyond 15 min S3 refuses SigV4 requests and grants \
                 (RequestTimeTooSkewed); synchronise with NTP"
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    #[test]
    fn skew_is_ok_to_a_minute_and_fails_beyond_fifteen() {
        for (secs, status) in [
            (0, Status::Ok),
            (60, Status::Ok),
            (-60, Status::Ok),
            (61, Status::Warn),
            (-300, Status::Warn),
            (900, Status::Warn),
            (901, Status::Fail),
            (-3600, Status::Fail),
        ] {
            assert_eq!(classify_skew(Duration::seconds(secs)), status, "{secs} s");
        }
        let sent: DateTime<Utc> = "2030-01-01T00:00:00Z".parse().unwrap();
        let behind = judge_clock(Some(ServerTime {
            server: sent - Duration::minutes(20),
            sent,
            received: sent,
        }));
        assert_eq!(behind.status, Status::Fail);
        assert!(behind.message.contains("20 min behind"), "{behind}");
        assert_eq!(judge_clock(None).status, Status::Warn);
    }
}
