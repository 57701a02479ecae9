//! The embedded S3-compatible store of `s3-broker dev`: s3s + s3s-fs on 127.0.0.1.
//!
//! s3s-fs 0.14.1 is used as a library because it is the newest release that builds on this
//! project's minimum Rust (1.95): 0.15 and later declare 1.96. The trade-off, documented in
//! doc/configuration.md: 0.14.1 verifies SigV4 signatures and POST policies, but stores an
//! object even when its `x-amz-checksum-*` or `Content-MD5` is wrong and does not enforce the
//! 7-day limit, so `dev` is for trying the flow, and the test suite runs against s3s-fs 0.17
//! and Ceph radosgw instead.

use http::Method;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use hyper_util::service::TowerToHyperService;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use std::net::SocketAddr;
use std::path::Path;
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
/// browsers can read it.
pub async fn start_embedded_store(
    root: &Path,
    port: u16,
    bucket: &str,
    access_key: &str,
    secret_key: &str,
) -> std::io::Result<EmbeddedStore> {
    // s3s-fs keeps each bucket as a directory under the root.
    std::fs::create_dir_all(root.join(bucket))?;
    let fs = s3s_fs::FileSystem::new(root).map_err(|e| std::io::Error::other(format!("{e:?}")))?;
    let mut builder = S3ServiceBuilder::new(fs);
    builder.set_auth(SimpleAuth::from_single(access_key, secret_key));
    let s3 = builder.build();
    let s3 = tower::service_fn(move |req: http::Request<hyper::body::Incoming>| {
        let s3 = s3.clone();
        async move { s3.call(fill_in_filename(req).await?).await }
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

    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
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
async fn fill_in_filename(
    req: http::Request<hyper::body::Incoming>,
) -> Result<http::Request<s3s::Body>, s3s::HttpError> {
    let is_form = req.method() == Method::POST
        && req
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("multipart/form-data"));
    let (mut parts, body) = req.into_parts();
    let mut body = s3s::Body::from(body);
    if !is_form {
        return Ok(http::Request::from_parts(parts, body));
    }
    let bytes = body
        .store_all_limited(MAX_FORM_BYTES)
        .await
        .map_err(s3s::HttpError::new)?;
    let body = match with_filename(&bytes) {
        Some(rewritten) => {
            parts
                .headers
                .insert(http::header::CONTENT_LENGTH, rewritten.len().into());
            s3s::Body::from(rewritten)
        }
        None => s3s::Body::from(bytes),
    };
    Ok(http::Request::from_parts(parts, body))
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
