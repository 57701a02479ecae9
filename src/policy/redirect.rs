//! Where S3 sends the browser after a form upload: `success_action_redirect`, restricted to
//! origins the operator configured, and `success_action_status`. Both are form fields the POST
//! policy covers exactly, so a page cannot change them.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html>
//! and <https://docs.aws.amazon.com/AmazonS3/latest/API/RESTObjectPOST.html>

use super::PolicyError;
use serde::Deserialize;

/// The longest redirect URL accepted: S3 appends `bucket`, `key` and `etag` to it, and the
/// whole must still fit a `Location` header a browser follows.
pub const MAX_REDIRECT_BYTES: usize = 2048;

/// An absolute `http(s)` URL of an allowed origin, without query, fragment or control
/// characters: S3 answers a successful form upload with `303 See Other` to it, with
/// `bucket`, `key` and `etag` as its query. (Ceph 16 appends `?bucket=...` even to a URL that
/// has a query, so none is accepted.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormRedirect(String);

impl FormRedirect {
    /// Accepts `url` when its origin (scheme, host, port) is one of `allowed_origins`
    /// (origins such as `https://app.example.com`); refuses anything else with
    /// [`PolicyError::RedirectNotAllowed`]. Open redirects would let anyone holding a token
    /// send a victim's browser anywhere from the bucket's origin.
    pub fn parse(url: &str, allowed_origins: &[String]) -> Result<Self, PolicyError> {
        let refuse = |why: &str| Err(PolicyError::RedirectNotAllowed(why.to_owned()));
        if url.len() > MAX_REDIRECT_BYTES {
            return refuse("the redirect URL is longer than 2048 bytes");
        }
        if url.chars().any(char::is_control) {
            return refuse("the redirect URL holds a control character");
        }
        let Ok(parsed) = url::Url::parse(url) else {
            return refuse("the redirect is not an absolute URL");
        };
        if !matches!(parsed.scheme(), "http" | "https")
            || parsed.query().is_some()
            || parsed.fragment().is_some()
            || !parsed.username().is_empty()
            || parsed.password().is_some()
        {
            return refuse(
                "the redirect must be an http(s) URL without query, fragment or user \
                 information (S3 adds bucket, key and etag as the query)",
            );
        }
        let origin = parsed.origin();
        let allowed = allowed_origins
            .iter()
            .filter_map(|o| url::Url::parse(o).ok())
            .any(|o| o.origin() == origin);
        if !allowed {
            return refuse(
                "the redirect's origin is not one of the broker's configured origins \
                 (server.cors_origins or server.public_url)",
            );
        }
        Ok(Self(url.to_owned()))
    }

    /// The URL, as the client gave it (the form field's value).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `success_action_status`: the status S3 answers a form upload with when there is no
/// redirect (`204` by default; `201` adds an XML body with the location, bucket, key and ETag).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "u16")]
pub struct SuccessStatus(u16);

impl TryFrom<u16> for SuccessStatus {
    type Error = &'static str;

    fn try_from(status: u16) -> Result<Self, Self::Error> {
        match status {
            200 | 201 | 204 => Ok(Self(status)),
            _ => Err("success_action_status must be 200, 201 or 204"),
        }
    }
}

impl SuccessStatus {
    /// The status as the form field's text.
    pub fn as_field(self) -> String {
        self.0.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origins() -> Vec<String> {
        vec![
            "https://app.example".to_owned(),
            "http://127.0.0.1:8000".to_owned(),
        ]
    }

    #[test]
    fn urls_of_configured_origins_are_accepted() {
        for url in [
            "https://app.example/done",
            "https://app.example:443/done",
            "http://127.0.0.1:8000/",
        ] {
            assert_eq!(FormRedirect::parse(url, &origins()).unwrap().as_str(), url);
        }
    }

    #[test]
    fn other_origins_and_odd_urls_are_refused() {
        for url in [
            "https://evil.example/done",
            "http://app.example/done",
            "https://app.example:8443/",
            "https://app.example.evil.example/",
            "http://127.0.0.1:8001/",
            "//app.example/done",
            "/done",
            "javascript:alert(1)",
            "https://app.example/#frag",
            "https://app.example/done?x=1",
            "https://user@app.example/",
            "https://app.example/\r\nSet-Cookie: a=b",
        ] {
            assert!(
                matches!(
                    FormRedirect::parse(url, &origins()),
                    Err(PolicyError::RedirectNotAllowed(_))
                ),
                "{url}"
            );
        }
        let long = format!("https://app.example/{}", "a".repeat(MAX_REDIRECT_BYTES));
        assert!(FormRedirect::parse(&long, &origins()).is_err());
        assert!(FormRedirect::parse("https://app.example/", &[]).is_err());
    }

    #[test]
    fn only_the_statuses_s3_knows() {
        for ok in [200, 201, 204] {
            assert_eq!(
                SuccessStatus::try_from(ok).unwrap().as_field(),
                ok.to_string()
            );
        }
        for bad in [0, 202, 302, 404] {
            assert!(SuccessStatus::try_from(bad).is_err());
        }
    }
}
