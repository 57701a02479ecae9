//! Object sizes in profiles: a number of bytes or a text such as `"10 MiB"`.

use super::PolicyError;
use serde::de::{self, Deserializer, Visitor};
use std::fmt;

/// A number of bytes, written in a profile as an integer (`1048576`) or a text with a unit
/// (`"1 MiB"`, `"1.5 GB"` is refused: whole numbers only). Units: `B`, decimal `KB` `MB` `GB`
/// (powers of 1000) and binary `KiB` `MiB` `GiB` (powers of 1024), case-insensitive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

const UNITS: [(&str, u64); 7] = [
    ("b", 1),
    ("kb", 1_000),
    ("mb", 1_000_000),
    ("gb", 1_000_000_000),
    ("kib", 1 << 10),
    ("mib", 1 << 20),
    ("gib", 1 << 30),
];

impl ByteSize {
    /// Parses `"10 MiB"`, `"10MiB"`, `"512"`...
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let digits = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(digits);
        let number: u64 = number
            .parse()
            .map_err(|_| format!("{text:?} is not a size; write e.g. 1048576 or \"10 MiB\""))?;
        let unit = unit.trim().to_ascii_lowercase();
        let factor = if unit.is_empty() {
            1
        } else {
            UNITS
                .iter()
                .find(|(name, _)| *name == unit)
                .map(|(_, factor)| *factor)
                .ok_or_else(|| {
                    format!("unknown unit in {text:?}; use B, KB, MB, GB, KiB, MiB or GiB")
                })?
        };
        number
            .checked_mul(factor)
            .map(Self)
            .ok_or_else(|| format!("{text:?} is too large"))
    }
}

struct ByteSizeVisitor;

impl Visitor<'_> for ByteSizeVisitor {
    type Value = ByteSize;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number of bytes or a text such as \"10 MiB\"")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<ByteSize, E> {
        Ok(ByteSize(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<ByteSize, E> {
        u64::try_from(v)
            .map(ByteSize)
            .map_err(|_| E::custom("a size must not be negative"))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<ByteSize, E> {
        ByteSize::parse(v).map_err(E::custom)
    }
}

impl<'de> serde::Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ByteSizeVisitor)
    }
}

/// An inclusive range of object sizes in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeRange {
    /// The smallest size.
    pub min: u64,
    /// The largest size.
    pub max: u64,
}

impl SizeRange {
    /// Whether `size` is inside.
    pub fn contains(self, size: u64) -> bool {
        (self.min..=self.max).contains(&size)
    }

    /// Refuses a `size` outside the range (400 `size_out_of_range`, naming the range).
    pub fn check(self, size: u64) -> Result<(), PolicyError> {
        if self.contains(size) {
            Ok(())
        } else {
            Err(PolicyError::SizeOutOfRange {
                size,
                min: self.min,
                max: self.max,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::MAX_SINGLE_UPLOAD_BYTES;

    #[test]
    fn parses_sizes() {
        assert_eq!(ByteSize::parse("512").unwrap(), ByteSize(512));
        assert_eq!(ByteSize::parse("10 MiB").unwrap(), ByteSize(10 << 20));
        assert_eq!(ByteSize::parse("10mb").unwrap(), ByteSize(10_000_000));
        assert_eq!(
            ByteSize::parse("5 GiB").unwrap(),
            ByteSize(MAX_SINGLE_UPLOAD_BYTES)
        );
        for bad in [
            "",
            "MiB",
            "1.5 MiB",
            "-1",
            "10 parsecs",
            "99999999999999999999 GiB",
        ] {
            assert!(ByteSize::parse(bad).is_err(), "{bad}");
        }
    }
}
