//! Body and query extractor settings: every way a request body or query can be wrong becomes
//! an [`ApiError`] with a stable code, instead of actix-web's plain-text errors.

use super::{ApiError, Code};
use actix_web::dev::Payload;
use actix_web::error::{JsonPayloadError, QueryPayloadError};
use actix_web::http::header::{CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap};
use actix_web::web::Bytes;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use std::future::{self, Future};
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

/// JSON bodies are small: a grant request is a few hundred bytes.
pub const MAX_JSON_BODY: usize = 16 * 1024;

/// Bodies that list up to 10,000 parts (part signing, complete): at most 2 MiB.
pub(super) const MAX_PARTS_JSON_BODY: usize = 2 * 1024 * 1024;

/// JSON bodies: at most 16 KiB, `application/json` required, errors as problem+json.
pub fn json_config() -> web::JsonConfig {
    json_config_limited(MAX_JSON_BODY)
}

/// As [`json_config`], with another size limit.
pub(super) fn json_config_limited(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .content_type_required(true)
        .error_handler(move |err, _req| json_error(err, limit).into())
}

/// A JSON body under [`json_config`]: what `web::Json` accepts and refuses there, with the
/// same problems, read without its per-request costs (a MIME parse of the `Content-Type`, an
/// 8 KiB buffer, a boxed future) when the request says exactly `Content-Type:
/// application/json` with a `Content-Length` and no `Content-Encoding`. Any other request is
/// read by `web::Json` itself.
pub(super) struct JsonBody<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = actix_web::Error;
    type Future = JsonBodyFuture<T>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let Some(length) = plain_json_length(req.headers()) else {
            let json = web::Json::<T>::from_request(req, payload);
            return JsonBodyFuture::Boxed(Box::pin(async move {
                Ok(JsonBody(json.await?.into_inner()))
            }));
        };
        if length > MAX_JSON_BODY {
            let refusal = refuse(JsonPayloadError::OverflowKnownLength {
                length,
                limit: MAX_JSON_BODY,
            });
            return JsonBodyFuture::Boxed(Box::pin(future::ready(Err(refusal))));
        }
        JsonBodyFuture::Reading {
            payload: payload.take(),
            body: Body::Empty { length },
            target: PhantomData,
        }
    }
}

/// The future of [`JsonBody`]: a plain JSON body read as it comes (no box, no `async` state
/// machine), or `web::Json`'s future and early refusals, boxed.
pub(super) enum JsonBodyFuture<T> {
    /// Reading a plain JSON body.
    Reading {
        payload: Payload,
        body: Body,
        /// What the body becomes (`fn() -> T`: the future is `Unpin` whatever `T` is).
        target: PhantomData<fn() -> T>,
    },
    /// Any other body, or a refusal made before reading.
    Boxed(LocalBoxFuture<'static, Result<JsonBody<T>, actix_web::Error>>),
}

impl<T: DeserializeOwned> Future for JsonBodyFuture<T> {
    type Output = Result<JsonBody<T>, actix_web::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let (payload, body) = match self.get_mut() {
            Self::Boxed(future) => return future.as_mut().poll(cx),
            Self::Reading { payload, body, .. } => (payload, body),
        };
        while let Some(chunk) = ready!(payload.poll_next_unpin(cx)) {
            let chunk = chunk.map_err(|e| refuse(JsonPayloadError::Payload(e)))?;
            if body.len() + chunk.len() > MAX_JSON_BODY {
                return Poll::Ready(Err(refuse(JsonPayloadError::Overflow {
                    limit: MAX_JSON_BODY,
                })));
            }
            body.push(chunk);
        }
        Poll::Ready(
            serde_json::from_slice(body.bytes())
                .map(JsonBody)
                .map_err(|e| refuse(JsonPayloadError::Deserialize(e))),
        )
    }
}

/// A plain JSON body as read so far. A body that comes in one chunk (the usual case: a small
/// body read along with its head) is parsed from that chunk, without a copy into a buffer of
/// its own.
pub(super) enum Body {
    /// Nothing yet, of `length` announced bytes.
    Empty { length: usize },
    /// One chunk, of `length` announced bytes.
    One { chunk: Bytes, length: usize },
    /// Several chunks, copied into one buffer (made for the announced length).
    Joined(Vec<u8>),
}

