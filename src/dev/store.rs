//! The embedded S3-compatible store of `s3-broker dev`: s3s + s3s-fs on 127.0.0.1.
//!
//! s3s-fs 0.14.1 is used as a library because it is the newest release that builds on this
//! project's minimum Rust (1.95): 0.15 and later declare 1.96. The trade-off, documented in
//! doc/configuration.md: 0.14.1 verifies SigV4 signatures and POST policies, but stores an
//! object even when its `x-amz-checksum-*` or `Content-MD5` is wrong and does not enforce the
//! 7-day limit, so `dev` is for trying the flow, and the test suite runs against s3s-fs 0.17
//! and Ceph radosgw instead.

use http::Method;
use http::header::{ETAG, HeaderValue, LOCATION};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use hyper_util::service::TowerToHyperService;
use s3s::S3;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceBuilder;
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};

/// A running embedded store; dropping it (or calling [`EmbeddedStore::stop`]) stops serving.
pub struct EmbeddedStore {
    /// The address it listens on.
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
}

impl EmbeddedStore {
    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections.
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }
}

impl Drop for EmbeddedStore {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts the store on 127.0.0.1:`port` (0 for any) with data in `root` and one bucket,
/// accepting only the given key pair, and answering CORS requests with `ETag` exposed so
/// browsers can read it. Where s3s 0.14.1 leaves out what S3 answers and browser clients
/// such as Uppy read, the store adds it: the `ETag` and `Location` headers of a POST-form
/// upload, and the `Location` of CompleteMultipartUpload.
pub async fn start_embedded_store(
    root: &Path,
    port: u16,
    bucket: &str,
    access_key: &str,
    secret_key: &str,
) -> std::io::Result<EmbeddedStore> {
    // s3s-fs keeps each bucket as a directory under the root.
    std::fs::create_dir_all(root.join(bucket))?;
    let open =
        || s3s_fs::FileSystem::new(root).map_err(|e| std::io::Error::other(format!("{e:?}")));
    let mut builder = S3ServiceBuilder::new(open()?);
    builder.set_auth(SimpleAuth::from_single(access_key, secret_key));
    let s3 = builder.build();
    // A second handle on the same directory, only read, for the ETag of a form upload.
    let reader = Arc::new(open()?);
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    let endpoint: Arc<str> = format!("http://{addr}").into();
    let s3 = tower::service_fn(move |req: http::Request<hyper::body::Incoming>| {
        let (s3, reader, endpoint) = (s3.clone(), reader.clone(), endpoint.clone());
        async move {
            let completes = req.method() == Method::POST
                && req.uri().query().is_some_and(|q| q.contains("uploadId="));
            let path = req.uri().path().to_owned();
            let (req, form_key) = fill_in_filename(req).await?;
            let res = s3.call(req).await?;
            if !res.status().is_success() {
                return Ok(res);
            }
            match form_key {
                Some(key) => Ok(with_form_headers(res, &reader, &endpoint, &path, &key).await),
                None if completes => with_location(res, &endpoint, &path).await,
                None => Ok(res),
            }
        }
    });

    // Any origin: every request still needs its own SigV4 signature, and no cookies or
    // ambient credentials exist for CORS to protect.
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::any())
        .allow_methods([
            Method::GET,
            Method::PUT,
            Method::POST,
            Method::HEAD,
            Method::DELETE,
        ])
        .allow_headers(AllowHeaders::mirror_request())
        .expose_headers([http::header::ETAG, http::header::LOCATION]);
    let service = TowerToHyperService::new(ServiceBuilder::new().layer(cors).service(s3));

    let (stop, mut stopped) = watch::channel(false);
    tokio::spawn(async move {
        let http = ConnBuilder::new(TokioExecutor::new());
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                _ = stopped.changed() => break,
            };
            let Ok((socket, _)) = accepted else { continue };
            let connection = http
                .serve_connection(TokioIo::new(socket), service.clone())
                .into_owned();
            tokio::spawn(async move {
                let _ = connection.await;
            });
        }
    });
    Ok(EmbeddedStore { addr, stop })
}

