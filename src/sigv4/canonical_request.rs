//! Step 1: the canonical request.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html#canonical-request>

use super::sha256_state::Sha256Stream;
use super::sink::Sink;

/// The payload hash of presigned requests: the body is not known when the URL is made.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// The parts of a canonical request, already encoded and sorted by the caller.
#[derive(Debug, Clone, Copy)]
pub struct CanonicalRequest<'a> {
    /// HTTP method in uppercase.
    pub method: &'a str,
    /// The URI-encoded absolute path.
    pub path: &'a str,
    /// The canonical query string (`k=v` pairs, encoded, sorted, joined by `&`).
    pub query: &'a str,
    /// Lowercase header names with canonical values, sorted by name.
    pub headers: &'a [(&'a str, &'a str)],
    /// Hex SHA-256 of the body, or [`UNSIGNED_PAYLOAD`].
    pub payload_hash: &'a str,
}

impl CanonicalRequest<'_> {
    /// The `SignedHeaders` list: names joined by `;` (the canonical request's last header
    /// line, and a field of a header-signed request's `Authorization`).
    pub fn signed_headers(&self) -> String {
        let mut out = String::new();
        put_names(&mut out, self.headers);
        out
    }

    /// The canonical request text.
    pub fn to_text(&self) -> String {
        let headers_len: usize = self
            .headers
            .iter()
            .map(|(n, v)| n.len() + v.len() + 2)
            .sum();
        let mut out = String::with_capacity(
            self.method.len() + self.path.len() + self.query.len() + 2 * headers_len + 80,
        );
        self.write(&mut out);
        out
    }

    /// SHA-256 of the canonical request, hashed piece by piece without building the text.
    pub(crate) fn digest(&self) -> [u8; 32] {
        let mut sha = Sha256Stream::new();
        self.write(&mut sha);
        sha.finish()
    }

    /// Writes the canonical request to `out`.
    fn write(&self, out: &mut impl Sink) {
        out.put(self.method);
        out.put("\n");
        out.put(self.path);
        out.put("\n");
        out.put(self.query);
        out.put("\n");
        for (name, value) in self.headers {
            out.put(name);
            out.put(":");
            out.put(value);
            out.put("\n");
        }
        out.put("\n");
        put_names(out, self.headers);
        out.put("\n");
        out.put(self.payload_hash);
    }
}

/// Appends header names joined by `;` to `out`.
fn put_names(out: &mut impl Sink, headers: &[(&str, &str)]) {
    for (i, (name, _)) in headers.iter().enumerate() {
        if i > 0 {
            out.put(";");
        }
        out.put(name);
    }
}

/// A 32-byte digest in lowercase hex, kept on the stack (the hot path allocates nothing for it).
/// Aligned to eight bytes, so that [`HexDigest::as_str`]'s UTF-8 check runs a word at a time
/// (see `AmzDate` in `time.rs`).
#[derive(Clone, Copy)]
#[repr(align(8))]
pub(crate) struct HexDigest([u8; 64]);

/// The two lowercase hex digits of every byte: one load per byte.
const HEX_PAIRS: [[u8; 2]; 256] = {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut pairs = [[0u8; 2]; 256];
    let mut byte = 0;
    while byte < 256 {
        pairs[byte] = [DIGITS[byte >> 4], DIGITS[byte & 0xf]];
        byte += 1;
    }
    pairs
};

impl HexDigest {
    /// Hex of a 32-byte digest (SHA-256, HMAC-SHA256).
    #[inline]
    pub(crate) fn of(digest: [u8; 32]) -> Self {
        // Written where it is returned: not to a temporary copied out afterwards.
        let mut hex = Self([0; 64]);
        Self::write(&digest, &mut hex.0);
        hex
    }

    /// Writes the hex of `digest` into `out` (where a text being hashed needs it).
    pub(crate) fn write(digest: &[u8; 32], out: &mut [u8; 64]) {
        for (pair, byte) in out.chunks_exact_mut(2).zip(digest) {
            pair.copy_from_slice(&HEX_PAIRS[usize::from(*byte)]);
        }
    }

    /// The hex digits as bytes.
    pub(crate) fn as_bytes(&self) -> &[u8; 64] {
        &self.0
    }

    /// The hex text.
    pub(crate) fn as_str(&self) -> &str {
        // Hex digits are ASCII.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_digests_are_lowercase_hex() {
        let digest: [u8; 32] = std::array::from_fn(|i| (i * 37 + 5) as u8);
        assert_eq!(HexDigest::of(digest).as_str(), hex::encode(digest));
        assert_eq!(HexDigest::of([0xff; 32]).as_str(), "f".repeat(64));
    }
}
