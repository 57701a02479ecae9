//! The API's CORS ([Fetch standard, CORS protocol]): `actix-cors` for every request a browser's
//! CORS check can concern, and a short path for the rest.
//!
//! `actix-cors` boxes a future, clones its settings and validates the origin on every request,
//! although a request without an `Origin` header that is not a preflight (`OPTIONS`) needs no
//! CORS decision: its only CORS effect is two constant headers on the answer,
//! `Access-Control-Expose-Headers` and `Vary` (the latter so that caches keep it apart from the
//! answers to CORS requests). [`ApiCors`] adds those two itself on that path (probes, servers,
//! `curl`), the same values `actix-cors` would write (a test compares both), and hands every
//! other request to `actix-cors`.
//!
//! [Fetch standard, CORS protocol]: https://fetch.spec.whatwg.org/#http-cors-protocol

use crate::telemetry::request_id::REQUEST_ID_HEADER;
use actix_cors::{Cors, CorsMiddleware};
use actix_web::Error;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::Method;
use actix_web::http::header::{
    ACCESS_CONTROL_EXPOSE_HEADERS, HeaderMap, HeaderValue, ORIGIN, VARY,
};
use futures_util::future::{Either, LocalBoxFuture};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

/// The request headers a CORS answer depends on, as `actix-cors` names them in `Vary`.
const VARY_CORS: &str = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";

/// The middleware: CORS for `origins` (`[server] cors_origins`; none: no origin is allowed).
#[derive(Debug, Clone)]
pub struct ApiCors {
    origins: Vec<String>,
}

impl ApiCors {
    /// CORS allowing `origins` to call the API.
    pub fn new(origins: Vec<String>) -> Self {
        Self { origins }
    }

    /// The `actix-cors` settings of the API: its methods, the request headers a caller sends,
    /// the request id exposed, preflights cached ten minutes.
    fn cors(&self) -> Cors {
        self.origins.iter().fold(
            Cors::default()
                .allowed_methods(["GET", "POST", "DELETE"])
                .allowed_headers([
                    "authorization",
                    "content-type",
                    "x-api-key",
                    REQUEST_ID_HEADER,
                ])
                .expose_headers([REQUEST_ID_HEADER])
                .max_age(600),
            |cors, origin| cors.allowed_origin(origin),
        )
    }
}

impl<S, B> Transform<S, ServiceRequest> for ApiCors
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    S::Future: 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = ApiCorsService<S>;
    type InitError = ();
    type Future = LocalBoxFuture<'static, Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        let service = Rc::new(service);
        let cors = self.cors().new_transform(Rc::clone(&service));
        Box::pin(async move {
            Ok(ApiCorsService {
                cors: cors.await?,
                service,
            })
        })
    }
}

/// The service of [`ApiCors`]: the inner service, and `actix-cors` around the same service.
pub struct ApiCorsService<S> {
    service: Rc<S>,
    cors: CorsMiddleware<Rc<S>>,
}

impl<S> std::fmt::Debug for ApiCorsService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiCorsService").finish_non_exhaustive()
    }
}

impl<S, B> Service<ServiceRequest> for ApiCorsService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    S::Future: 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = Either<
        NoCorsFuture<S::Future>,
        LocalBoxFuture<'static, Result<ServiceResponse<EitherBody<B>>, Error>>,
    >;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        if req.method() == Method::OPTIONS || req.headers().contains_key(ORIGIN) {
            Either::Right(self.cors.call(req))
        } else {
            Either::Left(NoCorsFuture {
                inner: self.service.call(req),
            })
        }
    }
}

pin_project_lite::pin_project! {
    /// The answer to a request without `Origin` that is not a preflight.
    pub struct NoCorsFuture<F> {
        #[pin]
        inner: F,
    }
}

impl<F, B> Future for NoCorsFuture<F>
where
    F: Future<Output = Result<ServiceResponse<B>, Error>>,
{
    type Output = Result<ServiceResponse<EitherBody<B>>, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().inner.poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(mut res)) => {
                add_constant_headers(res.headers_mut());
                Poll::Ready(Ok(res.map_into_left_body()))
            }
            Poll::Ready(Err(mut err)) => {
                err.add_response_mapper(|mut res| {
                    add_constant_headers(res.headers_mut());
                    res
                });
                Poll::Ready(Err(err))
            }
        }
    }
}

