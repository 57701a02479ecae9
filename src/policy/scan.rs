//! Scan-gated downloads (a profile's `scan`): a download grant is given only when the object
//! carries the scanner's tag with the clean value. The decision here is pure: the HTTP layer
//! reads the tag (GetObjectTagging) and asks [`ScanRule::verdict`].
//!
//! Made for [GuardDuty Malware Protection for S3], which tags every scanned object with
//! `GuardDutyMalwareScanStatus` = `NO_THREATS_FOUND`, `THREATS_FOUND`, `UNSUPPORTED`,
//! `ACCESS_DENIED` or `FAILED`; any scanner that writes one tag works the same way. Only the
//! clean value opens the object: no tag yet is "pending", and every other value (a threat, a
//! file the scanner could not or would not read) keeps it closed.
//!
//! [GuardDuty Malware Protection for S3]: https://docs.aws.amazon.com/guardduty/latest/ug/monitoring-malware-protection-s3-scans-gdu.html

use serde::Deserialize;

/// The longest tag key S3 accepts, in characters.
const MAX_TAG_KEY_CHARS: usize = 128;
/// The longest tag value S3 accepts, in characters.
const MAX_TAG_VALUE_CHARS: usize = 256;

/// `scan = { tag = "...", clean = "..." }` as written in a profile file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ScanSpec {
    tag: String,
    clean: String,
}

/// The tag a scanner writes and the value that means "clean".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanRule {
    tag: String,
    clean: String,
}

/// What an object's scan tag says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanVerdict {
    /// The tag has the clean value: the download may be granted.
    Clean,
    /// No such tag yet: the scan has not finished (409 `scan_pending`, retry later).
    Pending,
    /// Any other value (a threat, or a scan that did not complete: 403 `quarantined`).
    Refused(String),
}

impl ScanRule {
    /// Checks a profile's `scan` against S3's tag rules
    /// (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-tagging.html>): a key of
    /// 1 to 128 characters not starting with the reserved `aws:`, a clean value of 1 to 256.
    pub(crate) fn from_spec(spec: ScanSpec) -> Result<Self, String> {
        let ScanSpec { tag, clean } = spec;
        let allowed = |c: char| c.is_alphanumeric() || " +-=._:/@".contains(c);
        if tag.is_empty() || tag.chars().count() > MAX_TAG_KEY_CHARS {
            return Err(format!("tag must be 1 to {MAX_TAG_KEY_CHARS} characters"));
        }
        if tag.to_ascii_lowercase().starts_with("aws:") {
            return Err("tag must not start with the reserved prefix \"aws:\"".into());
        }
        if clean.is_empty() || clean.chars().count() > MAX_TAG_VALUE_CHARS {
            return Err(format!(
                "clean must be 1 to {MAX_TAG_VALUE_CHARS} characters"
            ));
        }
        if !tag.chars().chain(clean.chars()).all(allowed) {
            return Err(
                "tag and clean may hold letters, digits, spaces and + - = . _ : / @ only".into(),
            );
        }
        Ok(Self { tag, clean })
    }

    /// The tag the scanner writes (e.g. `GuardDutyMalwareScanStatus`).
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// The value that means clean (e.g. `NO_THREATS_FOUND`).
    pub fn clean(&self) -> &str {
        &self.clean
    }

    /// The verdict of the tag's value (`None`: the object has no such tag). Values compare
    /// exactly, as S3's `StringEquals` does in the bucket policy that backs this check.
    pub fn verdict(&self, value: Option<&str>) -> ScanVerdict {
        match value {
            None => ScanVerdict::Pending,
            Some(value) if value == self.clean => ScanVerdict::Clean,
            Some(value) => ScanVerdict::Refused(value.to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(tag: &str, clean: &str) -> Result<ScanRule, String> {
        ScanRule::from_spec(ScanSpec {
            tag: tag.into(),
            clean: clean.into(),
        })
    }

    #[test]
    fn only_the_clean_value_opens_the_object() {
        let guard = rule("GuardDutyMalwareScanStatus", "NO_THREATS_FOUND").unwrap();
        assert_eq!(guard.verdict(Some("NO_THREATS_FOUND")), ScanVerdict::Clean);
        assert_eq!(guard.verdict(None), ScanVerdict::Pending);
        for other in [
            "THREATS_FOUND",
            "UNSUPPORTED",
            "ACCESS_DENIED",
            "FAILED",
            "no_threats_found",
            "",
        ] {
            assert_eq!(
                guard.verdict(Some(other)),
                ScanVerdict::Refused(other.into()),
                "{other:?}"
            );
        }
    }

    #[test]
    fn tags_follow_s3s_rules() {
        assert!(rule("av-status", "clean").is_ok());
        assert!(rule("", "clean").unwrap_err().contains("1 to 128"));
        assert!(rule(&"k".repeat(129), "clean").is_err());
        assert!(rule("aws:scan", "clean").unwrap_err().contains("aws:"));
        assert!(rule("scan", "").unwrap_err().contains("clean must be"));
        assert!(rule("scan", &"v".repeat(257)).is_err());
        assert!(rule("scan\n", "clean").unwrap_err().contains("letters"));
        assert!(rule("scan", "cl\"ean").is_err());
    }
}
