//! A real `redis-server` (Debian's) on a free port of 127.0.0.1, one per test that needs the
//! shared limits store, started by `scripts/testbed/start-redis.sh` (with the test bed's
//! watchdog: nothing outlives the test process). A test can stop it and start it again on the
//! same port, to watch the broker lose and find its store.

use super::ports::free_port;
use super::script::{run_start_script, stop};
use std::path::PathBuf;
use std::time::Duration;

/// A running (or stopped) redis-server.
pub(crate) struct Redis {
    /// `redis://127.0.0.1:PORT/0`.
    pub url: String,
    port: u16,
    data_dir: PathBuf,
}

impl Redis {
    /// Starts a server on a free port; panics with the reason when it cannot.
    pub(crate) fn start() -> Self {
        let data_dir = tempfile::Builder::new()
            .prefix("s3-broker-e2e-redis-")
            .tempdir()
            .expect("a data directory")
            .keep();
        let port = free_port().expect("a free port");
        let redis = Self {
            url: format!("redis://127.0.0.1:{port}/0"),
            port,
            data_dir,
        };
        redis.start_again();
        redis
    }

    /// Starts the server again on its port (after [`Redis::stop`]).
    pub(crate) fn start_again(&self) {
        let started = run_start_script(
            "start-redis.sh",
            self.port,
            &self.data_dir,
            Duration::from_secs(300),
        )
        .unwrap_or_else(|e| panic!("redis-server could not start: {e}"));
        assert_eq!(started.get("URL").unwrap(), self.url);
    }

    /// Stops the server (SIGTERM, then SIGKILL), as an outage would.
    pub(crate) fn stop(&self) {
        stop(&self.data_dir);
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        stop(&self.data_dir);
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// A `Limiter` of the `[limits]` table `toml`, outside any broker (its metrics detached).
pub(crate) fn limiter(toml: &str) -> s3_broker::limits::Limiter {
    let settings = toml::from_str::<s3_broker::limits::LimitsConfig>(toml)
        .unwrap()
        .validate()
        .unwrap();
    s3_broker::limits::Limiter::new(
        &settings,
        None,
        s3_broker::telemetry::LimitCounters::detached(),
    )
    .unwrap()
}
