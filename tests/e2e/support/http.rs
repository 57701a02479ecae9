//! Sending the signed requests and forms with a plain HTTP client, as a browser or `curl`
//! would, and judging the answers.

use s3_broker::sigv4::{PostForm, PresignedRequest};
use std::sync::LazyLock;
use std::time::Duration;

static CLIENT: LazyLock<reqwest::Client> = LazyLock::new(|| {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client")
});

/// A server's answer.
#[derive(Debug)]
pub(crate) struct Reply {
    /// What was sent, for messages.
    pub request: String,
    /// The HTTP status.
    pub status: u16,
    /// The response headers.
    pub headers: reqwest::header::HeaderMap,
    /// The body.
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as text, cut for messages.
    pub(crate) fn text(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        text.chars().take(600).collect()
    }

    /// Asserts a 2xx answer.
    #[track_caller]
    pub(crate) fn assert_ok(&self, what: &str) -> &Self {
        assert!(
            (200..300).contains(&self.status),
            "{what}: expected success, got {} for {}\n{}",
            self.status,
            self.request,
            self.text()
        );
        self
    }

    /// Asserts a 4xx answer: the server refused the request (any 4xx: servers differ in
    /// codes for the same violation).
    #[track_caller]
    pub(crate) fn assert_rejected(&self, what: &str) -> &Self {
        if std::env::var_os("E2E_SHOW_REJECTIONS").is_some() {
            eprintln!("rejected: {what}: {} {}", self.status, self.text());
        }
        assert!(
            (400..500).contains(&self.status),
            "{what}: expected a 4xx rejection, got {} for {}\n{}",
            self.status,
            self.request,
            self.text()
        );
        self
    }

    /// A response header as text.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Sends a presigned request as signed: its method, URL and headers.
///
/// A signed `content-length` is left to the HTTP client, which (like a browser, where it is
/// a forbidden header) derives it from the body: a body of another size is then refused.
pub(crate) async fn send(request: &PresignedRequest, body: Option<Vec<u8>>) -> Reply {
    send_raw(
        request.method.as_str(),
        &request.url,
        &without_content_length(&request.headers.to_vec()),
        body,
    )
    .await
}

/// `headers` without `content-length`.
pub(crate) fn without_content_length(headers: &[(String, String)]) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(name, _)| !name.eq_ignore_ascii_case("content-length"))
        .cloned()
        .collect()
}

/// Sends any method, URL, headers and body (the tests' cheats start from here).
pub(crate) async fn send_raw(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: Option<Vec<u8>>,
) -> Reply {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("an HTTP method");
    assert!(
        headers
            .iter()
            .all(|(n, _)| !n.eq_ignore_ascii_case("content-length")),
        "let the HTTP client set content-length from the body"
    );
    let mut builder = CLIENT.request(method.clone(), url);
    for (name, value) in headers {
        builder = builder.header(name, value);
    }
    let described = format!(
        "{method} {url} with headers {headers:?} and a body of {:?} bytes",
        body.as_ref().map(Vec::len)
    );
    if let Some(body) = body {
        builder = builder.body(body);
    }
    finish(described, builder).await
}

/// The file part of a form upload.
#[derive(Debug, Clone)]
pub(crate) struct FilePart {
    /// The file name the browser reports (what `${filename}` becomes).
    pub file_name: String,
    /// The part's own `Content-Type` (S3 ignores it; the form field counts).
    pub content_type: String,
    /// The content.
    pub bytes: Vec<u8>,
}

impl FilePart {
    /// A file named `file_name` holding `bytes`, sent as `application/octet-stream`.
    pub(crate) fn new(file_name: &str, bytes: &[u8]) -> Self {
        Self {
            file_name: file_name.to_owned(),
            content_type: "application/octet-stream".to_owned(),
            bytes: bytes.to_vec(),
        }
    }
}

/// The fields of a form as (name, value) pairs, in order, for tests to change.
pub(crate) fn fields(form: &PostForm) -> Vec<(String, String)> {
    form.fields
        .iter()
        .map(|f| (f.name.clone(), f.value.clone()))
        .collect()
}

/// Replaces the value of the field `name`, or appends the field (before the file).
pub(crate) fn set_field(fields: &mut Vec<(String, String)>, name: &str, value: &str) {
    match fields.iter_mut().find(|(n, _)| n == name) {
        Some(field) => field.1 = value.to_owned(),
        None => fields.push((name.to_owned(), value.to_owned())),
    }
}

/// Posts a signed form as returned: its fields in order, then the file as `file`.
pub(crate) async fn post(form: &PostForm, file: &FilePart) -> Reply {
    post_fields(&form.url, &fields(form), file).await
}

/// Posts any fields, then the file last as `file`.
pub(crate) async fn post_fields(url: &str, fields: &[(String, String)], file: &FilePart) -> Reply {
    let mut multipart = reqwest::multipart::Form::new();
    for (name, value) in fields {
        multipart = multipart.text(name.clone(), value.clone());
    }
    let part = reqwest::multipart::Part::bytes(file.bytes.clone())
        .file_name(file.file_name.clone())
        .mime_str(&file.content_type)
        .expect("a valid part content type");
    multipart = multipart.part("file", part);
    let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
    let described = format!(
        "POST {url} with fields {names:?} and file {:?} of {} bytes",
        file.file_name,
        file.bytes.len()
    );
    finish(described, CLIENT.post(url).multipart(multipart)).await
}

async fn finish(request: String, builder: reqwest::RequestBuilder) -> Reply {
    let response = builder
        .send()
        .await
        .unwrap_or_else(|e| panic!("{request}: no HTTP answer: {e}"));
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response
        .bytes()
        .await
        .unwrap_or_else(|e| panic!("{request}: reading the body failed: {e}"))
        .to_vec();
    Reply {
        request,
        status,
        headers,
        body,
    }
}
