//! Unicode Normalization Form C of client-given names (UAX #15,
//! <https://www.unicode.org/reports/tr15/>), so that one name has one key whatever the
//! client's keyboard or file system composed.

use unicode_normalization::UnicodeNormalization;

/// `raw` in NFC. ASCII text is its own NFC (no ASCII character composes or decomposes), so it
/// is copied as is; anything else goes through the normalizer.
pub(super) fn nfc(raw: &str) -> String {
    if raw.is_ascii() {
        raw.to_owned()
    } else {
        raw.nfc().collect()
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
    }
}
