//! Media types for the `Content-Type` of uploaded objects.

use super::DomainError;
use super::header::TOKEN;
use std::fmt;

/// A media type such as `image/png` or `text/plain; charset=utf-8` (RFC 9110 §8.3.1).
///
/// The value is kept as given (minus surrounding whitespace) because S3 stores and compares it
/// byte for byte; [`ContentType::essence`] gives the lowercase `type/subtype` for policy checks.
///
/// One allocation in the usual case: the essence is a range of the value, and is copied only
/// when it has upper-case letters to lower (every field is a function of `value`, so the
/// derived comparisons compare values).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContentType {
    value: String,
    /// Where the essence is in `value` (at most [`MAX_LEN`] bytes).
    essence_at: (u16, u16),
    /// The essence lowercased, when `value` does not hold it as it is.
    lowered: Option<Box<str>>,
}

/// Longest accepted media type, in bytes.
const MAX_LEN: usize = 255;

fn is_token_byte(b: u8) -> bool {
    TOKEN[usize::from(b)]
}

fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token_byte)
}

fn is_quoted_string(s: &str) -> bool {
    let Some(inner) = s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) else {
        return false;
    };
    let mut escaped = false;
    for b in inner.bytes() {
        if escaped {
            escaped = false;
        } else if b == b'\\' {
            escaped = true;
        } else if b == b'"' {
            return false;
        }
    }
    !escaped
}

/// `text` without leading and trailing whitespace, as `str::trim` cuts it, and where it
/// starts: byte by byte when `text` is ASCII (`str::trim`'s whitespace there: tab, line
/// feed, vertical tab, form feed, carriage return, space).
fn trimmed(text: &str) -> (usize, &str) {
    if !text.is_ascii() {
        return (text.len() - text.trim_start().len(), text.trim());
    }
    trim_bytes(text, |b| matches!(b, b'\t'..=b'\r' | b' '))
}

/// `text` without leading and trailing spaces (in printable ASCII, the only whitespace),
/// and where it starts.
fn trim_spaces(text: &str) -> (usize, &str) {
    trim_bytes(text, |b| b == b' ')
}

/// `text` without the ASCII bytes `is_space` says at either end, and where it starts.
fn trim_bytes(text: &str, is_space: impl Fn(u8) -> bool) -> (usize, &str) {
    let bytes = text.as_bytes();
    let start = bytes
        .iter()
        .position(|b| !is_space(*b))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_space(*b))
        .map_or(start, |at| at + 1);
    (start, &text[start..end])
}

/// The bytes of a token (RFC 9110, [`TOKEN`]) that is already lowercase: every token byte
/// but `A`-`Z`.
const LOWER_TOKEN: [bool; 256] = {
    let mut table = TOKEN;
    let mut b = b'A';
    while b <= b'Z' {
        table[b as usize] = false;
        b += 1;
    }
    table
};

/// True for the usual value, a lowercase `type/subtype` and nothing else (no parameters, no
/// spaces, such as `image/png`): it is its own essence. One pass without an early exit, so
/// it vectorizes.
fn is_plain_essence(value: &str) -> bool {
    let bytes = value.as_bytes();
    if bytes.len() > MAX_LEN || bytes.first() == Some(&b'/') || bytes.last() == Some(&b'/') {
        return false;
    }
    let (mut slashes, mut others) = (0u32, 0u32);
    for &b in bytes {
        slashes += u32::from(b == b'/');
        others += u32::from(!LOWER_TOKEN[usize::from(b)]);
    }
    slashes == 1 && others == 1
}

impl ContentType {
    /// Parses and validates a media type.
    ///
    /// The usual value, a lowercase `type/subtype` alone ([`is_plain_essence`]), is taken in
    /// one pass; any other goes through every check ([`ContentType::parse`]).
    pub fn new(value: impl Into<String>) -> Result<Self, DomainError> {
        let raw: String = value.into();
        if is_plain_essence(&raw) {
            // What `parse` finds for such a value, without its passes (tested).
            let len = raw.len() as u16;
            return Ok(Self {
                value: raw,
                essence_at: (0, len),
                lowered: None,
            });
        }
        Self::parse(raw)
    }

