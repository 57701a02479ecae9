//! URI encoding as S3 expects it: single encoding, unreserved characters literal, `%20` for
//! space, uppercase hex.
//!
//! See "UriEncode()" in <https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html>

/// The bytes left as they are: `A-Z a-z 0-9 - . _ ~`, and `/` too when `slash` is set.
const fn unreserved(slash: bool) -> [bool; 256] {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric()
            || c == b'-'
            || c == b'.'
            || c == b'_'
            || c == b'~'
            || (slash && c == b'/');
        b += 1;
    }
    table
}

/// Query components: everything but `A-Z a-z 0-9 - . _ ~` is encoded.
static COMPONENT: [bool; 256] = unreserved(false);

/// Object key paths: as [`COMPONENT`], but `/` stays literal.
static PATH: [bool; 256] = unreserved(true);

/// Appends `text` to `out` with every byte outside `keep` written as `%XX` (uppercase hex, each
/// byte of a multi-byte character on its own), runs of kept bytes copied whole.
///
/// Bytes are tested eight at a time without a branch per byte: a chunk that is all kept (the
/// usual case for object keys and header names) costs eight table loads and one branch.
fn push_encoded(out: &mut String, text: &str, keep: &[bool; 256]) {
    let bytes = text.as_bytes();
    let mut run = 0;
    let mut escape = |out: &mut String, i: usize, b: u8| {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        // Kept bytes are ASCII, so a non-empty run starts and ends on character boundaries.
        if run < i {
            out.push_str(&text[run..i]);
        }
        out.push('%');
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
        run = i + 1;
    };
    let chunks = bytes.chunks_exact(8);
    let tail = chunks.remainder();
    for (c, chunk) in chunks.enumerate() {
        if chunk
            .iter()
            .fold(true, |all, &b| all & keep[usize::from(b)])
        {
            continue;
        }
        for (j, &b) in chunk.iter().enumerate() {
            if !keep[usize::from(b)] {
                escape(out, 8 * c + j, b);
            }
        }
    }
    let tail_start = bytes.len() - tail.len();
    for (j, &b) in tail.iter().enumerate() {
        if !keep[usize::from(b)] {
            escape(out, tail_start + j, b);
        }
    }
    if run < text.len() {
        out.push_str(&text[run..]);
    }
}

/// Appends the encoding of an object key path (slashes kept) to `out`.
pub fn encode_path(out: &mut String, path: &str) {
    push_encoded(out, path, &PATH);
}

/// Appends the encoding of a query parameter name or value (slashes encoded too) to `out`.
pub fn push_query_component(out: &mut String, value: &str) {
    push_encoded(out, value, &COMPONENT);
}

/// Appends a query component that is usually all unreserved, such as a header name (an HTTP
/// token, which is letters, digits and `-` but for rare punctuation): one walk to check it
/// and one copy, rather than the encoder's chunked walk, which costs more on a short text.
pub(super) fn push_query_name(out: &mut String, name: &str) {
    // Every byte is looked up (no early exit): no branch per byte.
    if name
        .bytes()
        .fold(true, |all, b| all & COMPONENT[usize::from(b)])
    {
        out.push_str(name);
    } else {
        push_query_component(out, name);
    }
}

/// A query parameter name or value as it stands in a canonical query: borrowed when no byte
/// needs encoding (a grant id, `uploadId`, a part number), encoded otherwise.
pub(super) fn query_component(value: &str) -> std::borrow::Cow<'_, str> {
    if value.bytes().all(|b| COMPONENT[usize::from(b)]) {
        std::borrow::Cow::Borrowed(value)
    } else {
        std::borrow::Cow::Owned(encode_query_component(value))
    }
}

/// Encodes a query parameter name or value (slashes encoded too).
pub fn encode_query_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    push_query_component(&mut out, value);
    out
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
        assert_eq!(path("users/alice/a-b_c.d~e"), "users/alice/a-b_c.d~e");
        let mut out = String::new();
        push_query_component(&mut out, "content-length");
        push_query_component(&mut out, "x/y");
        assert_eq!(out, "content-lengthx%2Fy");
        let mut out = String::new();
        push_query_name(&mut out, "content-type");
        push_query_name(&mut out, "x!y");
        assert_eq!(out, "content-typex%21y");
    }

    proptest::proptest! {
        /// The same bytes as the `percent-encoding` crate with S3's sets.
        #[test]
        fn encodes_like_percent_encoding(text in "\\PC{0,40}|[a-z/ ~%+.-]{0,40}") {
            use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
            const SET: &AsciiSet = &NON_ALPHANUMERIC
                .remove(b'-')
                .remove(b'.')
                .remove(b'_')
                .remove(b'~');
            const PATH_SET: &AsciiSet = &SET.remove(b'/');
            proptest::prop_assert_eq!(
                encode_query_component(&text),
                utf8_percent_encode(&text, SET).to_string()
            );
            let mut name = String::new();
            push_query_name(&mut name, &text);
            proptest::prop_assert_eq!(&name, &encode_query_component(&text));
            proptest::prop_assert_eq!(
                path(&text),
                utf8_percent_encode(&text, PATH_SET).to_string()
            );
        }
    }
}
