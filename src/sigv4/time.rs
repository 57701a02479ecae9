//! The two time formats of SigV4: `YYYYMMDD'T'HHMMSS'Z'` and `YYYYMMDD`.

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};

/// A signing instant truncated to whole seconds, with its SigV4 renderings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SigningTime {
    at: DateTime<Utc>,
    amz_date: [u8; 16],
}

fn push_digits(out: &mut [u8], mut value: u32) {
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

impl SigningTime {
    /// Truncates `at` to the second and precomputes the `X-Amz-Date` text.
    pub fn new(at: DateTime<Utc>) -> Self {
        let at = at.with_nanosecond(0).unwrap_or(at);
        let mut amz_date = *b"00000000T000000Z";
        push_digits(&mut amz_date[0..4], at.year().clamp(0, 9999) as u32);
        push_digits(&mut amz_date[4..6], at.month());
        push_digits(&mut amz_date[6..8], at.day());
        push_digits(&mut amz_date[9..11], at.hour());
        push_digits(&mut amz_date[11..13], at.minute());
        push_digits(&mut amz_date[13..15], at.second());
        Self { at, amz_date }
    }

    /// The instant.
    pub fn instant(&self) -> DateTime<Utc> {
        self.at
    }

    /// The UTC calendar date (the key of the daily signing key).
    pub fn date(&self) -> NaiveDate {
        self.at.date_naive()
    }

    /// `YYYYMMDDTHHMMSSZ`, as in `X-Amz-Date`.
    pub fn amz_date(&self) -> &str {
        // The buffer holds ASCII digits and letters only.
        std::str::from_utf8(&self.amz_date).unwrap_or_default()
    }

    /// `YYYYMMDD`, as in the credential scope.
    pub fn date_stamp(&self) -> &str {
        &self.amz_date()[..8]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_sigv4_dates() {
        let t = SigningTime::new("2013-05-24T01:02:03.999Z".parse().unwrap());
        assert_eq!(t.amz_date(), "20130524T010203Z");
        assert_eq!(t.date_stamp(), "20130524");
        assert_eq!(t.instant().to_rfc3339(), "2013-05-24T01:02:03+00:00");
    }
}
