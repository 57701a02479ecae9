//! A rate (`requests` per `window_secs`, all of them usable at once) and what a check of it
//! answers: admitted with what is left, or refused with when to retry. Enforced as GCRA (the
//! generic cell rate algorithm, [ITU-T I.371]): one request is "emitted" every
//! `window / requests`, with a burst tolerance of `requests`.
//!
//! [ITU-T I.371]: https://www.itu.int/rec/T-REC-I.371

use serde::Deserialize;
use std::num::NonZeroU32;
use std::time::Duration;

/// `{ requests = N, window_secs = W }`: at most N requests in any W seconds, N of them at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    /// Requests per window (and the burst).
    pub requests: NonZeroU32,
    /// The window, in seconds (1 to 86400).
    pub window_secs: NonZeroU32,
}

impl Rate {
    /// The window.
    pub fn window(self) -> Duration {
        Duration::from_secs(u64::from(self.window_secs.get()))
    }

    /// The time one request's budget takes to come back (the GCRA emission interval).
    pub fn interval(self) -> Duration {
        self.window() / self.requests.get()
    }

    /// `requests` per `window_secs` (tests).
    #[cfg(test)]
    pub(crate) fn per(requests: u32, window_secs: u32) -> Self {
        Self {
            requests: NonZeroU32::new(requests).expect("non-zero"),
            window_secs: NonZeroU32::new(window_secs).expect("non-zero"),
        }
    }

    /// This rate shared by `replicas` instances (each enforcing its share alone), at least one
    /// request per window.
    pub fn divided(self, replicas: NonZeroU32) -> Self {
        Self {
            requests: NonZeroU32::new(self.requests.get() / replicas.get())
                .unwrap_or(NonZeroU32::MIN),
            ..self
        }
    }
}

/// The outcome of one rate check, with what the `RateLimit` headers report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateOutcome {
    /// The rate that was checked.
    pub rate: Rate,
    /// Requests left right now (0 when refused).
    pub remaining: u32,
    /// Seconds until the full budget is back (rounded up).
    pub reset_secs: u64,
    /// Refused: seconds until one request is allowed again (rounded up, at least 1).
    pub retry_after_secs: Option<u64>,
}

impl RateOutcome {
    /// Whether the request may go on.
    pub fn admitted(&self) -> bool {
        self.retry_after_secs.is_none()
    }

    /// From a GCRA state: `remaining` requests now, the bucket full again after `until_full`,
    /// or refused until `retry_after`.
    pub(crate) fn from_gcra(
        rate: Rate,
        remaining: u32,
        until_full: Duration,
        retry_after: Option<Duration>,
    ) -> Self {
        Self {
            rate,
            remaining,
            reset_secs: ceil_secs(until_full),
            retry_after_secs: retry_after.map(|d| ceil_secs(d).max(1)),
        }
    }
}

/// Whole seconds, rounded up.
pub(crate) fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(requests: u32, window_secs: u32) -> Rate {
        Rate::per(requests, window_secs)
    }

    #[test]
    fn interval_and_division() {
        assert_eq!(rate(60, 60).interval(), Duration::from_secs(1));
        assert_eq!(rate(10, 1).interval(), Duration::from_millis(100));
        let three = NonZeroU32::new(3).unwrap();
        assert_eq!(rate(60, 60).divided(three).requests.get(), 20);
        assert_eq!(rate(2, 60).divided(three).requests.get(), 1);
    }

    #[test]
    fn outcomes_round_up() {
        let refused = RateOutcome::from_gcra(
            rate(1, 1),
            0,
            Duration::from_millis(1),
            Some(Duration::from_millis(1)),
        );
        assert_eq!((refused.reset_secs, refused.retry_after_secs), (1, Some(1)));
        assert!(!refused.admitted());
        let ok = RateOutcome::from_gcra(rate(5, 10), 4, Duration::from_secs(2), None);
        assert!(ok.admitted());
        assert_eq!(ok.reset_secs, 2);
    }
}