impl Body {
    fn len(&self) -> usize {
        match self {
            Self::Empty { .. } => 0,
            Self::One { chunk, .. } => chunk.len(),
            Self::Joined(buffer) => buffer.len(),
        }
    }

    fn push(&mut self, next: Bytes) {
        match self {
            Self::Empty { length } => {
                *self = Self::One {
                    chunk: next,
                    length: *length,
                }
            }
            Self::One { chunk, length } => {
                let mut buffer = Vec::with_capacity((*length).max(chunk.len() + next.len()));
                buffer.extend_from_slice(chunk);
                buffer.extend_from_slice(&next);
                *self = Self::Joined(buffer);
            }
            Self::Joined(buffer) => buffer.extend_from_slice(&next),
        }
    }

    fn bytes(&self) -> &[u8] {
        match self {
            Self::Empty { .. } => &[],
            Self::One { chunk, .. } => chunk,
            Self::Joined(buffer) => buffer,
        }
    }
}

/// A plain JSON body's problem, as [`json_config`]'s error handler makes it.
fn refuse(err: JsonPayloadError) -> actix_web::Error {
    json_error(err, MAX_JSON_BODY).into()
}

/// The `Content-Length` of a request whose body is plain JSON: `Content-Type` exactly
/// `application/json`, one valid `Content-Length`, no `Content-Encoding`.
fn plain_json_length(headers: &HeaderMap) -> Option<usize> {
    let json = headers
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == b"application/json");
    if !json || headers.contains_key(CONTENT_ENCODING) {
        return None;
    }
    let mut lengths = headers.get_all(CONTENT_LENGTH);
    let (Some(length), None) = (lengths.next(), lengths.next()) else {
        return None;
    };
    let digits = length.as_bytes();
    if digits.is_empty() || digits.len() > 9 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// Query strings: errors as problem+json.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _req| query_error(err).into())
}

/// Maps a JSON extraction failure to its problem.
pub(super) fn json_error(err: JsonPayloadError, limit: usize) -> ApiError {
    match err {
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            ApiError::new(
                Code::BodyTooLarge,
                format!("this JSON body is limited to {limit} bytes"),
            )
        }
        JsonPayloadError::ContentType => ApiError::new(
            Code::UnsupportedMediaType,
            "send the body as 'Content-Type: application/json'",
        ),
        JsonPayloadError::Deserialize(e) if e.is_data() => {
            let message = e.to_string();
            let code = if message.starts_with("unknown field") {
                Code::UnknownField
            } else {
                Code::InvalidField
            };
            ApiError::new(code, message)
        }
        JsonPayloadError::Deserialize(e) => ApiError::new(
            Code::MalformedJson,
            format!("the body is not valid JSON: {e}"),
        ),
        _ => ApiError::new(Code::MalformedBody, "the request body could not be read"),
    }
}

/// Maps a query-string extraction failure to its problem.
pub(super) fn query_error(err: QueryPayloadError) -> ApiError {
    let QueryPayloadError::Deserialize(e) = err else {
        return ApiError::new(Code::InvalidQuery, "the query string could not be read");
    };
    let message = e.to_string();
    let code = if message.starts_with("unknown field") {
        Code::UnknownParameter
    } else {
        Code::InvalidQuery
    };
    ApiError::new(code, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_reads_the_same_in_one_chunk_or_several() {
        let json = br#"{"filename":"a.txt","size":1}"#;
        let mut whole = Body::Empty { length: json.len() };
        whole.push(Bytes::from_static(json));
        assert!(matches!(whole, Body::One { .. }));
        assert_eq!((whole.bytes(), whole.len()), (&json[..], json.len()));
        for split in [0, 1, 7, json.len() - 1, json.len()] {
            let mut pieces = Body::Empty { length: json.len() };
            pieces.push(Bytes::copy_from_slice(&json[..split]));
            pieces.push(Bytes::copy_from_slice(&json[split..]));
            pieces.push(Bytes::new());
            assert_eq!((pieces.bytes(), pieces.len()), (&json[..], json.len()));
        }
        let nothing = Body::Empty { length: 0 };
        assert_eq!((nothing.bytes(), nothing.len()), (&b""[..], 0));
    }
}