/// The largest POST form body [`fill_in_filename`] rewrites (the default profile's limit
/// plus room for the fields).
const MAX_FORM_BYTES: usize = 101 * 1024 * 1024;

/// s3s 0.14.1 stores a POST form's object under the literal `key` field, while S3 (and
/// s3s 0.17) replace `${filename}` there with the name of the uploaded file: do it here,
/// before s3s reads the form. The policy is signed over its own document, not the body, and
/// its `starts-with $key` condition still applies to the completed key, as on S3.
///
/// Also returns the form's (completed) `key` field, for [`with_form_headers`].
async fn fill_in_filename(
    req: http::Request<hyper::body::Incoming>,
) -> Result<(http::Request<s3s::Body>, Option<String>), s3s::HttpError> {
    let is_form = req.method() == Method::POST
        && req
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("multipart/form-data"));
    let (mut parts, body) = req.into_parts();
    let mut body = s3s::Body::from(body);
    if !is_form {
        return Ok((http::Request::from_parts(parts, body), None));
    }
    let bytes = body
        .store_all_limited(MAX_FORM_BYTES)
        .await
        .map_err(s3s::HttpError::new)?;
    let (key, body) = match with_filename(&bytes) {
        Some(rewritten) => {
            parts
                .headers
                .insert(http::header::CONTENT_LENGTH, rewritten.len().into());
            (form_field(&rewritten, "key"), s3s::Body::from(rewritten))
        }
        None => (form_field(&bytes, "key"), s3s::Body::from(bytes)),
    };
    Ok((http::Request::from_parts(parts, body), key))
}

/// The form body with `${filename}` in the fields before the file part replaced by the
/// file's name, or `None` when there is nothing to replace.
fn with_filename(body: &[u8]) -> Option<Vec<u8>> {
    const FILE: &[u8] = b"name=\"file\"; filename=\"";
    const VARIABLE: &[u8] = b"${filename}";
    let at = body.windows(FILE.len()).position(|w| w == FILE)?;
    let name_start = at + FILE.len();
    let name_len = body[name_start..].iter().position(|&b| b == b'"')?;
    let name = &body[name_start..name_start + name_len];
    let fields = &body[..at];
    let var = fields.windows(VARIABLE.len()).position(|w| w == VARIABLE)?;
    let mut out = Vec::with_capacity(body.len() + name.len());
    out.extend_from_slice(&body[..var]);
    out.extend_from_slice(name);
    out.extend_from_slice(&body[var + VARIABLE.len()..]);
    Some(out)
}

/// The value of the text field `name` of a `multipart/form-data` body (before the file part).
fn form_field(body: &[u8], name: &str) -> Option<String> {
    let start = format!("name=\"{name}\"\r\n\r\n");
    let at = body
        .windows(start.len())
        .position(|w| w == start.as_bytes())?
        + start.len();
    let len = body[at..].windows(2).position(|w| w == b"\r\n")?;
    String::from_utf8(body[at..at + len].to_vec()).ok()
}

/// The object URL S3 reports: path-style, the key encoded as in a signed path (slashes kept).
fn object_url(endpoint: &str, bucket: &str, key: &str) -> String {
    let mut url = format!("{endpoint}/{bucket}/");
    crate::sigv4::encode_path(&mut url, key);
    url
}

