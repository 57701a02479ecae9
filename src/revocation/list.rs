//! The revocation list: a global "not before" and one per principal, in whole Unix seconds.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Whether a credential issued at `issued_at` (Unix seconds; `None`: unknown) is refused by a
/// per-principal and a global "not before". Issued at or after the later of the two: accepted.
pub fn is_revoked(
    principal_not_before: Option<i64>,
    all_not_before: Option<i64>,
    issued_at: Option<i64>,
) -> bool {
    match principal_not_before.max(all_not_before) {
        None => false,
        Some(not_before) => issued_at.is_none_or(|iat| iat < not_before),
    }
}

/// The file form: RFC 3339 times.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Revocations {
    /// Everything issued before this is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all: Option<DateTime<Utc>>,
    /// Per namespace segment (a token subject, or `k-NAME` for an API key's principal).
    #[serde(default)]
    pub principals: BTreeMap<String, DateTime<Utc>>,
}

impl Revocations {
    /// Whether `segment`'s credential issued at `issued_at` is refused.
    pub fn refuses(&self, segment: &str, issued_at: Option<i64>) -> bool {
        is_revoked(
            self.principals.get(segment).map(DateTime::timestamp),
            self.all.map(|t| t.timestamp()),
            issued_at,
        )
    }

    /// Sets a "not before" (a later one of an earlier revocation is kept).
    pub fn revoke(&mut self, segment: Option<&str>, at: DateTime<Utc>) {
        let slot = match segment {
            Some(segment) => self.principals.entry(segment.to_owned()).or_insert(at),
            None => self.all.get_or_insert(at),
        };
        *slot = (*slot).max(at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_before_is_refused_and_unknown_too() {
        assert!(!is_revoked(None, None, None));
        assert!(is_revoked(Some(100), None, Some(99)));
        assert!(!is_revoked(Some(100), None, Some(100)));
        assert!(is_revoked(Some(100), None, None));
        assert!(is_revoked(Some(10), Some(200), Some(150)));
        assert!(!is_revoked(Some(300), Some(200), Some(300)));
    }

    #[test]
    fn list_keeps_the_latest_time_per_principal() {
        let t = |s| DateTime::from_timestamp(s, 0).unwrap();
        let mut list = Revocations::default();
        list.revoke(Some("alice"), t(100));
        list.revoke(Some("alice"), t(50));
        assert!(list.refuses("alice", Some(99)));
        assert!(!list.refuses("bob", Some(1)));
        list.revoke(None, t(10));
        assert!(list.refuses("bob", Some(1)));
        let text = serde_json::to_string(&list).unwrap();
        assert_eq!(serde_json::from_str::<Revocations>(&text).unwrap(), list);
    }
}
