//! URI encoding as S3 expects it: single encoding, unreserved characters literal, `%20` for
//! space, uppercase hex.
//!
//! See "UriEncode()" in <https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html>

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Everything but `A-Z a-z 0-9 - . _ ~` is encoded.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// As [`COMPONENT`], but `/` stays literal (object key paths).
const PATH: &AsciiSet = &COMPONENT.remove(b'/');

/// Appends the encoding of an object key path (slashes kept) to `out`.
pub fn encode_path(out: &mut String, path: &str) {
    out.extend(utf8_percent_encode(path, PATH));
}

/// Appends the encoding of a query parameter name or value (slashes encoded too) to `out`.
pub fn push_query_component(out: &mut String, value: &str) {
    out.extend(utf8_percent_encode(value, COMPONENT));
}

/// Encodes a query parameter name or value (slashes encoded too).
pub fn encode_query_component(value: &str) -> String {
    utf8_percent_encode(value, COMPONENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(s: &str) -> String {
        let mut out = String::new();
        encode_path(&mut out, s);
        out
    }

    #[test]
    fn encodes_like_s3() {
        assert_eq!(path("a b+c~d/e.f_g-h"), "a%20b%2Bc~d/e.f_g-h");
        assert_eq!(path("$%!'()*&=?"), "%24%25%21%27%28%29%2A%26%3D%3F");
        assert_eq!(path("ü€"), "%C3%BC%E2%82%AC");
        assert_eq!(path("../x//y"), "../x//y");
        assert_eq!(encode_query_component("a/b c"), "a%2Fb%20c");
    }
}
