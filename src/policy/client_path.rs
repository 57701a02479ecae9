//! Client-chosen folders (`path`), under a strict grammar.

use super::PolicyError;
use super::chars;
use super::name::check_name;
use super::nfc::nfc;

/// The longest client path, in bytes of UTF-8.
pub const MAX_PATH_BYTES: usize = 1024;

/// A client's folder path such as `photos/2024/summer`, expanded by `{path}` in a key template.
///
/// Grammar: one or more folder names separated by single `/`; no leading or trailing `/`, no
/// empty (`//`), `.` or `..` segment, no backslash, control or invisible formatting
/// character, each name valid as a file name (at most 255 bytes, no surrounding whitespace),
/// and at most 1024 bytes in total. A violation is refused as a whole: the path is never
/// normalised and then checked again, so `a/./b` or `a//b` never become `a/b`. The only
/// transformation is Unicode NFC, applied after the raw text passed the grammar, with every
/// rule checked again on the result.
///
/// S3 itself treats `.`, `..` and `//` literally:
/// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html>
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientPath(String);

fn check(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("must not be empty (omit `path` for the top folder)".into());
    }
    if path.len() > MAX_PATH_BYTES {
        return Err(format!(
            "is {} bytes long; at most {MAX_PATH_BYTES} bytes of UTF-8 are allowed",
            path.len()
        ));
    }
    if path.starts_with('/') {
        return Err("must not start with `/`".into());
    }
    if path.ends_with('/') {
        return Err("must not end with `/`".into());
    }
    for (i, segment) in path.split('/').enumerate() {
        if segment.is_empty() {
            return Err("must not contain an empty segment (`//`)".into());
        }
        if segment == "." || segment == ".." {
            return Err("must not contain `.` or `..` segments".into());
        }
        check_name(segment).map_err(|reason| format!("folder {} {reason}", i + 1))?;
    }
    Ok(())
}

impl ClientPath {
    /// Validates `raw` against the grammar and normalizes it to NFC.
    pub fn parse(raw: &str) -> Result<Self, PolicyError> {
        // Characters first, so a `\` or U+202E is named as such rather than as a bad segment.
        if let Some(reason) = chars::first_forbidden_except(raw, Some('/')) {
            return Err(PolicyError::InvalidPath(reason));
        }
        check(raw).map_err(PolicyError::InvalidPath)?;
        let nfc = nfc(raw);
        check(&nfc).map_err(PolicyError::InvalidPath)?;
        Ok(Self(nfc))
    }

    /// The normalized path, without leading or trailing `/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The folder names.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_folders() {
        let p = ClientPath::parse("photos/2024/été").unwrap();
        assert_eq!(p.segments().collect::<Vec<_>>(), ["photos", "2024", "été"]);
        assert!(ClientPath::parse(".config/x").is_ok());
    }

    #[test]
    fn refuses_grammar_violations() {
        for bad in [
            "",
            "/",
            "/a",
            "a/",
            "a//b",
            "./a",
            "a/.",
            "a/../b",
            "..",
            "a\\b",
            "a\u{0}b",
            "a\nb",
            "a/\u{202E}b",
            "a/\u{200B}",
            "a/ b",
            "a/b ",
        ] {
            let err = ClientPath::parse(bad).unwrap_err();
            assert!(matches!(err, PolicyError::InvalidPath(_)), "{bad:?}");
        }
    }

    #[test]
    fn refuses_long_paths() {
        let ok = vec!["a".repeat(255); 4].join("/");
        assert_eq!(ok.len(), 1023);
        assert!(ClientPath::parse(&ok).is_ok());
        assert!(ClientPath::parse(&format!("{ok}/b")).is_err(), "1025 bytes");
        assert!(
            ClientPath::parse(&"a".repeat(256)).is_err(),
            "a 256-byte folder name"
        );
    }
}
