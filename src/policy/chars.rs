//! Characters that never belong in a file or folder name the broker creates.
//!
//! Besides the separators `/` and `\`, these are characters that are invisible or reorder the
//! text around them, so that a name shown to a person differs from the name stored: control
//! characters (Unicode category Cc), format characters (Cf: bidirectional controls such as
//! U+202E RIGHT-TO-LEFT OVERRIDE, zero-width characters, the byte-order mark...), line and
//! paragraph separators, Hangul fillers and noncharacters. AWS lists control characters among
//! the characters to avoid in keys:
//! <https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html>

/// Bidirectional text controls (embeddings, overrides, isolates and marks).
const BIDI: &[(char, char)] = &[
    ('\u{061C}', '\u{061C}'),
    ('\u{200E}', '\u{200F}'),
    ('\u{202A}', '\u{202E}'),
    ('\u{2066}', '\u{2069}'),
];

/// The rest of Unicode 15.1 general category Cf, plus invisible fillers (Lo) that render as
/// blank space.
const INVISIBLE: &[(char, char)] = &[
    ('\u{00AD}', '\u{00AD}'),
    ('\u{0600}', '\u{0605}'),
    ('\u{06DD}', '\u{06DD}'),
    ('\u{070F}', '\u{070F}'),
    ('\u{0890}', '\u{0891}'),
    ('\u{08E2}', '\u{08E2}'),
    ('\u{115F}', '\u{1160}'),
    ('\u{180E}', '\u{180E}'),
    ('\u{200B}', '\u{200D}'),
    ('\u{2060}', '\u{2064}'),
    ('\u{206A}', '\u{206F}'),
    ('\u{3164}', '\u{3164}'),
    ('\u{FEFF}', '\u{FEFF}'),
    ('\u{FFA0}', '\u{FFA0}'),
    ('\u{FFF9}', '\u{FFFB}'),
    ('\u{110BD}', '\u{110BD}'),
    ('\u{110CD}', '\u{110CD}'),
    ('\u{13430}', '\u{1343F}'),
    ('\u{1BCA0}', '\u{1BCA3}'),
    ('\u{1D173}', '\u{1D17A}'),
    ('\u{E0001}', '\u{E0001}'),
    ('\u{E0020}', '\u{E007F}'),
];

fn in_ranges(c: char, ranges: &[(char, char)]) -> bool {
    ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&c))
}

fn is_noncharacter(c: char) -> bool {
    let cp = u32::from(c);
    (0xFDD0..=0xFDEF).contains(&cp) || cp & 0xFFFE == 0xFFFE
}

/// Why `c` may not appear in a name, or `None` when it may.
pub(crate) fn forbidden(c: char) -> Option<&'static str> {
    if c.is_ascii() {
        // The common case, decided without the Unicode tables below (none holds ASCII).
        return match c {
            '/' => Some("a slash"),
            '\\' => Some("a backslash"),
            _ if c.is_ascii_control() => Some("a control character"),
            _ => None,
        };
    }
    match c {
        '/' => Some("a slash"),
        '\\' => Some("a backslash"),
        '\u{2028}' | '\u{2029}' => Some("a line or paragraph separator"),
        _ if c.is_control() => Some("a control character"),
        _ if in_ranges(c, BIDI) => Some("a bidirectional text control"),
        _ if in_ranges(c, INVISIBLE) => Some("an invisible formatting character"),
        _ if is_noncharacter(c) => Some("a Unicode noncharacter"),
        _ => None,
    }
}

/// The first forbidden character of `s`, described for an error message, e.g.
/// `contains U+202E (a bidirectional text control) at character 3`.
pub(crate) fn first_forbidden(s: &str) -> Option<String> {
    first_forbidden_except(s, None)
}

/// As [`first_forbidden`], but `allowed` (the `/` between folder names) passes.
pub(crate) fn first_forbidden_except(s: &str, allowed: Option<char>) -> Option<String> {
    // The common case, decided a byte at a time: printable ASCII, no backslash, and no
    // slash unless it is the allowed one. Anything else takes the loop below. Every byte is
    // looked at (no early exit), so the scan vectorizes.
    let slash_allowed = allowed == Some('/');
    if s.bytes().fold(true, |ok, b| {
        ok & (0x20..0x7f).contains(&b) & (b != b'\\') & ((b != b'/') | slash_allowed)
    }) {
        return None;
    }
    s.chars().enumerate().find_map(|(i, c)| {
        if Some(c) == allowed {
            return None;
        }
        forbidden(c).map(|what| {
            format!(
                "contains U+{:04X} ({what}) at character {}",
                u32::from(c),
                i + 1
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_fast_path_agrees_with_the_tables() {
        for c in (0u8..=127).map(char::from) {
            let slow = match c {
                '/' | '\\' => true,
                _ => c.is_control() || in_ranges(c, BIDI) || in_ranges(c, INVISIBLE),
            };
            assert_eq!(forbidden(c).is_some(), slow, "U+{:04X}", u32::from(c));
        }
    }

    #[test]
    fn the_byte_scan_agrees_with_the_character_loop() {
        let slow = |s: &str, allowed: Option<char>| {
            s.chars()
                .enumerate()
                .find_map(|(i, c)| (Some(c) != allowed).then(|| forbidden(c))?.map(|_| i))
        };
        for c in (0u8..=127).map(char::from).chain(['\u{e9}', '\u{202E}']) {
            for text in [format!("a{c}b"), format!("{c}"), format!("ab/{c}")] {
                for allowed in [None, Some('/')] {
                    assert_eq!(
                        first_forbidden_except(&text, allowed).is_some(),
                        slow(&text, allowed).is_some(),
                        "{text:?} {allowed:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn refuses_separators_controls_and_invisible_characters() {
        for c in [
            '/',
            '\\',
            '\0',
            '\n',
            '\u{7f}',
            '\u{85}',
            '\u{200B}',
            '\u{200D}',
            '\u{202E}',
            '\u{2066}',
            '\u{2069}',
            '\u{FEFF}',
            '\u{2028}',
            '\u{E0041}',
            '\u{FFFF}',
            '\u{1FFFE}',
            '\u{00AD}',
        ] {
            assert!(forbidden(c).is_some(), "U+{:04X}", u32::from(c));
        }
    }

    #[test]
    fn accepts_ordinary_text() {
        for c in [
            'a', ' ', '.', 'é', '€', '日', '😀', '\u{0301}', '\u{FE0F}', '%', '#',
        ] {
            assert!(forbidden(c).is_none(), "U+{:04X}", u32::from(c));
        }
    }

    #[test]
    fn describes_the_first_offender() {
        assert_eq!(
            first_forbidden("ab\u{202E}c").unwrap(),
            "contains U+202E (a bidirectional text control) at character 3"
        );
        assert!(first_forbidden("fine").is_none());
    }
}
