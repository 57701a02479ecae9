//! Quotas per principal: bytes granted and grants per quota window (a day by default), and
//! multipart uploads open at once. Daily quotas count in fixed windows aligned on the Unix
//! epoch, so every instance agrees on when one resets; the declared size is debited when the
//! grant is made.

use super::Scope;
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// Quota limits (each optional).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quotas {
    /// Bytes declared by upload grants per window.
    pub bytes_per_day: Option<u64>,
    /// Grants (upload, download, multipart creation) per window.
    pub grants_per_day: Option<u64>,
    /// Multipart uploads open at once (released at complete or abort, or when the upload
    /// ticket expires).
    pub concurrent_multipart: Option<u32>,
}

/// Which quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuotaKind {
    /// `bytes_per_day`.
    Bytes,
    /// `grants_per_day`.
    Grants,
    /// `concurrent_multipart`.
    ConcurrentMultipart,
}

impl QuotaKind {
    /// The configuration key, metric label and problem detail word.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Bytes => "bytes_per_day",
            Self::Grants => "grants_per_day",
            Self::ConcurrentMultipart => "concurrent_multipart",
        }
    }
}

/// A quota that would be exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaExceeded {
    /// Which one.
    pub kind: QuotaKind,
    /// The limit.
    pub limit: u64,
    /// When it resets (for concurrent uploads: when the oldest open upload's ticket expires).
    pub resets_at: DateTime<Utc>,
    /// The quota's window in seconds (0 for concurrent uploads).
    pub window_secs: u32,
}

/// The fixed window of `now`: its index (part of the counter's key) and its end.
pub(crate) fn window_of(now: DateTime<Utc>, window_secs: u32) -> (i64, DateTime<Utc>) {
    let secs = i64::from(window_secs);
    let index = now.timestamp().div_euclid(secs);
    let end = DateTime::from_timestamp((index + 1) * secs, 0).unwrap_or(now);
    (index, end)
}

/// A quota counter that a grant debits: its quota and scope (its key, with the principal's
/// segment: `memory::scope_key`), the amount and the limit.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Debit<'a> {
    pub kind: QuotaKind,
    pub scope: Scope<'a>,
    pub amount: u64,
    pub limit: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_aligned_on_the_epoch() {
        let now = DateTime::from_timestamp(86_400 * 3 + 5, 0).unwrap();
        let (index, end) = window_of(now, 86_400);
        assert_eq!(index, 3);
        assert_eq!(end.timestamp(), 86_400 * 4);
        let (index, end) = window_of(now, 2);
        assert_eq!((index, end.timestamp()), (129_602, 86_400 * 3 + 6));
    }
}