    /// [`ContentType::new`] of any value: every check, one pass each, by byte comparisons
    /// over a value that is ASCII (as every accepted one is): `str::trim`'s Unicode tables
    /// and the `char` searchers of `split` were most of a grant's parse.
    fn parse(raw: String) -> Result<Self, DomainError> {
        let fail = |reason| {
            Err(DomainError::ContentType {
                value: raw.clone(),
                reason,
            })
        };
        let (lead, value) = trimmed(&raw);
        if value.len() > MAX_LEN {
            return fail("must be at most 255 bytes");
        }
        if value.bytes().any(|b| b.is_ascii_control() || !b.is_ascii()) {
            return fail("must be printable ASCII");
        }
        // ASCII from here on, without controls: the only whitespace left is the space.
        let (head, params) = match value.bytes().position(|b| b == b';') {
            Some(at) => (&value[..at], Some(&value[at + 1..])),
            None => (value, None),
        };
        let (start, essence) = trim_spaces(head);
        let Some(slash) = essence.bytes().position(|b| b == b'/') else {
            return fail("expected type/subtype");
        };
        let (kind, subtype) = (&essence[..slash], &essence[slash + 1..]);
        if !is_token(kind) || !is_token(subtype) {
            return fail("type and subtype must be HTTP tokens");
        }
        for param in params.into_iter().flat_map(|params| params.split(';')) {
            let (_, param) = trim_spaces(param);
            let Some(eq) = param.bytes().position(|b| b == b'=') else {
                return fail("parameters must be name=value");
            };
            let (name, val) = (&param[..eq], &param[eq + 1..]);
            if !is_token(name) || !(is_token(val) || is_quoted_string(val)) {
                return fail("parameter names must be tokens and values tokens or quoted strings");
            }
        }
        let lowered = essence
            .bytes()
            .any(|b| b.is_ascii_uppercase())
            .then(|| essence.to_ascii_lowercase().into_boxed_str());
        // Offsets within 255 bytes (checked above).
        let essence_at = (start as u16, (start + essence.len()) as u16);
        let len = value.len();
        let value = if len == raw.len() {
            raw
        } else {
            raw[lead..lead + len].to_owned()
        };
        Ok(Self {
            value,
            essence_at,
            lowered,
        })
    }

    /// The value exactly as it will be signed and sent.
    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// The lowercase `type/subtype`, without parameters.
    pub fn essence(&self) -> &str {
        match &self.lowered {
            Some(lowered) => lowered,
            None => &self.value[usize::from(self.essence_at.0)..usize::from(self.essence_at.1)],
        }
    }
}

impl fmt::Display for ContentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}

impl std::str::FromStr for ContentType {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_essences_parse_as_every_check_does() {
        // Each value, and whether the fast path takes it: a fast path that stopped taking a
        // value it should would otherwise go unseen (the general parse would answer alike).
        let samples = [
            ("text/plain", true),
            ("image/png", true),
            ("application/vnd.api+json", true),
            ("application/x-www-form-urlencoded", true),
            ("a/b", true),
            ("!#$%&'*+-.^_`|~/0", true),
            ("*/*", true),
            ("/png", false),
            ("image/", false),
            ("/", false),
            ("", false),
            ("image//png", false),
            ("image/png/x", false),
            ("a/b/", false),
            ("Image/png", false),
            ("image/PNG", false),
            ("image/png ", false),
            ("image/png\n", false),
            (" image/png", false),
            ("\u{a0}image/png", false),
            ("image/png;a=b", false),
            ("image /png", false),
            ("image/p\u{e9}ng", false),
            ("image/p\tng", false),
            ("image\"/png", false),
            ("image/(png)", false),
            ("text", false),
        ];
        let long = format!("a/{}", "b".repeat(MAX_LEN - 2));
        let too_long = format!("a/{}", "b".repeat(MAX_LEN - 1));
        let samples = samples
            .into_iter()
            .chain([(long.as_str(), true), (too_long.as_str(), false)]);
        for (value, plain) in samples {
            assert_eq!(is_plain_essence(value), plain, "{value:?}");
            assert_eq!(
                ContentType::new(value),
                ContentType::parse(value.to_owned()),
                "{value:?}"
            );
            if plain {
                let ct = ContentType::new(value).unwrap();
                assert_eq!((ct.as_str(), ct.essence()), (value, value));
            }
        }
    }

