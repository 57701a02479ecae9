//! Signing a batch of part URLs without stalling an async worker, for
//! `POST /v1/multipart/parts` and the Companion part routes alike.

use super::ApiError;
use crate::multipart::PartSigningError;
use actix_web::web;

/// Batches of at least this many part URLs are signed on actix's blocking pool.
const OFF_WORKER_FROM: usize = 64;

/// Runs `sign`, which signs `parts` part URLs: on actix's blocking pool from
/// [`OFF_WORKER_FROM`] parts on, in place below that.
///
/// Why 64, from `doc/benchmarks.md`: a part URL takes about 1 µs to sign
/// (`presign_put_two_headers`, 0.95 µs) and 1.5 µs with its JSON (10,000 parts in 15.5 ms on
/// one thread), while a whole grant request costs about 45 µs of CPU (44,657 requests/s on
/// 2 cores). A batch under 64 parts (under 0.1 ms, two grant requests' worth) is signed in
/// place, where the hop to the pool and back would cost as much as it saves; a larger one,
/// up to 15 ms for 10,000 parts, goes to the pool so that the async workers keep serving
/// other requests meanwhile (the 10,000-part request took 11.2–12.0 ms in place and
/// 11.3–13.2 ms through the pool). Batches big enough to be split across threads (from 256
/// parts, `PartSigning::sign_planned`) are always off the workers.
pub(super) async fn sign_off_worker<T, F>(parts: usize, sign: F) -> Result<T, ApiError>
where
    F: FnOnce() -> Result<T, PartSigningError> + Send + 'static,
    T: Send + 'static,
{
    let signed = if parts < OFF_WORKER_FROM {
        sign()
    } else {
        web::block(sign).await?
    };
    Ok(signed?)
}
