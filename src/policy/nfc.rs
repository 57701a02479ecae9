//! Unicode Normalization Form C of client-given names (UAX #15,
//! <https://www.unicode.org/reports/tr15/>), so that one name has one key whatever the
//! client's keyboard or file system composed.

use std::borrow::Cow;
use unicode_normalization::UnicodeNormalization;

/// `raw` in NFC. ASCII text is its own NFC (no ASCII character composes or decomposes), so it
/// is kept as is (copied only when borrowed); anything else goes through the normalizer.
pub(super) fn nfc<'a>(raw: impl Into<Cow<'a, str>> + AsRef<str>) -> String {
    if raw.as_ref().is_ascii() {
        raw.into().into_owned()
    } else {
        raw.as_ref().nfc().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_is_its_own_nfc_and_the_rest_is_normalized() {
        let ascii: String = (0u8..=127).map(char::from).collect();
        assert_eq!(nfc(&ascii), ascii.nfc().collect::<String>());
        assert_eq!(nfc("Cafe\u{0301}.txt"), "Caf\u{e9}.txt");
        assert_eq!(nfc("\u{212B}"), "\u{C5}");
        assert_eq!(nfc(String::from("a.txt")), "a.txt");
        assert_eq!(nfc(String::from("Cafe\u{0301}.txt")), "Caf\u{e9}.txt");
    }
}
