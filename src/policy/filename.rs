//! File names supplied by clients, turned into exactly one safe key segment.

use super::PolicyError;
use super::name::{check_chars, check_name};
use super::nfc::nfc;
use std::borrow::Cow;
use std::fmt;

/// A client's file name, accepted as one key segment.
///
/// The name is stored in Unicode Normalization Form C, so that the same name typed on macOS
/// (which decomposes accents) and on Windows gives the same key. Anything else is refused,
/// never rewritten: no `/` or `\`, no control, format (bidirectional overrides U+202A–U+202E
/// and isolates U+2066–U+2069, zero-width characters, byte-order mark) or separator
/// characters, not `.` or `..`, no leading or trailing whitespace, and at most 255 bytes of
/// UTF-8 after normalization.
///
/// Key rules: <https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html>
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Filename(String);

impl Filename {
    /// Validates `raw` and normalizes it to NFC.
    ///
    /// The characters of the raw input are checked before normalization (so nothing is
    /// silently transformed away) and the whole rule set again on the normalized form, whose
    /// length may differ.
    pub fn parse(raw: &str) -> Result<Self, PolicyError> {
        Self::parse_text(raw)
    }

    /// As [`Filename::parse`]; an owned `raw` keeps its own buffer when it is already NFC
    /// (ASCII), without a copy.
    pub(crate) fn parse_text<'a>(
        raw: impl Into<Cow<'a, str>> + AsRef<str>,
    ) -> Result<Self, PolicyError> {
        check_chars(raw.as_ref()).map_err(PolicyError::InvalidFilename)?;
        let nfc = nfc(raw);
        check_name(&nfc).map_err(PolicyError::InvalidFilename)?;
        Ok(Self(nfc))
    }

    /// The normalized name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Filename {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_to_nfc() {
        let decomposed = "Cafe\u{0301}.txt";
        assert_eq!(
            Filename::parse(decomposed).unwrap().as_str(),
            "Caf\u{e9}.txt"
        );
    }

    #[test]
    fn refuses_instead_of_rewriting() {
        let err = Filename::parse("invoice\u{202E}fdp.exe").unwrap_err();
        assert!(matches!(err, PolicyError::InvalidFilename(_)), "{err}");
        assert!(err.to_string().contains("U+202E"), "{err}");
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "a\\b",
            "a\tb",
            "\u{200B}x",
            " lead",
            "trail ",
        ] {
            assert!(Filename::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn length_is_measured_after_normalization() {
        // U+0958 is excluded from composition: NFC turns its 3 bytes into 6.
        let grows = "\u{0958}".repeat(50);
        assert_eq!(grows.len(), 150);
        assert!(Filename::parse(&grows).is_err());
        assert!(Filename::parse(&"\u{0958}".repeat(42)).is_ok());
    }
}
