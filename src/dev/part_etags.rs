//! ListParts with each part's `ETag`. s3s-fs 0.14.1 lists parts without it, and S3 always
//! sends it (a client resuming an upload completes with the ETags it lists: Uppy 5's pause and
//! resume fails with "missing field `ETag`" without them). The ETag of a part S3 stores
//! without SSE-KMS is the hex MD5 of its bytes, quoted
//! (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_Part.html>), which is what s3s-fs
//! 0.14.1 answers to UploadPart; the store reads it back from the part file.

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

/// The ListPartsResult `xml` with an `<ETag>` in every `<Part>` that has none, read from the
/// part files of `upload` under `root`.
pub(super) fn with_part_etags(xml: &str, root: &Path, upload: uuid::Uuid) -> String {
    const OPEN: &str = "<Part>";
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
    fn list_parts_is_a_get_of_an_object_with_an_upload_id() {
        let id = uuid::Uuid::new_v4();
        let get = |uri: String| http::Request::get(uri).body(()).unwrap();
        assert!(is_list_parts(&get(format!("http://s/b/k/x?uploadId={id}"))));
        assert!(!is_list_parts(&get(format!("http://s/b?uploadId={id}"))));
        assert!(!is_list_parts(&get("http://s/b/k?uploadId=../../x".into())));
        assert!(!is_list_parts(&get("http://s/b/k".into())));
    }
}
