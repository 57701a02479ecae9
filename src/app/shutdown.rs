//! How `serve` and `dev` stop: a drain, then a graceful stop, so that a rolling deploy loses
//! no request.
//!
//! 1. SIGTERM or SIGINT starts the [`Drain`]: `GET /readyz` answers 503 `draining` at once and
//!    every response carries `Connection: close`, while the listener keeps accepting for
//!    `[server] drain_secs` (load balancers need that long to stop routing here; keep-alive
//!    clients reconnect elsewhere after their next answer).
//! 2. Then the listener closes and actix-web stops gracefully: in-flight requests finish
//!    (within `[server] shutdown_timeout_secs`), idle keep-alive connections are closed, and
//!    the process exits 0.
//!
//! A second signal during the drain ends it early (step 2 at once), for an impatient Ctrl-C.

use crate::http::Drain;
use actix_web::dev::ServerHandle;
use std::time::Duration;

/// What stops a running server: its handle, the drain flag its handlers read, and the drain
/// delay. Cheap to clone.
#[derive(Clone)]
pub struct Shutdown {
    pub(super) handle: ServerHandle,
    pub(super) drain: Drain,
    pub(super) delay: Duration,
}

impl Shutdown {
    /// Installs the SIGTERM and SIGINT handlers now (call it inside the server's runtime),
    /// and returns what waits for the first signal, then drains and stops the server; a
    /// second signal cuts the drain short. It completes once the server has stopped (or at
    /// once if the handlers cannot be installed: the server then runs until killed).
    pub fn on_signals(self) -> impl Future<Output = ()> + 'static {
        let signals = Signals::install();
        async move {
            let mut signals = match signals {
                Ok(signals) => signals,
                Err(err) => {
                    tracing::error!(error = %err, "cannot install SIGTERM/SIGINT handlers");
                    return;
                }
            };
            let name = signals.next().await;
            tracing::info!(
                signal = name,
                drain_secs = self.delay.as_secs(),
                "draining: /readyz answers 503 and responses close their connections"
            );
            self.drain_then_stop(async move {
                let name = signals.next().await;
                tracing::info!(signal = name, "second signal: ending the drain now");
            })
            .await;
        }
    }

    /// Steps 1 and 2 of the module's sequence, without signals: starts the drain, waits the
    /// drain delay (or until `cut_short` completes), then stops the server gracefully.
    pub async fn drain_then_stop(&self, cut_short: impl Future<Output = ()>) {
        self.drain.start();
        if !self.delay.is_zero() {
            tokio::select! {
                () = tokio::time::sleep(self.delay) => {}
                () = cut_short => {}
            }
        }
        tracing::info!("drain over: closing the listener, finishing in-flight requests");
        self.handle.stop(true).await;
    }
}

/// The stop signals: SIGTERM (what orchestrators send) and SIGINT (Ctrl-C).
struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                term: signal(SignalKind::terminate())?,
                int: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    /// The name of the next signal received.
    async fn next(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.term.recv() => "SIGTERM",
                _ = self.int.recv() => "SIGINT",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        }
    }
}
