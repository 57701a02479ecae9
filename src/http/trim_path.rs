//! Path normalisation before routing: trailing slashes trimmed and runs of `/` merged into one
//! (`/v1/uploads/` and `//v1//uploads` reach `/v1/uploads`), as actix-web's
//! `NormalizePath::trim()` does, without its cost on the common path.
//!
//! actix-web's middleware copies every path into a new `String` and runs a regular expression
//! over it (`//+`) on each request; here a path that needs no change (nearly all of them) is
//! checked with one scan of its bytes and passed on untouched, and only a path that does
//! change is rebuilt, the query kept.

use actix_web::Error;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, Url, forward_ready};
use actix_web::http::Uri;
use actix_web::http::uri::PathAndQuery;
use futures_util::future::{Ready, ready};

/// The middleware: trims trailing slashes and merges repeated ones.
#[derive(Debug, Clone, Copy, Default)]
pub struct TrimPath;

impl<S, B> Transform<S, ServiceRequest> for TrimPath
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Transform = TrimPathService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(TrimPathService { service }))
    }
}

/// The service of [`TrimPath`].
#[derive(Debug)]
pub struct TrimPathService<S> {
    service: S,
}

impl<S, B> Service<ServiceRequest> for TrimPathService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Future = S::Future;

    forward_ready!(service);

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        if let Some(uri) = trimmed_uri(&req.head().uri) {
            req.match_info_mut().set(Url::new(uri.clone()));
            req.head_mut().uri = uri;
        }
        self.service.call(req)
    }
}

/// `uri` with its path trimmed and merged, or `None` when the path is already so (or empty:
/// a URI without a valid path is left as it is).
fn trimmed_uri(uri: &Uri) -> Option<Uri> {
    let path = uri.path();
    let path = normalized(path)?;
    let mut parts = uri.clone().into_parts();
    let query = parts.path_and_query.as_ref().and_then(PathAndQuery::query);
    let text = match query {
        Some(q) => format!("{path}?{q}"),
        None => path,
    };
    parts.path_and_query = Some(PathAndQuery::from_maybe_shared(text).ok()?);
    Uri::from_parts(parts).ok()
}

/// `path` without trailing slashes and with each run of `/` merged into one (`/` when nothing
/// is left), or `None` when that is `path` itself.
fn normalized(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let trailing = bytes.len() > 1 && bytes.ends_with(b"/");
    let doubled = bytes.windows(2).any(|pair| pair == b"//");
    if path.is_empty() || !(trailing || doubled) {
        return None;
    }
    let mut out = String::with_capacity(path.len());
    for c in path.trim_end_matches('/').chars() {
        if !(c == '/' && out.ends_with('/')) {
            out.push(c);
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    (out != path).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_merges_like_actix_normalize_path_trim() {
        for (path, want) in [
            ("/v1/uploads/", Some("/v1/uploads")),
            ("//v1//uploads", Some("/v1/uploads")),
            ("/v1///uploads///", Some("/v1/uploads")),
            ("//", Some("/")),
            ("///", Some("/")),
            ("/", None),
            ("/v1/uploads", None),
            ("/healthz", None),
            ("/s3/multipart/abc/1", None),
            ("", None),
        ] {
            assert_eq!(normalized(path).as_deref(), want, "{path:?}");
        }
    }

    #[test]
    fn keeps_the_query_of_a_rebuilt_uri() {
        let uri: Uri = "/v1/objects//?prefix=a//b&x=1".parse().unwrap();
        let trimmed = trimmed_uri(&uri).unwrap();
        assert_eq!(trimmed.path(), "/v1/objects");
        assert_eq!(trimmed.query(), Some("prefix=a//b&x=1"));
        let plain: Uri = "/v1/objects?prefix=a//b".parse().unwrap();
        assert!(trimmed_uri(&plain).is_none());
    }
}
