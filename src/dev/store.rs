//! The embedded S3-compatible store of `s3-broker dev`: s3s + s3s-fs on 127.0.0.1, wrapped in
//! checks that make it as strict as S3 for everything the broker relies on.
//!
//! s3s-fs 0.14.1 is used as a library because it is the newest release that builds on this
//! project's minimum Rust (1.95): 0.15 and later declare 1.96. It verifies SigV4 signatures,
//! POST policies and `If-None-Match`, and keeps no partial object from a body cut short; where
//! it is laxer than S3, the wrapper checks first, before s3s-fs writes anything:
//!
//! - a body that does not match its `Content-MD5` or `x-amz-checksum-*` (header, or POST form
//!   field) is refused with `BadDigest` and not stored ([`super::body_checks`]);
//! - a presigned request with an `x-amz-*` header its signature does not cover is refused
//!   with `AccessDenied` ([`super::signed_headers`]), one that lives over 7 days with
//!   `AuthorizationQueryParametersError` ([`super::presigned_expiry`]);
//! - ListParts names each part's `ETag` ([`super::part_etags`]);
//! - CORS follows `policies/bucket-cors.json` plus the dev origins
//!   ([`super::bucket_cors`]), instead of allowing every origin and header;
//! - a POST form's `${filename}`, its answer's `ETag` and `Location`, and the `Location` of
//!   CompleteMultipartUpload are filled in, as S3 does.
//!
//! Where it differs from S3 (documented in doc/configuration.md): a body with a digest is held
//! in memory until checked, up to [`MAX_CHECKED_BODY`] bytes, and a POST form up to 101 MiB.

