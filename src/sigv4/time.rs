//! The two time formats of SigV4: `YYYYMMDD'T'HHMMSS'Z'` and `YYYYMMDD`.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeDelta, Timelike, Utc};

/// A signing instant truncated to whole seconds, with its SigV4 renderings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SigningTime {
    at: DateTime<Utc>,
    amz_date: AmzDate,
}

/// The `X-Amz-Date` digits, aligned to eight bytes: `str::from_utf8` checks an aligned
/// ASCII text a word at a time, and an unaligned one byte by byte up to its first aligned
/// word (a short text, never).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(align(8))]
struct AmzDate([u8; 16]);

/// `00` to `99`: the two digits of every number below 100, one load per pair.
const DIGIT_PAIRS: [[u8; 2]; 100] = {
    let mut pairs = [[0u8; 2]; 100];
    let mut n = 0;
    while n < 100 {
        pairs[n] = [b'0' + (n / 10) as u8, b'0' + (n % 10) as u8];
        n += 1;
    }
    pairs
};

/// Writes the two last decimal digits of `value` into `out`.
fn put_pair(out: &mut [u8], value: u32) {
    out.copy_from_slice(&DIGIT_PAIRS[(value % 100) as usize]);
}

impl SigningTime {
    /// Truncates `at` to the second and precomputes the `X-Amz-Date` text; `None` outside
    /// the years 0000 to 9999, which the four-digit format cannot express.
    pub fn new(at: DateTime<Utc>) -> Option<Self> {
        if !within_four_digit_years(at) {
            return None;
        }
        // Fields of the naive UTC time: no time-zone arithmetic per field.
        let naive = at.naive_utc().with_nanosecond(0).unwrap_or(at.naive_utc());
        let mut amz_date = *b"00000000T000000Z";
        // Years 0 to 9999 (checked above): four digits, as two pairs.
        let year = naive.year() as u32;
        put_pair(&mut amz_date[0..2], year / 100);
        put_pair(&mut amz_date[2..4], year);
        put_pair(&mut amz_date[4..6], naive.month());
        put_pair(&mut amz_date[6..8], naive.day());
        put_pair(&mut amz_date[9..11], naive.hour());
        put_pair(&mut amz_date[11..13], naive.minute());
        put_pair(&mut amz_date[13..15], naive.second());
        Some(Self {
            at: naive.and_utc(),
            amz_date: AmzDate(amz_date),
        })
    }

    /// The instant.
    pub fn instant(&self) -> DateTime<Utc> {
        self.at
    }

    /// The UTC calendar date (the key of the daily signing key).
    pub fn date(&self) -> NaiveDate {
        self.at.naive_utc().date()
    }

    /// `YYYYMMDDTHHMMSSZ`, as in `X-Amz-Date`.
    pub fn amz_date(&self) -> &str {
        // The buffer holds ASCII digits and letters only.
        std::str::from_utf8(&self.amz_date.0).unwrap_or_default()
    }

    /// `YYYYMMDDTHHMMSSZ` as bytes.
    pub(crate) fn amz_date_bytes(&self) -> &[u8; 16] {
        &self.amz_date.0
    }

    /// `YYYYMMDD`, as in the credential scope.
    pub fn date_stamp(&self) -> &str {
        &self.amz_date()[..8]
    }
}

/// True for instants in the years 0000 to 9999 (UTC): read off the date's year, which
/// chrono keeps as a field, rather than by working out the Unix timestamp.
pub(crate) fn within_four_digit_years(at: DateTime<Utc>) -> bool {
    (0..=9999).contains(&at.naive_utc().year())
}

/// `at` plus `secs` seconds, or `None` past the year 9999. When the sum stays within `at`'s
/// day (a URL of minutes signed before the last minutes of a day) only the time of day
/// changes, so no calendar arithmetic is done.
pub(crate) fn add_seconds(at: DateTime<Utc>, secs: u32) -> Option<DateTime<Utc>> {
    let naive = at.naive_utc();
    let same_day = naive.num_seconds_from_midnight().checked_add(secs);
    if let Some(of_day) = same_day.filter(|s| *s < 86_400)
        && let Some(time) =
            NaiveTime::from_num_seconds_from_midnight_opt(of_day, naive.nanosecond())
    {
        return Some(naive.date().and_time(time).and_utc());
    }
    at.checked_add_signed(TimeDelta::seconds(i64::from(secs)))
        .filter(|end| within_four_digit_years(*end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_sigv4_dates() {
        let t = SigningTime::new("2013-05-24T01:02:03.999Z".parse().unwrap()).unwrap();
        assert_eq!(t.amz_date(), "20130524T010203Z");
        assert_eq!(t.date_stamp(), "20130524");
        assert_eq!(t.instant().to_rfc3339(), "2013-05-24T01:02:03+00:00");
        let t = SigningTime::new("0001-01-01T00:00:00Z".parse().unwrap()).unwrap();
        assert_eq!(t.amz_date(), "00010101T000000Z");
        let t = SigningTime::new("9999-12-31T23:59:59.5Z".parse().unwrap()).unwrap();
        assert_eq!(t.amz_date(), "99991231T235959Z");
        let t = SigningTime::new("1970-10-09T08:07:06Z".parse().unwrap()).unwrap();
        assert_eq!(t.amz_date(), "19701009T080706Z");
        assert!(SigningTime::new("+10000-01-01T00:00:00Z".parse().unwrap()).is_none());
        assert!(SigningTime::new("-0001-12-31T23:59:59Z".parse().unwrap()).is_none());
    }

    #[test]
    fn four_digit_years_are_the_timestamps_of_years_0_to_9999() {
        let first: DateTime<Utc> = "0000-01-01T00:00:00Z".parse().unwrap();
        let last: DateTime<Utc> = "9999-12-31T23:59:59.999Z".parse().unwrap();
        assert_eq!(first.timestamp(), -62_167_219_200);
        assert_eq!(last.timestamp(), 253_402_300_799);
        for (at, within) in [
            (first, true),
            (last, true),
            (first - TimeDelta::nanoseconds(1), false),
            (last + TimeDelta::milliseconds(1), false),
            ("2026-05-01T12:00:00Z".parse().unwrap(), true),
        ] {
            assert_eq!(within_four_digit_years(at), within, "{at}");
        }
    }

    #[test]
    fn adds_seconds_as_chrono_does() {
        for at in [
            "2026-05-01T12:00:00Z",
            "2026-05-01T23:45:00.5Z",
            "2026-12-31T23:59:59Z",
            "2024-02-28T23:59:59Z",
            "9999-12-31T23:00:00Z",
            "0000-01-01T00:00:00Z",
        ] {
            let at: DateTime<Utc> = at.parse().unwrap();
            for secs in [0, 1, 59, 900, 3_600, 86_399, 86_400, 604_800, u32::MAX] {
                let expected = at
                    .checked_add_signed(TimeDelta::seconds(i64::from(secs)))
                    .filter(|end| end.year() <= 9999);
                assert_eq!(add_seconds(at, secs), expected, "{at} + {secs}");
            }
        }
    }
}