/// S3 answers a POST-form upload with the object's `ETag` and `Location` headers; s3s 0.14.1
/// sends neither (Uppy 5 waits for the `ETag` forever). `path` is the form's `/bucket`.
async fn with_form_headers(
    mut res: http::Response<s3s::Body>,
    reader: &s3s_fs::FileSystem,
    endpoint: &str,
    path: &str,
    key: &str,
) -> http::Response<s3s::Body> {
    let bucket = path.trim_matches('/');
    if !res.headers().contains_key(ETAG) {
        let head = s3s::dto::HeadObjectInput::builder()
            .bucket(bucket.to_owned())
            .key(key.to_owned())
            .build();
        if let Ok(input) = head {
            let req = s3s::S3Request {
                input,
                method: Method::HEAD,
                uri: http::Uri::default(),
                headers: http::HeaderMap::new(),
                extensions: http::Extensions::new(),
                credentials: None,
                region: None,
                service: None,
                trailing_headers: None,
            };
            let etag = reader.head_object(req).await.ok().and_then(|head| {
                head.output
                    .e_tag
                    .and_then(|etag| etag.to_http_header().ok())
            });
            if let Some(etag) = etag {
                res.headers_mut().insert(ETAG, etag);
            }
        }
    }
    if !res.headers().contains_key(LOCATION)
        && let Ok(location) = HeaderValue::try_from(object_url(endpoint, bucket, key))
    {
        res.headers_mut().insert(LOCATION, location);
    }
    res
}

/// S3's CompleteMultipartUploadResult names the object's `Location`; s3s 0.14.1 leaves it out
/// (Uppy 6 refuses such an answer). `path` is the request's `/bucket/key`, already encoded.
async fn with_location(
    res: http::Response<s3s::Body>,
    endpoint: &str,
    path: &str,
) -> Result<http::Response<s3s::Body>, s3s::HttpError> {
    const RESULT: &str = "<CompleteMultipartUploadResult";
    let (mut parts, mut body) = res.into_parts();
    let bytes = body
        .store_all_limited(1024 * 1024)
        .await
        .map_err(s3s::HttpError::new)?;
    let text = String::from_utf8_lossy(&bytes);
    let open_end = text
        .find(RESULT)
        .and_then(|at| text[at..].find('>').map(|end| at + end + 1));
    let body = match open_end {
        Some(at) if !text.contains("<Location>") => {
            let location = html_escape::encode_text(&format!("{endpoint}{path}")).into_owned();
            let rewritten = format!(
                "{}<Location>{location}</Location>{}",
                &text[..at],
                &text[at..]
            );
            parts.headers.remove(http::header::CONTENT_LENGTH);
            s3s::Body::from(rewritten)
        }
        _ => s3s::Body::from(bytes),
    };
    Ok(http::Response::from_parts(parts, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_field_reads_a_text_field_before_the_file() {
        let body = b"--b\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nusers/dev/a b.txt\r\n\
                     --b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a b.txt\"\r\n\r\nx\r\n--b--\r\n";
        assert_eq!(
            form_field(body, "key").as_deref(),
            Some("users/dev/a b.txt")
        );
        assert_eq!(form_field(body, "policy"), None);
    }

    #[test]
    fn object_url_encodes_the_key_but_its_slashes() {
        assert_eq!(
            object_url(
                "http://127.0.0.1:9000",
                "dev-uploads",
                "users/dev/a b+é.txt"
            ),
            "http://127.0.0.1:9000/dev-uploads/users/dev/a%20b%2B%C3%A9.txt"
        );
    }

    #[tokio::test]
    async fn with_location_adds_the_location_of_a_completed_upload() {
        let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><CompleteMultipartUploadResult \
                   xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Bucket>b</Bucket>\
                   <Key>k&amp;1</Key></CompleteMultipartUploadResult>";
        let res = http::Response::new(s3s::Body::from(xml.to_owned()));
        let res = with_location(res, "http://127.0.0.1:9000", "/b/k%261")
            .await
            .expect("a body");
        let body = res.into_body().bytes().expect("a stored body");
        assert_eq!(
            String::from_utf8_lossy(&body),
            xml.replace(
                "<Bucket>",
                "<Location>http://127.0.0.1:9000/b/k%261</Location><Bucket>"
            )
        );
    }
}
