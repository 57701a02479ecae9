//! Checks of an upload's bytes against the digests its request declares, made before s3s-fs
//! sees the body. s3s-fs 0.14.1 writes an object (or part) first and compares its
//! `Content-MD5` and `x-amz-checksum-*` afterwards: it answers `BadDigest` but keeps the bytes
//! it refused, so the right bytes then meet `If-None-Match: *` and get 412. S3 stores nothing
//! it refuses; so does the embedded store, by refusing first.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html>
//! and <https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html> (`Content-MD5`,
//! `x-amz-checksum-*`).

use super::s3_error::s3_error;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use http::{HeaderMap, StatusCode};
use s3s::crypto::{Checksum, Crc32, Crc32c, Crc64Nvme, Md5, Sha1, Sha256};

/// The digests S3 checks, by the name of their header (and POST form field).
const DIGESTS: [&str; 6] = [
    "content-md5",
    "x-amz-checksum-crc32",
    "x-amz-checksum-crc32c",
    "x-amz-checksum-crc64nvme",
    "x-amz-checksum-sha1",
    "x-amz-checksum-sha256",
];

/// The digests a request declares: (header or field name, lowercase; base64 value).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Declared(Vec<(&'static str, String)>);

impl Declared {
    /// The digests among `named`, values as given: (name, value) pairs in any case.
    pub(super) fn from_pairs<'a>(named: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut found = Vec::new();
        for (name, value) in named {
            if let Some(digest) = DIGESTS.iter().find(|d| d.eq_ignore_ascii_case(name)) {
                found.push((*digest, value.trim().to_owned()));
            }
        }
        Self(found)
    }

    /// The digests of a PUT's headers; none when the body is `aws-chunked` (its digests come
    /// in a trailer, which s3s reads).
    pub(super) fn from_headers(headers: &HeaderMap) -> Self {
        let chunked = headers
            .get("x-amz-content-sha256")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("STREAMING-"));
        if chunked {
            return Self::default();
        }
        Self::from_pairs(
            headers
                .iter()
                .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?))),
        )
    }

    /// Whether there is nothing to check.
    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// S3's refusal when `body` does not match a declared digest.
    pub(super) fn refusal(&self, body: &[u8]) -> Option<http::Response<s3s::Body>> {
        let (name, _) = self
            .0
            .iter()
            .find(|(name, expected)| digest(name, body).as_deref() != Some(expected.as_str()))?;
        let message = match *name {
            "content-md5" => "The Content-MD5 you specified did not match what we received.".into(),
            other => format!(
                "The {} you specified did not match the calculated checksum.",
                other["x-amz-checksum-".len()..].to_ascii_uppercase()
            ),
        };
        Some(s3_error(
            StatusCode::BAD_REQUEST,
            "BadDigest",
            &message,
            &[],
        ))
    }
}

/// The base64 digest `name` of `body`.
fn digest(name: &str, body: &[u8]) -> Option<String> {
    Some(match name {
        "content-md5" => BASE64.encode(Md5::checksum(body)),
        "x-amz-checksum-crc32" => BASE64.encode(Crc32::checksum(body)),
        "x-amz-checksum-crc32c" => BASE64.encode(Crc32c::checksum(body)),
        "x-amz-checksum-crc64nvme" => BASE64.encode(Crc64Nvme::checksum(body)),
        "x-amz-checksum-sha1" => BASE64.encode(Sha1::checksum(body)),
        "x-amz-checksum-sha256" => BASE64.encode(Sha256::checksum(body)),
        _ => return None,
    })
}

/// The text fields of a form, as (name, value) pairs in order.
pub(super) type FormFields = Vec<(String, String)>;

/// The text fields and the file of a `multipart/form-data` body (a POST Object form): the
/// fields, and the file's bytes. `None` when the body does not parse.
pub(super) fn form_parts<'a>(body: &'a [u8], boundary: &str) -> Option<(FormFields, &'a [u8])> {
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    let mut fields = Vec::new();
    let mut file = None;
    let mut rest = body;
    loop {
        let at = find(rest, delimiter)?;
        rest = &rest[at + delimiter.len()..];
        if rest.starts_with(b"--") {
            break;
        }
        rest = rest.strip_prefix(b"\r\n")?;
        let head_end = find(rest, b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&rest[..head_end]).into_owned();
        let content_start = head_end + 4;
        let next = find(&rest[content_start..], delimiter)? + content_start;
        let content = rest[content_start..next].strip_suffix(b"\r\n")?;
        let name = quoted(&head, "name=\"")?;
        if head.contains("filename=\"") {
            file = Some(content);
        } else {
            fields.push((name, String::from_utf8_lossy(content).into_owned()));
        }
        rest = &rest[next..];
    }
    Some((fields, file?))
}

/// The text after `start` up to the next `"` in `head`.
fn quoted(head: &str, start: &str) -> Option<String> {
    let at = head.find(start)? + start.len();
    let len = head[at..].find('"')?;
    Some(head[at..at + len].to_owned())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests_of_hello() {
        // `printf hello | openssl dgst -md5 -binary | base64`, and the SDKs' checksums.
        assert_eq!(
            digest("content-md5", b"hello").as_deref(),
            Some("XUFAKrxLKna5cZ2REBfFkg==")
        );
        assert_eq!(
            digest("x-amz-checksum-sha256", b"hello").as_deref(),
            Some("LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=")
        );
        assert_eq!(
            digest("x-amz-checksum-crc32", b"hello").as_deref(),
            Some("NhCmhg==")
        );
    }

    #[test]
    fn a_body_that_does_not_match_is_refused_with_bad_digest() {
        let declared = Declared::from_pairs([
            ("Content-MD5", "XUFAKrxLKna5cZ2REBfFkg=="),
            (
                "x-amz-checksum-sha256",
                "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=",
            ),
            ("content-type", "text/plain"),
        ]);
        assert_eq!(declared.0.len(), 2);
        assert!(declared.refusal(b"hello").is_none());
        let refused = declared.refusal(b"hellO").expect("refused");
        assert_eq!(refused.status(), 400);
        let body = refused.into_body().bytes().expect("a stored body");
        assert!(String::from_utf8_lossy(&body).contains("<Code>BadDigest</Code>"));
        assert!(Declared::from_pairs([("content-type", "a/b")]).is_empty());
    }

    #[test]
    fn chunked_bodies_are_left_to_s3s() {
        let mut headers = HeaderMap::new();
        headers.insert("x-amz-checksum-crc32", "NhCmhg==".parse().unwrap());
        assert!(!Declared::from_headers(&headers).is_empty());
        headers.insert(
            "x-amz-content-sha256",
            "STREAMING-UNSIGNED-PAYLOAD-TRAILER".parse().unwrap(),
        );
        assert!(Declared::from_headers(&headers).is_empty());
    }

    #[test]
    fn form_parts_reads_fields_and_the_file() {
        let body = b"--b\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nusers/dev/a.txt\r\n\
                     --b\r\nContent-Disposition: form-data; name=\"x-amz-checksum-crc32\"\r\n\r\nNhCmhg==\r\n\
                     --b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\
                     Content-Type: text/plain\r\n\r\nhe\r\nllo\r\n--b--\r\n";
        let (fields, file) = form_parts(body, "b").expect("a form");
        assert_eq!(
            fields,
            [
                ("key".to_owned(), "users/dev/a.txt".to_owned()),
                ("x-amz-checksum-crc32".to_owned(), "NhCmhg==".to_owned())
            ]
        );
        assert_eq!(file, b"he\r\nllo");
        assert!(form_parts(b"no form", "b").is_none());
    }
}
