//! A deadline for reading the whole request body. actix-web cuts slow *headers*
//! (`client_request_timeout`, 5 s) but waits for a body as long as bytes keep trickling in, so
//! a few clients sending one byte a second could hold every connection. [`BodyDeadline`]
//! gives each request with a body `[server] body_timeout_secs` from its arrival to deliver
//! all of it; past that, reading the body fails, and the answer, whatever the handler made of
//! the failure, is `408 body_timeout` ([RFC 9110 §15.5.9]) with `Connection: close`, so the
//! rest of the body is never waited for.
//!
//! Requests without a body (`GET /healthz`, listings) are passed through untouched.
//!
//! [RFC 9110 §15.5.9]: https://www.rfc-editor.org/rfc/rfc9110#section-15.5.9

use super::{ApiError, Code};
use actix_web::Error;
use actix_web::HttpMessage;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::error::PayloadError;
use actix_web::http::ConnectionType;
use actix_web::web::Bytes;
use futures_util::future::{Either, Map, Ready, ready};
use futures_util::{FutureExt, Stream};
use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// The middleware: `limit` to read each request's body, counted from its arrival.
#[derive(Debug, Clone, Copy)]
pub struct BodyDeadline {
    limit: Duration,
}

impl BodyDeadline {
    /// A deadline of `limit` per request body.
    pub fn new(limit: Duration) -> Self {
        Self { limit }
    }
}

impl<S, B> Transform<S, ServiceRequest> for BodyDeadline
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = BodyDeadlineService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(BodyDeadlineService {
            service,
            limit: self.limit,
        }))
    }
}

/// The service of [`BodyDeadline`].
#[derive(Debug)]
pub struct BodyDeadlineService<S> {
    service: S,
    limit: Duration,
}

/// What the inner service answers.
type Answer<B> = Result<ServiceResponse<B>, Error>;
/// The answer of a request without a body: the inner one, its body type widened.
type Passed<F, B> = Map<F, fn(Answer<B>) -> Answer<EitherBody<B>>>;

impl<S, B> Service<ServiceRequest> for BodyDeadlineService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = Either<Passed<S::Future, B>, DeadlineAnswer<S::Future>>;

    forward_ready!(service);

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        let payload = match req.take_payload() {
            Payload::None => {
                return Either::Left(self.service.call(req).map(
                    (|answer: Answer<B>| answer.map(ServiceResponse::map_into_left_body))
                        as fn(_) -> _,
                ));
            }
            payload => payload,
        };
        let shared = Rc::new(Shared::default());
        let limit = self.limit;
        let fed_by_dispatcher = matches!(payload, Payload::H1 { .. });
        req.set_payload(Payload::from(Box::pin(DeadlineStream {
            inner: payload,
            deadline: Instant::now() + limit,
            timer: None,
            shared: shared.clone(),
            fed_by_dispatcher,
        })
            as Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>>));
        Either::Right(DeadlineAnswer {
            answer: self.service.call(req),
            shared,
            limit,
            polled: false,
        })
    }
}

pin_project_lite::pin_project! {
    /// The answer of a request with a body: the inner one, or `408 body_timeout` once the
    /// body's deadline has passed. A future of its own rather than a boxed `async` block: one
    /// allocation and one copy less per request.
    pub struct DeadlineAnswer<F> {
        #[pin]
        answer: F,
        shared: Rc<Shared>,
        limit: Duration,
        polled: bool,
    }
}

/// What a request's [`DeadlineAnswer`] and its [`DeadlineStream`] share.
#[derive(Debug, Default)]
struct Shared {
    /// The deadline passed while the body was waited for.
    expired: Cell<bool>,
    /// The answer is being polled for the first time.
    first_poll: Cell<bool>,
}

impl<F, B> Future for DeadlineAnswer<F>
where
    F: Future<Output = Answer<B>>,
{
    type Output = Answer<EitherBody<B>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let first = !std::mem::replace(this.polled, true);
        this.shared.first_poll.set(first);
        let polled = this.answer.poll(cx);
        if first {
            this.shared.first_poll.set(false);
        }
        let res = match polled {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(answer) => answer?,
        };
        if !this.shared.expired.get() {
            return Poll::Ready(Ok(res.map_into_left_body()));
        }
        let (request, _) = res.into_parts();
        let mut response = actix_web::ResponseError::error_response(&ApiError::new(
            Code::BodyTimeout,
            format!(
                "the request body was not received within {} s",
                this.limit.as_secs_f32()
            ),
        ));
        response
            .head_mut()
            .set_connection_type(ConnectionType::Close);
        Poll::Ready(Ok(
            ServiceResponse::new(request, response).map_into_right_body()
        ))
    }
}

/// A request body that fails once its deadline has passed (and ends after that failure).
struct DeadlineStream {
    inner: Payload,
    /// The request's arrival plus the limit.
    deadline: Instant,
    /// Armed the first time the body is waited for: a body that has arrived with its headers
    /// (most JSON bodies) is read without a timer.
    timer: Option<Pin<Box<Sleep>>>,
    shared: Rc<Shared>,
    /// The body is actix-http's HTTP/1 payload, fed by the connection's dispatcher.
    fed_by_dispatcher: bool,
}

impl Stream for DeadlineStream {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.shared.expired.get() {
            return Poll::Ready(None);
        }
        // actix-http's HTTP/1 dispatcher polls an answer once as soon as it has parsed the
        // request's head, before it feeds the payload with the body bytes it read along with
        // it, and polls the answer again after feeding them, in the same turn; later bytes
        // wake the dispatcher through its socket, and it polls the answer again then too. A
        // waker registered with the payload in that first poll is only woken by that feeding,
        // which schedules the connection's task once more for nothing: a second turn of the
        // dispatcher per request, its keep-alive timer set again. So during the answer's first
        // poll the payload is looked at without registering; the deadline's timer below holds
        // this task's waker meanwhile (the deadline holds whatever polls the answer), and any
        // later poll registers as usual.
        let first_look = this.fed_by_dispatcher && this.shared.first_poll.get();
        let mut unregistered = Context::from_waker(Waker::noop());
        let payload_cx = if first_look {
            &mut unregistered
        } else {
            &mut *cx
        };
        // Bytes already received are delivered even past the deadline: only waiting is cut.
        if let Poll::Ready(item) = Pin::new(&mut this.inner).poll_next(payload_cx) {
            return Poll::Ready(item);
        }
        let deadline = this.deadline;
        let timer = this
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if timer.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        this.shared.expired.set(true);
        Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "the request body deadline passed",
        )))))
    }
}