use super::body_checks::{Declared, form_parts};
use super::bucket_cors::{BucketCors, CorsHeaders};
use super::part_etags::{
    created_algorithm, is_list_parts, remember_algorithm, upload_id, with_part_etags,
};
use super::presigned_expiry;
use super::s3_error::s3_error;
use super::signed_headers::{refusal, unsigned_amz_headers};
use http::header::{ETAG, HeaderValue, LOCATION};
use http::{Method, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use hyper_util::service::TowerToHyperService;
use s3s::S3;
use s3s::auth::SimpleAuth;
use s3s::service::{S3Service, S3ServiceBuilder};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;

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

/// The largest body with a `Content-MD5` or `x-amz-checksum-*` the store checks: it holds such
/// a body in memory until the check passes. Larger ones are refused (`EntityTooLarge`); send
/// them in parts.
pub const MAX_CHECKED_BODY: usize = 256 * 1024 * 1024;

/// What one request needs besides itself.
struct Store {
    s3: S3Service,
    /// A second handle on the same directory, only read, for the ETag of a form upload.
    reader: s3s_fs::FileSystem,
    /// The data directory (s3s-fs's root), where the part files are.
    root: PathBuf,
    /// `http://127.0.0.1:PORT`.
    endpoint: String,
    cors: BucketCors,
}

/// Starts the store on 127.0.0.1:`port` (0 for any) with data in `root` and one bucket,
/// accepting only the given key pair. Pages of `cors_origins` may use it from a browser, under
/// the rules of `policies/bucket-cors.json`.
pub async fn start_embedded_store(
    root: &Path,
    port: u16,
    bucket: &str,
    access_key: &str,
    secret_key: &str,
    cors_origins: &[String],
) -> std::io::Result<EmbeddedStore> {
    // s3s-fs keeps each bucket as a directory under the root.
    std::fs::create_dir_all(root.join(bucket))?;
    let open =
        || s3s_fs::FileSystem::new(root).map_err(|e| std::io::Error::other(format!("{e:?}")));
    let mut builder = S3ServiceBuilder::new(open()?);
    builder.set_auth(SimpleAuth::from_single(access_key, secret_key));
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    let store = Arc::new(Store {
        s3: builder.build(),
        reader: open()?,
        root: root.to_owned(),
        endpoint: format!("http://{addr}"),
        cors: BucketCors::shipped_with(cors_origins),
    });
    let service = TowerToHyperService::new(tower::service_fn(
        move |req: http::Request<hyper::body::Incoming>| {
            let store = store.clone();
            async move { store.serve(req).await }
        },
    ));

    let (stop, mut stopped) = watch::channel(false);
    tokio::spawn(async move {
        let http = ConnBuilder::new(TokioExecutor::new());
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                _ = stopped.changed() => break,
            };
            let Ok((socket, _)) = accepted else { continue };
            // Without it, a response written in two pieces (headers, then a file's bytes)
            // waits for the client's delayed ACK: 40 ms on Linux, as S3 itself never does.
            let _ = socket.set_nodelay(true);
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

impl Store {
    /// One request: CORS around the checks around s3s-fs.
    async fn serve(
        &self,
        req: http::Request<hyper::body::Incoming>,
    ) -> Result<http::Response<s3s::Body>, s3s::HttpError> {
        let origin = req
            .headers()
            .get(http::header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let Some(origin) = origin else {
            return self.checked(req).await;
        };
        let preflight_method = req
            .headers()
            .get(http::header::ACCESS_CONTROL_REQUEST_METHOD)
            .and_then(|v| v.to_str().ok());
        let mut res = match preflight_method {
            Some(method) if req.method() == Method::OPTIONS => {
                let headers: Vec<String> = req
                    .headers()
                    .get_all(http::header::ACCESS_CONTROL_REQUEST_HEADERS)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .flat_map(|v| v.split(','))
                    .map(|h| h.trim().to_ascii_lowercase())
                    .filter(|h| !h.is_empty())
                    .collect();
                match self.cors.preflight(&origin, method, &headers) {
                    Some(allowed) => with_headers(http::Response::new(s3s::Body::empty()), allowed),
                    None => s3_error(
                        StatusCode::FORBIDDEN,
                        "AccessForbidden",
                        "CORSResponse: This CORS request is not allowed. This is usually because                          the evalution of Origin, request method / Access-Control-Request-Method                          or Access-Control-Request-Headers are not whitelisted by the resource's                          CORS spec.",
                        &[],
                    ),
                }
            }
            _ => {
                let allowed = self.cors.actual(&origin, req.method().as_str());
                let res = self.checked(req).await?;
                match allowed {
                    Some(allowed) => with_headers(res, allowed),
                    None => res,
                }
            }
        };
        res.headers_mut().insert(
            http::header::VARY,
            HeaderValue::from_static(
                "Origin, Access-Control-Request-Headers, Access-Control-Request-Method",
            ),
        );
        Ok(res)
    }

    /// The checks S3 makes and s3s-fs 0.14.1 does not (or makes after writing), then s3s-fs,
    /// then what its answer leaves out.
    async fn checked(
        &self,
        req: http::Request<hyper::body::Incoming>,
    ) -> Result<http::Response<s3s::Body>, s3s::HttpError> {
        if let Some(refused) = presigned_expiry::refusal(&req) {
            return Ok(refused);
        }
        let unsigned = unsigned_amz_headers(&req);
        if !unsigned.is_empty() {
            return Ok(refusal(&unsigned));
        }
        let completes = req.method() == Method::POST
            && req.uri().query().is_some_and(|q| q.contains("uploadId="));
        let creates = req.method() == Method::POST
            && req
                .uri()
                .query()
                .is_some_and(|q| q.split('&').any(|p| p == "uploads" || p == "uploads="));
        let creates_with = creates.then(|| created_algorithm(req.headers())).flatten();
        let lists_parts = is_list_parts(&req)
            .then(|| upload_id(req.uri().query().unwrap_or_default()))
            .flatten();
        let path = req.uri().path().to_owned();
        let (parts, body) = req.into_parts();
        let body = s3s::Body::from(body);
        let (req, form_key) = match self.with_body_checked(parts, body).await? {
            Checked::Forward(req, form_key) => (req, form_key),
            Checked::Refused(res) => return Ok(res),
        };
        let res = self.s3.clone().call(req).await?;
        if !res.status().is_success() {
            return Ok(res);
        }
        match (form_key, lists_parts) {
            (Some(key), _) => {
                Ok(with_form_headers(res, &self.reader, &self.endpoint, &path, &key).await)
            }
            (None, Some(upload)) => self.with_part_etags(res, upload).await,
            (None, None) if completes => with_location(res, &self.endpoint, &path).await,
            (None, None) => match creates_with {
                Some(algorithm) => {
                    let (parts, mut body) = res.into_parts();
                    let bytes = body
                        .store_all_limited(1024 * 1024)
                        .await
                        .map_err(s3s::HttpError::new)?;
                    remember_algorithm(&self.root, &String::from_utf8_lossy(&bytes), &algorithm);
                    Ok(http::Response::from_parts(parts, s3s::Body::from(bytes)))
                }
                None => Ok(res),
            },
        }
    }

    /// Checks the body of a PUT (object or part) or POST form against the digests it declares,
    /// before anything is written; a form's `${filename}` is filled in on the way.
    async fn with_body_checked(
        &self,
        mut parts: http::request::Parts,
        mut body: s3s::Body,
    ) -> Result<Checked, s3s::HttpError> {
        if let Some(boundary) = form_boundary(&parts) {
            let bytes = match body.store_all_limited(MAX_FORM_BYTES).await {
                Ok(bytes) => bytes,
                Err(_) => return Ok(Checked::Refused(too_large(MAX_FORM_BYTES))),
            };
            let bytes = match with_filename(&bytes) {
                Some(rewritten) => {
                    parts
                        .headers
                        .insert(http::header::CONTENT_LENGTH, rewritten.len().into());
                    rewritten.into()
                }
                None => bytes,
            };
            if let Some((fields, file)) = form_parts(&bytes, &boundary) {
                let declared =
                    Declared::from_pairs(fields.iter().map(|(n, v)| (n.as_str(), v.as_str())));
                if let Some(refused) = declared.refusal(file) {
                    return Ok(Checked::Refused(refused));
                }
            }
            let key = form_field(&bytes, "key");
            return Ok(Checked::Forward(
                http::Request::from_parts(parts, s3s::Body::from(bytes)),
                key,
            ));
        }
        let declared = Declared::from_headers(&parts.headers);
        let uploads = parts.method == Method::PUT
            && !parts.headers.contains_key("x-amz-copy-source")
            && parts.uri.path().trim_matches('/').contains('/');
        if !uploads || declared.is_empty() {
            return Ok(Checked::Forward(
                http::Request::from_parts(parts, body),
                None,
            ));
        }
        let bytes = match body.store_all_limited(MAX_CHECKED_BODY).await {
            Ok(bytes) => bytes,
            Err(_) => return Ok(Checked::Refused(too_large(MAX_CHECKED_BODY))),
        };
        if let Some(refused) = declared.refusal(&bytes) {
            return Ok(Checked::Refused(refused));
        }
        Ok(Checked::Forward(
            http::Request::from_parts(parts, s3s::Body::from(bytes)),
            None,
        ))
    }

    /// A ListParts answer with every part's ETag.
    async fn with_part_etags(
        &self,
        res: http::Response<s3s::Body>,
        upload: uuid::Uuid,
    ) -> Result<http::Response<s3s::Body>, s3s::HttpError> {
        let (mut parts, mut body) = res.into_parts();
        let bytes = body
            .store_all_limited(16 * 1024 * 1024)
            .await
            .map_err(s3s::HttpError::new)?;
        let xml = with_part_etags(&String::from_utf8_lossy(&bytes), &self.root, upload);
        parts.headers.remove(http::header::CONTENT_LENGTH);
        Ok(http::Response::from_parts(parts, s3s::Body::from(xml)))
    }
}

/// A request after the body checks.
enum Checked {
    /// On to s3s-fs, with a POST form's (completed) `key` field.
    Forward(http::Request<s3s::Body>, Option<String>),
    /// Refused: the answer.
    Refused(http::Response<s3s::Body>),
}

/// `res` with `headers` added.
fn with_headers(
    mut res: http::Response<s3s::Body>,
    headers: CorsHeaders,
) -> http::Response<s3s::Body> {
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::try_from(value) {
            res.headers_mut().insert(name, value);
        }
    }
    res
}

/// S3's refusal of a body over `limit` bytes.
fn too_large(limit: usize) -> http::Response<s3s::Body> {
    s3_error(
        StatusCode::BAD_REQUEST,
        "EntityTooLarge",
        &format!(
            "s3-broker dev checks a body with a digest before storing it and holds at most              {limit} bytes of it in memory: send larger files in parts"
        ),
        &[],
    )
}

/// The boundary of a POST Object form (`multipart/form-data`).
fn form_boundary(parts: &http::request::Parts) -> Option<String> {
    if parts.method != Method::POST {
        return None;
    }
    let value = parts
        .headers
        .get(http::header::CONTENT_TYPE)?
        .to_str()
        .ok()?;
    let boundary = value
        .strip_prefix("multipart/form-data")?
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))?;
    Some(boundary.trim_matches('"').to_owned())
}

/// The largest POST form body the store reads (the default profile's limit plus room for the
/// fields).
const MAX_FORM_BYTES: usize = 101 * 1024 * 1024;

/// s3s 0.14.1 stores a POST form's object under the literal `key` field, while S3 (and
/// s3s 0.17) replace `${filename}` there with the name of the uploaded file: the store does it
/// before s3s reads the form. The policy is signed over its own document, not the body, and
/// its `starts-with $key` condition still applies to the completed key, as on S3.
///
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
