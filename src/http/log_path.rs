//! The path the access log records: the request's path, except that the upload id of the Uppy
//! routes on one upload (`/s3/multipart/{uploadId}...`) is replaced by `{uploadId}`. That id is
//! a sealed record naming the caller's key; it is not a credential, but it has no business in
//! log files (the query string, which may hold a grant, is never logged at all).

use std::borrow::Cow;

/// The route prefix whose next segment is an upload id.
const UPLOAD_ROUTES: [&str; 2] = ["s3", "multipart"];

/// `path` as the access log may record it. Repeated slashes are collapsed first, as the
/// router does, so no spelling of the route keeps its id.
pub(super) fn loggable_path(path: &str) -> Cow<'_, str> {
    if !mentions_multipart(path) {
        return Cow::Borrowed(path);
    }
    let mut segments = path.split('/').filter(|s| !s.is_empty());
    let prefix_matches = UPLOAD_ROUTES
        .iter()
        .all(|expected| segments.next() == Some(*expected));
    if !prefix_matches || segments.next().is_none() {
        return Cow::Borrowed(path);
    }
    let mut logged = String::from("/s3/multipart/{uploadId}");
    for rest in segments {
        logged.push('/');
        logged.push_str(rest);
    }
    Cow::Owned(logged)
}

/// Whether `path` contains `multipart`, as `str::contains` answers, for every request: a
/// scan for its first letter (`contains` sets up a substring searcher first, which costs
/// more than the scan of a short path).
fn mentions_multipart(path: &str) -> bool {
    const WORD: &[u8] = b"multipart";
    let bytes = path.as_bytes();
    bytes
        .iter()
        .enumerate()
        .any(|(i, &b)| b == WORD[0] && bytes[i..].starts_with(WORD))
}

#[cfg(test)]
mod tests {
    use super::{loggable_path, mentions_multipart};

    #[test]
    fn the_scan_answers_as_contains() {
        for path in [
            "",
            "m",
            "multipar",
            "multipart",
            "/s3/multipart",
            "/v1/multipart/parts",
            "/mmultipart",
            "/multipar/tmultipart",
            "/v1/uploads",
            "/healthz",
            "/é/multipart",
            "/MULTIPART",
        ] {
            assert_eq!(
                mentions_multipart(path),
                path.contains("multipart"),
                "{path:?}"
            );
        }
    }

    #[test]
    fn upload_ids_are_replaced_and_other_paths_kept() {
        for (path, logged) in [
            ("/s3/multipart/v1.k.abc.def", "/s3/multipart/{uploadId}"),
            ("/s3/multipart/v1.k.abc.def/3", "/s3/multipart/{uploadId}/3"),
            (
                "/s3/multipart/v1.k.abc.def/batch",
                "/s3/multipart/{uploadId}/batch",
            ),
            (
                "//s3//multipart//v1.k.abc.def/complete",
                "/s3/multipart/{uploadId}/complete",
            ),
            ("/s3/multipart", "/s3/multipart"),
            ("/s3/multipart/", "/s3/multipart/"),
            ("/v1/multipart/parts", "/v1/multipart/parts"),
            ("/v1/uploads", "/v1/uploads"),
            ("/healthz", "/healthz"),
        ] {
            assert_eq!(loggable_path(path), logged, "{path}");
        }
    }
}
