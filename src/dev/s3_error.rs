//! The XML error document S3 answers with, for the refusals the embedded store adds to s3s-fs.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html#RESTErrorResponses>.

use http::StatusCode;

/// An S3 error answer: `status`, `code` and `message`, plus extra elements (name, text).
pub(super) fn s3_error(
    status: StatusCode,
    code: &str,
    message: &str,
    extra: &[(&str, String)],
) -> http::Response<s3s::Body> {
    let escape = |text: &str| html_escape::encode_text(text).into_owned();
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message>",
        escape(code),
        escape(message)
    );
    for (name, text) in extra {
        xml.push_str(&format!("<{name}>{}</{name}>", escape(text)));
    }
    xml.push_str("</Error>");
    let mut res = http::Response::new(s3s::Body::from(xml));
    *res.status_mut() = status;
    res.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/xml"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_escaped_xml() {
        let res = s3_error(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "a < b",
            &[("HeadersNotSigned", "x-amz-meta-a".to_owned())],
        );
        assert_eq!(res.status(), 403);
        let body = res.into_body().bytes().expect("a stored body");
        assert!(String::from_utf8_lossy(&body).ends_with(
            "<Error><Code>AccessDenied</Code><Message>a &lt; b</Message>\
                 <HeadersNotSigned>x-amz-meta-a</HeadersNotSigned></Error>"
        ));
    }
}
