//! The access log: one line per request, target `s3_broker::access`, level INFO.
//!
//! The request thread only copies the few fields into a record and hands it to the log queue
//! ([`super::log_queue`]); the writer thread formats it. So the line costs the request well
//! under a microsecond (doc/benchmarks.md) and a stalled stderr never holds a request.
//!
//! Fields: `peer` (the TCP peer: the proxy's address behind one; `Forwarded` is not
//! trusted), `method`, `path` (never the query string: it could carry a misplaced
//! credential), `status`, `bytes` (of the body sent), `duration_ms` (request to last body
//! byte), `request_id`, and `problem`, the stable code of an error answer. No headers.
//! `RUST_LOG=s3_broker::access=off` turns it off.

use super::json::{write_json_str, write_timestamp};
use super::log_queue::{Entry, LogFormat, enqueue, installed};
use super::request_id::RequestId;
use crate::http::ProblemCode;
use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::Method;
use actix_web::web::Bytes;
use actix_web::{Error, HttpMessage};
use std::fmt::Write as _;
use std::future::{Future, Ready, ready};
use std::net::IpAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

/// The log target of access lines.
pub const ACCESS_TARGET: &str = "s3_broker::access";

/// One request, as the writer thread formats it.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessRecord {
    /// When the response ended.
    pub at: SystemTime,
    /// The TCP peer's address.
    pub peer: Option<IpAddr>,
    /// The request method.
    pub method: Method,
    /// The request path, without the query string.
    pub path: String,
    /// The response status.
    pub status: u16,
    /// Body bytes sent.
    pub bytes: u64,
    /// From the request to the last body byte.
    pub duration: Duration,
    /// The request id.
    pub request_id: Option<RequestId>,
    /// The problem code of an error answer.
    pub problem: Option<&'static str>,
}

impl AccessRecord {
    /// Hands the record to the log queue (never blocks; dropped and counted when full).
    pub fn enqueue(self) {
        enqueue(Entry::Access(Box::new(self)));
    }

    /// Appends the record's line (newline included) in `format`.
    pub fn render(&self, format: LogFormat, out: &mut Vec<u8>) {
        let mut line = String::with_capacity(320);
        let peer = self.peer.map(|ip| ip.to_string()).unwrap_or_default();
        let id = self.request_id.as_ref().map_or("", RequestId::as_str);
        let millis = self.duration.as_secs_f64() * 1000.0;
        match format {
            LogFormat::Json => {
                line.push_str("{\"timestamp\":\"");
                write_timestamp(&mut line, self.at);
                line.push_str("\",\"level\":\"INFO\",\"fields\":{\"message\":");
                write_json_str(
                    &mut line,
                    &format!("{} {} {}", self.method, self.path, self.status),
                );
                line.push_str(",\"peer\":");
                write_json_str(&mut line, &peer);
                line.push_str(",\"method\":");
                write_json_str(&mut line, self.method.as_str());
                line.push_str(",\"path\":");
                write_json_str(&mut line, &self.path);
                let _ = write!(
                    line,
                    ",\"status\":{},\"bytes\":{},\"duration_ms\":{millis:.3},\"request_id\":",
                    self.status, self.bytes
                );
                write_json_str(&mut line, id);
                if let Some(code) = self.problem {
                    line.push_str(",\"problem\":");
                    write_json_str(&mut line, code);
                }
                line.push_str("},\"target\":");
                write_json_str(&mut line, ACCESS_TARGET);
                line.push_str("}\n");
            }
            LogFormat::Text => {
                write_timestamp(&mut line, self.at);
                let _ = write!(
                    line,
                    "  INFO {ACCESS_TARGET}: {} {} {} peer={peer} bytes={} duration_ms={millis:.3} \
                     request_id={id}",
                    self.method,
                    self.path.escape_debug(),
                    self.status,
                    self.bytes,
                );
                if let Some(code) = self.problem {
                    let _ = write!(line, " problem={code}");
                }
                line.push('\n');
            }
        }
        out.extend_from_slice(line.as_bytes());
    }
}

/// Whether access lines are wanted: a log queue is installed and `RUST_LOG` lets
/// `s3_broker::access` through at INFO.
fn wanted() -> bool {
    installed() && tracing::enabled!(target: ACCESS_TARGET, tracing::Level::INFO)
}

/// The middleware (`App::wrap(AccessLog)`), inside the one that assigns the request id.
#[derive(Debug, Clone, Copy, Default)]
pub struct AccessLog;

impl<S, B> Transform<S, ServiceRequest> for AccessLog
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<AccessBody>;
    type Error = Error;
    type Transform = AccessLogService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(AccessLogService { service }))
    }
}

