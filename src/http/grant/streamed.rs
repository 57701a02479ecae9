//! A grant of many signed URLs, written while it is signed: a JSON body streamed in chunks of
//! about 32 KiB, each signed and serialized when the connection can take it. A batch of
//! 10,000 part URLs (about 5 MB of JSON, about 15 ms of signing on one core) then sends its
//! first byte after some 60 URLs instead of after all of them, holds one chunk in memory
//! instead of every URL plus the whole document, and takes the worker for about 0.1 ms per
//! chunk, so other requests on the same worker are served in between. The bytes are those
//! `serde_json` writes for the whole document at once (tested by the handlers).
//!
//! The body is sent with `Transfer-Encoding: chunked` (RFC 9112 §7.1). Every item is
//! checked before the first byte (the handlers' `PartSigning::planned` and `unsized_parts`),
//! so a failure mid-way is not expected; if one happens, it is logged and the connection is
//! closed, so the client sees a truncated answer, never a well-formed partial grant.

use actix_web::HttpResponse;
use actix_web::http::header::{CACHE_CONTROL, ContentType};
use actix_web::web::Bytes;
use futures_util::Stream;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Bytes per chunk: actix's write buffer (32 KiB), about 60 part URLs.
const CHUNK_BYTES: usize = 32 * 1024;

/// Writes one item's JSON (without a separator) at the end of the buffer.
pub(crate) type WriteItem<T> = fn(&mut Vec<u8>, T) -> serde_json::Result<()>;

/// The error that ends a streamed grant early (the connection is then closed).
type Aborted = Box<dyn std::error::Error>;

/// A JSON document `head`, items separated by `,`, `tail`, produced a chunk at a time.
pub(crate) struct JsonItems<I, T> {
    head: Option<Vec<u8>>,
    items: I,
    write: WriteItem<T>,
    /// `None` once the tail is sent or the stream failed: the stream has ended.
    tail: Option<Vec<u8>>,
    written: usize,
}

impl<I, T> JsonItems<I, T> {
    /// `head`, then each item of `items` written by `write` with a `,` between two, then
    /// `tail`.
    pub(crate) fn new(head: Vec<u8>, items: I, write: WriteItem<T>, tail: Vec<u8>) -> Self {
        Self {
            head: Some(head),
            items,
            write,
            tail: Some(tail),
            written: 0,
        }
    }

    /// The next chunk, or `None` after the tail.
    fn next_chunk<E>(&mut self) -> Option<Result<Bytes, Aborted>>
    where
        I: Iterator<Item = Result<T, E>>,
        E: std::error::Error + 'static,
    {
        self.tail.as_ref()?;
        let mut out = self.head.take().unwrap_or_default();
        out.reserve(CHUNK_BYTES + CHUNK_BYTES / 4);
        while out.len() < CHUNK_BYTES {
            let Some(item) = self.items.next() else {
                out.extend(self.tail.take().unwrap_or_default());
                break;
            };
            if self.written > 0 {
                out.push(b',');
            }
            let written = item
                .map_err(Aborted::from)
                .and_then(|item| (self.write)(&mut out, item).map_err(Aborted::from));
            if let Err(err) = written {
                tracing::error!(error = %err, items = self.written, "a streamed grant stopped");
                self.tail = None;
                return Some(Err(err));
            }
            self.written += 1;
        }
        Some(Ok(Bytes::from(out)))
    }
}

impl<I, T, E> Stream for JsonItems<I, T>
where
    I: Iterator<Item = Result<T, E>> + Unpin,
    E: std::error::Error + 'static,
{
    type Item = Result<Bytes, Aborted>;

    fn poll_next(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Poll::Ready(self.get_mut().next_chunk())
    }
}

/// 200 with a streamed JSON grant and `Cache-Control: no-store` (grants are bearer secrets).
pub(crate) fn streamed_grant_response<I, T, E>(body: JsonItems<I, T>) -> HttpResponse
where
    I: Iterator<Item = Result<T, E>> + Unpin + 'static,
    T: 'static,
    E: std::error::Error + 'static,
{
    HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "no-store"))
        .content_type(ContentType::json())
        .streaming(body)
}

/// Every chunk of `body`, concatenated (for tests).
#[cfg(test)]
pub(crate) fn collect<I, T, E>(mut body: JsonItems<I, T>) -> Result<(Vec<u8>, usize), Aborted>
where
    I: Iterator<Item = Result<T, E>>,
    E: std::error::Error + 'static,
{
    let (mut all, mut chunks) = (Vec::new(), 0);
    while let Some(chunk) = body.next_chunk() {
        all.extend_from_slice(&chunk?);
        chunks += 1;
    }
    Ok((all, chunks))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("item {0} failed")]
    struct Failed(u32);

    fn numbers(out: &mut Vec<u8>, n: u32) -> serde_json::Result<()> {
        serde_json::to_writer(out, &n)
    }

    fn body(
        items: Vec<Result<u32, Failed>>,
    ) -> JsonItems<std::vec::IntoIter<Result<u32, Failed>>, u32> {
        JsonItems::new(b"[".to_vec(), items.into_iter(), numbers, b"]".to_vec())
    }

    #[test]
    fn items_are_separated_and_chunked() {
        assert_eq!(collect(body(vec![])).unwrap(), (b"[]".to_vec(), 1));
        let many: Vec<_> = (0..20_000).map(Ok).collect();
        let expected = serde_json::to_vec(&(0..20_000).collect::<Vec<u32>>()).unwrap();
        let (all, chunks) = collect(body(many)).unwrap();
        assert_eq!(all, expected);
        assert!(
            chunks > 3,
            "{chunks} chunks of at most about {CHUNK_BYTES} bytes"
        );
    }

    #[test]
    fn a_failed_item_ends_the_stream_with_an_error() {
        let mut stream = body(vec![Ok(1), Err(Failed(2)), Ok(3)]);
        let err = stream.next_chunk().unwrap().unwrap_err();
        assert_eq!(err.to_string(), "item 2 failed");
        assert!(stream.next_chunk().is_none());
    }
}
