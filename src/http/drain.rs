//! Draining before a stop. Once [`Drain::start`] is called (on SIGTERM or SIGINT, see
//! `crate::app::shutdown`), `GET /readyz` answers 503 `draining` so that load balancers stop
//! routing new requests here, and every response is marked (`Observe`, [`close_if_draining`])
//! `Connection: close`, so that each keep-alive client closes its connection after the answer
//! it is reading and opens its next one elsewhere ([RFC 9112 §9.6]). The listener keeps
//! accepting meanwhile: nothing is refused while routes are still being withdrawn.
//!
//! Closing a connection only after a response is what makes the drain lossless: a server
//! that closes an idle keep-alive connection races the client's next request on it, and that
//! request is lost ([RFC 9112 §9.3.1]: a client may retry it only if it is idempotent).
//!
//! [RFC 9112 §9.6]: https://www.rfc-editor.org/rfc/rfc9112#section-9.6
//! [RFC 9112 §9.3.1]: https://www.rfc-editor.org/rfc/rfc9112#section-9.3.1

use actix_web::dev::ServiceResponse;
use actix_web::http::ConnectionType;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether the process is draining: shared by every worker and the signal task.
#[derive(Debug, Clone, Default)]
pub struct Drain(Arc<AtomicBool>);

impl Drain {
    /// Not draining.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts draining (idempotent): from now on `/readyz` answers 503 and every response
    /// closes its connection.
    pub fn start(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// Whether [`Drain::start`] was called.
    pub fn is_draining(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// Marks `res` `Connection: close` when draining (`Observe` calls it on every answer). The
/// flag is read when the response is ready, so a request that started before the signal
/// closes its connection too. One atomic load; no allocation.
pub(super) fn close_if_draining<B>(res: &mut ServiceResponse<B>, drain: &Drain) {
    if drain.is_draining() {
        res.response_mut()
            .head_mut()
            .set_connection_type(ConnectionType::Close);
    }
}

#[cfg(test)]
mod tests {
    use super::Drain;

    #[test]
    fn starts_off_and_is_shared_by_clones() {
        let drain = Drain::new();
        let seen_by_a_worker = drain.clone();
        assert!(!seen_by_a_worker.is_draining());
        drain.start();
        assert!(seen_by_a_worker.is_draining());
        drain.start();
        assert!(drain.is_draining());
    }
}
