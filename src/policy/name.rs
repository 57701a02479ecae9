//! The rules shared by file names and the folder names of client paths.

use super::chars;

/// The longest file or folder name, in bytes of UTF-8 (the common file-system limit).
pub const MAX_NAME_BYTES: usize = 255;

/// Checks only the characters of `s` (no separators, controls or invisible characters).
pub(crate) fn check_chars(s: &str) -> Result<(), String> {
    match chars::first_forbidden(s) {
        Some(reason) => Err(reason),
        None => Ok(()),
    }
}

/// Checks one name: not empty, not `.` or `..`, no forbidden characters, no leading or
/// trailing whitespace, at most [`MAX_NAME_BYTES`] bytes.
pub(crate) fn check_name(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    if s == "." || s == ".." {
        return Err("must not be `.` or `..`".into());
    }
    check_chars(s)?;
    if s.starts_with(char::is_whitespace) || s.ends_with(char::is_whitespace) {
        return Err("must not start or end with whitespace".into());
    }
    if s.len() > MAX_NAME_BYTES {
        return Err(format!(
            "is {} bytes long; at most {MAX_NAME_BYTES} bytes of UTF-8 are allowed",
            s.len()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(check_name("report 2024.pdf").is_ok());
        assert!(check_name(".hidden").is_ok());
        assert!(check_name("...").is_ok());
        for bad in ["", ".", "..", " x", "x ", "a/b", "a\\b", "a\u{200B}b"] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_name(&"a".repeat(255)).is_ok());
        assert!(check_name(&"a".repeat(256)).is_err());
    }
}
