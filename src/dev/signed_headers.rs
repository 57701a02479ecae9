//! S3 refuses a presigned request that carries an `x-amz-*` header its signature does not
//! cover (403 `AccessDenied`, "There were headers present in the request which were not
//! signed", with `HeadersNotSigned`); s3s-fs 0.14.1 accepts it and stores unsigned
//! `x-amz-meta-*` as metadata. The embedded store refuses it first, so a client that adds
//! metadata the grant did not sign fails in `dev` as it would on S3.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html> ("you
//! must also include in X-Amz-SignedHeaders ... any x-amz-* headers that you plan to add").

use super::s3_error::s3_error;
use http::StatusCode;

/// The `x-amz-*` headers of a presigned request that `X-Amz-SignedHeaders` does not name, in
/// the request's order; empty for a request that is not presigned.
pub(super) fn unsigned_amz_headers<B>(req: &http::Request<B>) -> Vec<String> {
    let Some(query) = req.uri().query() else {
        return Vec::new();
    };
    let signed = url::form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "X-Amz-SignedHeaders")
        .map(|(_, value)| value.into_owned());
    let Some(signed) = signed else {
        return Vec::new();
    };
    let signed: Vec<&str> = signed.split(';').collect();
    let mut unsigned: Vec<String> = Vec::new();
    for name in req.headers().keys() {
        let name = name.as_str();
        if name.starts_with("x-amz-")
            && !signed.contains(&name)
            && !unsigned.iter().any(|u| u == name)
        {
            unsigned.push(name.to_owned());
        }
    }
    unsigned
}

/// S3's answer to a presigned request with unsigned `x-amz-*` headers.
pub(super) fn refusal(unsigned: &[String]) -> http::Response<s3s::Body> {
    s3_error(
        StatusCode::FORBIDDEN,
        "AccessDenied",
        "There were headers present in the request which were not signed",
        &[("HeadersNotSigned", unsigned.join(", "))],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(query: &str, headers: &[(&str, &str)]) -> http::Request<()> {
        let mut builder = http::Request::put(format!("http://s/b/k?{query}"));
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap()
    }

    #[test]
    fn only_unsigned_amz_headers_of_presigned_requests_count() {
        let presigned = "X-Amz-Algorithm=AWS4-HMAC-SHA256&\
                         X-Amz-SignedHeaders=content-type%3Bhost%3Bx-amz-meta-title&X-Amz-Signature=ab";
        let req = request(
            presigned,
            &[
                ("content-type", "text/plain"),
                ("x-amz-meta-title", "signed"),
                ("x-amz-meta-evil", "not signed"),
                ("X-Amz-Acl", "public-read"),
                ("cache-control", "no-cache"),
            ],
        );
        assert_eq!(unsigned_amz_headers(&req), ["x-amz-meta-evil", "x-amz-acl"]);
        let signed_only = request(presigned, &[("x-amz-meta-title", "signed")]);
        assert!(unsigned_amz_headers(&signed_only).is_empty());
        // Header-signed requests (the broker's own calls) are s3s's to check.
        let header_signed = request("uploads=", &[("x-amz-meta-a", "b")]);
        assert!(unsigned_amz_headers(&header_signed).is_empty());
    }
}
