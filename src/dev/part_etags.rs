//! ListParts with each part's `ETag`, and its checksum for an upload created with a checksum
//! algorithm. s3s-fs 0.14.1 lists parts with neither, and S3 sends both (a client resuming an
//! upload completes with what it lists: Uppy 5's pause and resume fails with "missing field
//! `ETag`" without the ETags, and a resumed upload with a checksum algorithm cannot complete
//! without the checksums). The ETag of a part S3 stores without SSE-KMS is the hex MD5 of its
//! bytes, quoted (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_Part.html>), which is
//! what s3s-fs 0.14.1 answers to UploadPart; the store reads both back from the part file, and
//! keeps the algorithm CreateMultipartUpload named in a file of its own.

use std::path::{Path, PathBuf};

/// Whether a request is ListParts: a GET of an object with `uploadId`.
pub(super) fn is_list_parts<B>(req: &http::Request<B>) -> bool {
    req.method() == http::Method::GET
        && req.uri().path().trim_matches('/').contains('/')
        && upload_id(req.uri().query().unwrap_or_default()).is_some()
}

/// The `uploadId` of a query, when it is a UUID (what s3s-fs 0.14.1 creates).
pub(super) fn upload_id(query: &str) -> Option<uuid::Uuid> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "uploadId")
        .and_then(|(_, value)| uuid::Uuid::parse_str(&value).ok())
}

/// Where s3s-fs 0.14.1 keeps part `number` of `upload` under its root
/// (`FileSystem::resolve_upload_part_path`).
fn part_path(root: &Path, upload: uuid::Uuid, number: u32) -> PathBuf {
    root.join(format!(".upload_id-{upload}.part-{number}"))
}

/// Where the store keeps the checksum algorithm of `upload` (outside s3s-fs's own names).
fn algorithm_path(root: &Path, upload: uuid::Uuid) -> PathBuf {
    root.join(format!(".s3-broker-dev-checksum-algorithm-{upload}"))
}

/// The checksum algorithm a CreateMultipartUpload names (`x-amz-checksum-algorithm`), as S3
/// spells it in ListParts (`SHA256` gives `<ChecksumSHA256>`).
pub(super) fn created_algorithm(headers: &http::HeaderMap) -> Option<String> {
    let algorithm = headers
        .get("x-amz-checksum-algorithm")?
        .to_str()
        .ok()?
        .to_ascii_uppercase();
    ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"]
        .contains(&algorithm.as_str())
        .then_some(algorithm)
}

/// Remembers the checksum algorithm of the upload a CreateMultipartUploadResult `xml` names.
pub(super) fn remember_algorithm(root: &Path, xml: &str, algorithm: &str) {
    if let Some(upload) =
        between(xml, "<UploadId>", "</UploadId>").and_then(|id| uuid::Uuid::parse_str(id).ok())
    {
        let _ = std::fs::write(algorithm_path(root, upload), algorithm);
    }
}

/// The base64 checksum `algorithm` of `bytes`.
fn checksum(algorithm: &str, bytes: &[u8]) -> Option<String> {
    use base64::Engine as _;
    use s3s::crypto::{Checksum, Crc32, Crc32c, Crc64Nvme, Sha1, Sha256};
    let b64 = |digest: &[u8]| base64::engine::general_purpose::STANDARD.encode(digest);
    Some(match algorithm {
        "CRC32" => b64(&Crc32::checksum(bytes)),
        "CRC32C" => b64(&Crc32c::checksum(bytes)),
        "CRC64NVME" => b64(&Crc64Nvme::checksum(bytes)),
        "SHA1" => b64(&Sha1::checksum(bytes)),
        "SHA256" => b64(&Sha256::checksum(bytes)),
        _ => return None,
    })
}

