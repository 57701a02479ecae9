//! The two time formats of SigV4: `YYYYMMDD'T'HHMMSS'Z'` and `YYYYMMDD`.

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};

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

/// `0000-01-01T00:00:00Z` as a Unix timestamp.
const FIRST_SECOND_OF_YEAR_0: i64 = -62_167_219_200;
/// `9999-12-31T23:59:59Z` as a Unix timestamp.
const LAST_SECOND_OF_YEAR_9999: i64 = 253_402_300_799;

/// True for instants in the years 0000 to 9999.
pub(crate) fn within_four_digit_years(at: DateTime<Utc>) -> bool {
    (FIRST_SECOND_OF_YEAR_0..=LAST_SECOND_OF_YEAR_9999).contains(&at.timestamp())
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
}