/// What `actix-cors` writes on the answer to a request without `Origin`: the exposed request
/// id, and the CORS request headers appended to `Vary`.
fn add_constant_headers(headers: &mut HeaderMap) {
    headers.insert(
        ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(REQUEST_ID_HEADER),
    );
    let vary = match headers.get(VARY) {
        // Absent: `append` adds it without `insert`'s moves of a replaced value.
        None => return headers.append(VARY, HeaderValue::from_static(VARY_CORS)),
        Some(existing) => {
            let mut value = Vec::with_capacity(existing.len() + 2 + VARY_CORS.len());
            value.extend_from_slice(existing.as_bytes());
            value.extend_from_slice(b", ");
            value.extend_from_slice(VARY_CORS.as_bytes());
            match HeaderValue::from_bytes(&value) {
                Ok(value) => value,
                Err(_) => return,
            }
        }
    };
    headers.insert(VARY, vary);
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::{TestRequest, call_service, init_service};
    use actix_web::{App, HttpResponse, web};

    /// Every request `ApiCors` may see: without `Origin` (plain, with a `Vary` of its own, an
    /// error answer, `OPTIONS` with and without a preflight method), and with one (allowed,
    /// not allowed, preflights).
    fn requests() -> Vec<TestRequest> {
        vec![
            TestRequest::get().uri("/ok"),
            TestRequest::post().uri("/ok"),
            TestRequest::get().uri("/varies"),
            TestRequest::get().uri("/missing"),
            TestRequest::delete().uri("/ok"),
            TestRequest::default().method(Method::OPTIONS).uri("/ok"),
            TestRequest::default()
                .method(Method::OPTIONS)
                .uri("/ok")
                .insert_header(("access-control-request-method", "POST")),
            TestRequest::get()
                .uri("/ok")
                .insert_header(("origin", "https://app.example")),
            TestRequest::get()
                .uri("/varies")
                .insert_header(("origin", "https://app.example")),
            TestRequest::get()
                .uri("/ok")
                .insert_header(("origin", "https://evil.example")),
            TestRequest::default()
                .method(Method::OPTIONS)
                .uri("/ok")
                .insert_header(("origin", "https://app.example"))
                .insert_header(("access-control-request-method", "POST"))
                .insert_header(("access-control-request-headers", "authorization")),
            TestRequest::default()
                .method(Method::OPTIONS)
                .uri("/ok")
                .insert_header(("origin", "https://evil.example"))
                .insert_header(("access-control-request-method", "POST")),
        ]
    }

    fn routes(cfg: &mut web::ServiceConfig) {
        cfg.route("/ok", web::to(|| async { HttpResponse::Ok().body("ok") }))
            .route(
                "/varies",
                web::get().to(|| async {
                    HttpResponse::Ok()
                        .insert_header((VARY, "Accept-Encoding"))
                        .finish()
                }),
            );
    }

    /// Status and headers, sorted.
    type Answer = (u16, Vec<(String, String)>);

    fn answer<B>(res: &ServiceResponse<B>) -> Answer {
        let mut headers: Vec<_> = res
            .headers()
            .iter()
            .map(|(name, value)| {
                // actix-cors lists allowed methods and headers in the order of a `HashSet`,
                // which differs between two instances.
                let mut items: Vec<&str> = value.to_str().unwrap_or_default().split(", ").collect();
                if name.as_str().starts_with("access-control-allow-") {
                    items.sort_unstable();
                }
                (name.as_str().to_owned(), items.join(", "))
            })
            .collect();
        headers.sort();
        (res.status().as_u16(), headers)
    }

    #[actix_web::test]
    async fn answers_exactly_as_actix_cors_does() {
        for origins in [vec![], vec!["https://app.example".to_owned()]] {
            let cors = ApiCors::new(origins);
            let ours = init_service(App::new().wrap(cors.clone()).configure(routes)).await;
            let theirs = init_service(App::new().wrap(cors.cors()).configure(routes)).await;
            for (ours_req, theirs_req) in requests().into_iter().zip(requests()) {
                let ours_res = call_service(&ours, ours_req.to_request()).await;
                let theirs_res = call_service(&theirs, theirs_req.to_request()).await;
                let (ours, theirs) = (answer(&ours_res), answer(&theirs_res));
                assert_eq!(ours, theirs, "{:?}", ours_res.request());
            }
        }
    }

    #[actix_web::test]
    async fn a_request_without_origin_gets_the_constant_headers() {
        let app = init_service(App::new().wrap(ApiCors::new(vec![])).configure(routes)).await;
        let res = call_service(&app, TestRequest::get().uri("/varies").to_request()).await;
        assert_eq!(
            res.headers().get(VARY).unwrap(),
            "Accept-Encoding, Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
        );
        assert_eq!(
            res.headers().get(ACCESS_CONTROL_EXPOSE_HEADERS).unwrap(),
            REQUEST_ID_HEADER
        );
    }
}