/// The ListPartsResult `xml` with an `<ETag>` (and the upload's checksum) in every `<Part>`
/// that has none, read from the part files of `upload` under `root`.
pub(super) fn with_part_etags(xml: &str, root: &Path, upload: uuid::Uuid) -> String {
    const OPEN: &str = "<Part>";
    let algorithm = std::fs::read_to_string(algorithm_path(root, upload)).ok();
    let mut out = String::with_capacity(xml.len() + 64);
    let mut rest = xml;
    while let Some(at) = rest.find(OPEN) {
        let start = at + OPEN.len();
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let end = rest.find("</Part>").unwrap_or(rest.len());
        let part = &rest[..end];
        let number = between(part, "<PartNumber>", "</PartNumber>").and_then(|n| n.parse().ok());
        if !part.contains("<ETag>")
            && let Some(number) = number
            && let Ok(bytes) = std::fs::read(part_path(root, upload, number))
        {
            out.push_str(&format!(
                "<ETag>&quot;{}&quot;</ETag>",
                hex::encode(<s3s::crypto::Md5 as s3s::crypto::Checksum>::checksum(
                    &bytes
                ))
            ));
            if let Some(algorithm) = algorithm.as_deref()
                && let Some(sum) = checksum(algorithm, &bytes)
            {
                out.push_str(&format!("<Checksum{algorithm}>{sum}</Checksum{algorithm}>"));
            }
        }
    }
    out.push_str(rest);
    out
}

/// The text between `open` and `close` in `text`.
fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let at = text.find(open)? + open.len();
    let len = text[at..].find(close)?;
    Some(&text[at..at + len])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_get_the_md5_of_their_file() {
        let root = tempfile::tempdir().expect("a directory");
        let upload = uuid::Uuid::new_v4();
        std::fs::write(part_path(root.path(), upload, 1), b"hello").unwrap();
        std::fs::write(part_path(root.path(), upload, 2), b"world").unwrap();
        let xml = "<ListPartsResult><Part><LastModified>t</LastModified><PartNumber>1</PartNumber>\
                   <Size>5</Size></Part><Part><PartNumber>2</PartNumber></Part>\
                   <Part><PartNumber>3</PartNumber></Part></ListPartsResult>";
        let filled = with_part_etags(xml, root.path(), upload);
        assert_eq!(
            filled,
            "<ListPartsResult><Part><ETag>&quot;5d41402abc4b2a76b9719d911017c592&quot;</ETag>\
             <LastModified>t</LastModified><PartNumber>1</PartNumber><Size>5</Size></Part>\
             <Part><ETag>&quot;7d793037a0760186574b0282f2f435e7&quot;</ETag>\
             <PartNumber>2</PartNumber></Part><Part><PartNumber>3</PartNumber></Part>\
             </ListPartsResult>",
            "a part without a file keeps what s3s said"
        );
    }

    #[test]
    fn parts_of_an_upload_with_an_algorithm_get_their_checksum() {
        let root = tempfile::tempdir().expect("a directory");
        let upload = uuid::Uuid::new_v4();
        let mut headers = http::HeaderMap::new();
        headers.insert("x-amz-checksum-algorithm", "sha256".parse().unwrap());
        let algorithm = created_algorithm(&headers).expect("an algorithm");
        remember_algorithm(
            root.path(),
            &format!("<InitiateMultipartUploadResult><UploadId>{upload}</UploadId>"),
            &algorithm,
        );
        std::fs::write(part_path(root.path(), upload, 1), b"hello").unwrap();
        let filled = with_part_etags(
            "<Part><PartNumber>1</PartNumber></Part>",
            root.path(),
            upload,
        );
        assert!(
            filled.contains(
                "<ChecksumSHA256>LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=</ChecksumSHA256>"
            ),
            "{filled}"
        );
    }

    #[test]
    fn list_parts_is_a_get_of_an_object_with_an_upload_id() {
        let id = uuid::Uuid::new_v4();
        let get = |uri: String| http::Request::get(uri).body(()).unwrap();
        assert!(is_list_parts(&get(format!("http://s/b/k/x?uploadId={id}"))));
        assert!(!is_list_parts(&get(format!("http://s/b?uploadId={id}"))));
        assert!(!is_list_parts(&get("http://s/b/k?uploadId=../../x".into())));
        assert!(!is_list_parts(&get("http://s/b/k".into())));
    }
}