/// The service of [`AccessLog`].
#[derive(Debug)]
pub struct AccessLogService<S> {
    service: S,
}

/// What is known of a request before its answer.
struct Started {
    at: Instant,
    peer: Option<IpAddr>,
    method: Method,
    path: String,
    request_id: Option<RequestId>,
}

impl<S, B> Service<ServiceRequest> for AccessLogService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<AccessBody>;
    type Error = Error;
    type Future = AccessFuture<S::Future>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let started = wanted().then(|| Started {
            at: Instant::now(),
            peer: req.peer_addr().map(|addr| addr.ip()),
            method: req.method().clone(),
            path: req.path().to_owned(),
            request_id: req.extensions().get::<RequestId>().cloned(),
        });
        AccessFuture {
            inner: self.service.call(req),
            started,
        }
    }
}

pin_project_lite::pin_project! {
    /// The answer of [`AccessLogService`], its body wrapped in an [`AccessBody`].
    pub struct AccessFuture<F> {
        #[pin]
        inner: F,
        started: Option<Started>,
    }
}

impl<F, B> Future for AccessFuture<F>
where
    F: Future<Output = Result<ServiceResponse<B>, Error>>,
    B: MessageBody + 'static,
{
    type Output = Result<ServiceResponse<AccessBody>, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let res = match this.inner.poll(cx) {
            Poll::Ready(res) => res?,
            Poll::Pending => return Poll::Pending,
        };
        let started = this.started.take();
        let status = res.status().as_u16();
        let problem = res
            .response()
            .extensions()
            .get::<ProblemCode>()
            .map(|ProblemCode(code)| code.as_str());
        Poll::Ready(Ok(res.map_body(move |_, body| AccessBody {
            body: body.boxed(),
            bytes: 0,
            pending: started.map(|s| Pending {
                started: s,
                status,
                problem,
            }),
        })))
    }
}

/// A record waiting for the end of its body.
struct Pending {
    started: Started,
    status: u16,
    problem: Option<&'static str>,
}

/// A response body that counts its bytes and writes the access record when dropped (after
/// the last byte, or when the client went away).
pub struct AccessBody {
    body: BoxBody,
    bytes: u64,
    pending: Option<Pending>,
}

impl std::fmt::Debug for AccessBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessBody")
            .field("bytes", &self.bytes)
            .finish_non_exhaustive()
    }
}

impl MessageBody for AccessBody {
    type Error = Box<dyn std::error::Error>;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.body).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                this.bytes += chunk.len() as u64;
                Poll::Ready(Some(Ok(chunk)))
            }
            other => other,
        }
    }
}

impl Drop for AccessBody {
    fn drop(&mut self) {
        if let Some(Pending {
            started,
            status,
            problem,
        }) = self.pending.take()
        {
            AccessRecord {
                at: SystemTime::now(),
                peer: started.peer,
                method: started.method,
                path: started.path,
                status,
                bytes: self.bytes,
                duration: started.at.elapsed(),
                request_id: started.request_id,
                problem,
            }
            .enqueue();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> AccessRecord {
        AccessRecord {
            at: SystemTime::UNIX_EPOCH + Duration::from_micros(1_800_000_000_123_456),
            peer: Some("127.0.0.1".parse().unwrap()),
            method: Method::POST,
            path: "/v1/uploads\"x".into(),
            status: 401,
            bytes: 161,
            duration: Duration::from_micros(653),
            request_id: RequestId::parse(b"2944b1e2"),
            problem: Some("invalid_token"),
        }
    }

    #[test]
    fn json_lines_keep_every_field() {
        let mut out = Vec::new();
        record().render(LogFormat::Json, &mut out);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 1);
        let line: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(line["timestamp"], "2027-01-15T08:00:00.123456Z");
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["target"], ACCESS_TARGET);
        let fields = &line["fields"];
        assert_eq!(fields["message"], "POST /v1/uploads\"x 401");
        assert_eq!(fields["peer"], "127.0.0.1");
        assert_eq!(fields["method"], "POST");
        assert_eq!(fields["path"], "/v1/uploads\"x");
        assert_eq!(fields["status"], 401);
        assert_eq!(fields["bytes"], 161);
        assert_eq!(fields["duration_ms"], 0.653);
        assert_eq!(fields["request_id"], "2944b1e2");
        assert_eq!(fields["problem"], "invalid_token");
    }

    #[test]
    fn text_lines_are_one_line() {
        let mut out = Vec::new();
        let mut quiet = record();
        quiet.problem = None;
        quiet.path = "/a\nb".into();
        quiet.render(LogFormat::Text, &mut out);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.contains("INFO s3_broker::access: POST /a\\nb 401 peer=127.0.0.1 bytes=161"));
        assert!(!text.contains("problem="));
    }
}