    #[test]
    fn parses_media_types() {
        let ct = ContentType::new(" Text/Plain; charset=utf-8 ").unwrap();
        assert_eq!(ct.as_str(), "Text/Plain; charset=utf-8");
        assert_eq!(ct.essence(), "text/plain");
        assert!(ContentType::new("application/vnd.api+json").is_ok());
        assert!(ContentType::new("multipart/form-data; boundary=\"a b\"").is_ok());
    }

    #[test]
    fn the_essence_is_the_lowercased_type_and_subtype_however_written() {
        for (given, value, essence) in [
            ("image/png", "image/png", "image/png"),
            ("  image/png\t", "image/png", "image/png"),
            ("IMAGE/Png", "IMAGE/Png", "image/png"),
            (
                " text/plain ;charset=utf-8",
                "text/plain ;charset=utf-8",
                "text/plain",
            ),
            ("\tA/B ; x=\"Y\" ", "A/B ; x=\"Y\"", "a/b"),
        ] {
            let ct = ContentType::new(given).unwrap();
            assert_eq!((ct.as_str(), ct.essence()), (value, essence), "{given:?}");
            assert_eq!(ct, ContentType::new(value).unwrap());
        }
        assert_ne!(
            ContentType::new("image/png").unwrap(),
            ContentType::new("IMAGE/png").unwrap()
        );
    }

    /// The parse as it was written before its byte-level form: the reference for every
    /// answer (value, essence, or the reason of a refusal).
    fn former(raw: &str) -> Result<(String, String), &'static str> {
        let value = raw.trim();
        if value.len() > MAX_LEN {
            return Err("must be at most 255 bytes");
        }
        if value.bytes().any(|b| b.is_ascii_control() || !b.is_ascii()) {
            return Err("must be printable ASCII");
        }
        let mut parts = value.split(';');
        let essence = parts.next().unwrap_or_default().trim();
        let Some((kind, subtype)) = essence.split_once('/') else {
            return Err("expected type/subtype");
        };
        if !is_token(kind) || !is_token(subtype) {
            return Err("type and subtype must be HTTP tokens");
        }
        for param in parts {
            let Some((name, val)) = param.trim().split_once('=') else {
                return Err("parameters must be name=value");
            };
            if !is_token(name) || !(is_token(val) || is_quoted_string(val)) {
                return Err("parameter names must be tokens and values tokens or quoted strings");
            }
        }
        Ok((value.to_owned(), essence.to_ascii_lowercase()))
    }

    #[test]
    fn answers_as_the_former_parse() {
        let mut cases: Vec<String> = [
            "text/plain",
            " text/plain ",
            "\x0btext/plain\x0c",
            "\r\n text/plain\t",
            " \u{a0}text/plain\u{3000}",
            "\u{a0} text/plain",
            "text/plain\u{a0}x",
            "Text/Plain; Charset=UTF-8",
            "a/b;",
            "a/b;;",
            "a/b; ",
            " a / b",
            "a/b/c",
            "a/b; x=1 ; y=\"q;r\"",
            "a/b; x=\"q\\\"r\"",
            "a/b; x=\"q\\\"",
            "a/b; =1",
            "a/b; x=",
            "a/b;x=1=2",
            "a/b\x7f",
            "a/b\tc",
            ";a/b",
            "",
            " ",
            "/",
        ]
        .map(str::to_owned)
        .to_vec();
        cases.push(format!("a/{}", "b".repeat(253)));
        cases.push(format!(" a/{} ", "b".repeat(253)));
        cases.push(format!("a/{}", "b".repeat(254)));
        for case in &cases {
            let ours = ContentType::new(case.as_str())
                .map(|ct| (ct.as_str().to_owned(), ct.essence().to_owned()))
                .map_err(|e| match e {
                    DomainError::ContentType { reason, .. } => reason,
                    other => panic!("{other}"),
                });
            assert_eq!(ours, former(case), "{case:?}");
        }
    }

    #[test]
    fn rejects_malformed_media_types() {
        for bad in [
            "",
            "text",
            "text/",
            "/plain",
            "text/plain\r\nx: y",
            "text/pl ain",
            "tëxt/plain",
            "text/plain; charset",
            "text/plain; a=\"unterminated",
        ] {
            assert!(ContentType::new(bad).is_err(), "{bad:?}");
        }
        assert!(ContentType::new(format!("a/{}", "b".repeat(300))).is_err());
    }
}
