//! The byte buffer the writer thread renders access and audit lines into: the pieces of a
//! line (fixed words, numbers, JSON strings, timestamps) appended as bytes, without
//! `fmt`'s machinery or an intermediate string. What it writes is what the general writers
//! of [`super::json`] write (the tests compare them).

use super::json::{
    bytes_need_escape, needs_escape, timestamp_bytes, timestamp_secs_bytes, write_json_str,
    write_timestamp, write_timestamp_secs,
};
use chrono::{DateTime, Utc};
use std::time::{Duration, SystemTime};

/// `fmt::Write` into a byte buffer of UTF-8 lines, with byte-level fast paths.
pub(crate) struct LineSink<'a>(pub(crate) &'a mut Vec<u8>);

impl LineSink<'_> {
    /// Appends `s` as is.
    pub(crate) fn push_str(&mut self, s: &str) {
        self.0.extend_from_slice(s.as_bytes());
    }

    /// `n` in decimal, without `fmt`'s machinery.
    pub(crate) fn push_u64(&mut self, n: u64) {
        self.push_str(itoa::Buffer::new().format(n));
    }

    /// `duration` in milliseconds with three decimals (`0.519`), rounded to the microsecond
    /// (half up).
    pub(crate) fn push_millis(&mut self, duration: Duration) {
        let micros = millis_micros(duration);
        self.push_u64(micros / 1000);
        let fraction = micros % 1000;
        self.0.extend_from_slice(&[
            b'.',
            b'0' + (fraction / 100) as u8,
            b'0' + (fraction / 10 % 10) as u8,
            b'0' + (fraction % 10) as u8,
        ]);
    }

    /// `value` as a JSON string literal, as [`write_json_str`] writes it: when nothing in it
    /// needs an escape (the common case), the quotes and the text in one reservation.
    pub(crate) fn push_json_str(&mut self, value: &str) {
        if needs_escape(value) {
            write_json_str(self, value);
            return;
        }
        self.0.reserve(value.len() + 2);
        self.0.push(b'"');
        self.0.extend_from_slice(value.as_bytes());
        self.0.push(b'"');
    }

    /// `value`, which needs no escape (an access path already checked), as a JSON string
    /// literal: quoted, without looking for escapes in release builds.
    pub(crate) fn push_plain_json_str(&mut self, value: &str) {
        self.push_plain_json_bytes(value.as_bytes());
    }

    /// `value` (ASCII that never needs an escape: request ids, hex digits) as a JSON string
    /// literal, as [`LineSink::push_plain_json_str`] writes it, without a UTF-8 check.
    pub(crate) fn push_plain_json_bytes(&mut self, value: &[u8]) {
        debug_assert!(!bytes_need_escape(value), "{value:?}");
        self.0.reserve(value.len() + 2);
        self.0.push(b'"');
        self.0.extend_from_slice(value);
        self.0.push(b'"');
    }

    /// `at` as [`write_timestamp`] writes it (RFC 3339 UTC with microseconds), from the
    /// thread's cached text of the current second.
    pub(crate) fn push_timestamp(&mut self, at: SystemTime) {
        match timestamp_bytes(at) {
            Some(text) => self.0.extend_from_slice(&text),
            None => write_timestamp(self, at),
        }
    }

    /// `at` in RFC 3339 with whole seconds and `Z`, as [`write_timestamp_secs`] writes it,
    /// from the thread's cached text of that second.
    pub(crate) fn push_timestamp_secs(&mut self, at: DateTime<Utc>) {
        match timestamp_secs_bytes(at) {
            Some(text) => self.0.extend_from_slice(&text),
            None => write_timestamp_secs(self, at),
        }
    }
}

/// Whole microseconds of `duration`, rounded (half up).
pub(crate) fn millis_micros(duration: Duration) -> u64 {
    let micros = u64::try_from(duration.as_micros()).unwrap_or(u64::MAX);
    micros.saturating_add(u64::from(duration.subsec_nanos() % 1000 >= 500))
}

impl std::fmt::Write for LineSink<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.push_str(s);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::json::write_json_str;

    #[test]
    fn json_strings_are_the_general_writers() {
        for value in [
            "",
            "plain",
            "/v1/uploads",
            "a\"b",
            "c\\d",
            "e\nf",
            "\u{1}",
            "é \u{2028}",
        ] {
            let mut fast = Vec::new();
            LineSink(&mut fast).push_json_str(value);
            let mut general = String::new();
            write_json_str(&mut general, value);
            assert_eq!(String::from_utf8(fast).unwrap(), general, "{value:?}");
            if !needs_escape(value) {
                let mut plain = Vec::new();
                LineSink(&mut plain).push_plain_json_str(value);
                assert_eq!(String::from_utf8(plain).unwrap(), general, "{value:?}");
            }
        }
    }

    #[test]
    fn timestamps_are_the_general_writers_across_seconds() {
        let base = 1_800_000_000_u64;
        // Back and forth across seconds, days and years, so the cached second is replaced,
        // reused and replaced again.
        let seconds = [
            base,
            base,
            base + 1,
            base,
            base + 86_399,
            base + 86_400,
            0,
            253_402_300_799,
            253_402_300_800,
            base + 1,
        ];
        for secs in seconds {
            for nanos in [0, 999, 1_000, 123_456_789, 999_999_999] {
                let at = SystemTime::UNIX_EPOCH + Duration::new(secs, nanos);
                let mut fast = Vec::new();
                LineSink(&mut fast).push_timestamp(at);
                let chrono: DateTime<Utc> = at.into();
                assert_eq!(
                    String::from_utf8(fast).unwrap(),
                    chrono.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
                    "{secs}.{nanos:09}"
                );
            }
        }
        for secs in [
            -86_400 * 400,
            -1,
            0,
            1_800_000_900,
            1_800_000_900,
            1_800_000_901,
        ] {
            for secs in [secs, 253_402_300_799, 253_402_300_800, secs] {
                let at = DateTime::from_timestamp(secs, 0).unwrap();
                let mut fast = Vec::new();
                LineSink(&mut fast).push_timestamp_secs(at);
                assert_eq!(
                    String::from_utf8(fast).unwrap(),
                    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    "{secs}"
                );
            }
        }
        let before = SystemTime::UNIX_EPOCH - Duration::from_micros(1_500_000);
        let mut fast = Vec::new();
        LineSink(&mut fast).push_timestamp(before);
        let chrono: DateTime<Utc> = before.into();
        assert_eq!(
            String::from_utf8(fast).unwrap(),
            chrono.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
        );
    }
}
