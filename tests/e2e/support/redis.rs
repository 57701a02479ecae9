//! A real `redis-server` (Debian's) on a free port of 127.0.0.1, one per test that needs the
//! shared limits store, started by `scripts/testbed/start-redis.sh` (with the test bed's
//! watchdog: nothing outlives the test process). A test can stop it and start it again on the
//! same port, to watch the broker lose and find its store.

use super::ports::free_port;
use super::script::{run_start_script, stop};
use std::collections::BTreeMap;
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

    /// A connection of the test's own (to read the server's statistics or change its state).
    pub(crate) async fn connection(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(self.url.as_str())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap()
    }

    /// The calls of each command the server has counted (`INFO commandstats`; the commands a
    /// script runs are counted too, under their own names).
    pub(crate) async fn command_calls(&self) -> CommandCalls {
        let mut con = self.connection().await;
        let info: String = redis::cmd("INFO")
            .arg("commandstats")
            .query_async(&mut con)
            .await
            .unwrap();
        CommandCalls(
            info.lines()
                .filter_map(|line| {
                    let (name, stats) = line.strip_prefix("cmdstat_")?.split_once(':')?;
                    let calls = stats
                        .strip_prefix("calls=")?
                        .split(',')
                        .next()?
                        .parse()
                        .ok()?;
                    Some((name.to_owned(), calls))
                })
                .collect(),
        )
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

/// The calls of each command a server had counted at one time, by command name.
#[derive(Debug)]
pub(crate) struct CommandCalls(pub BTreeMap<String, u64>);

impl CommandCalls {
    /// The calls of `name` counted since `before`.
    pub(crate) fn since(&self, before: &CommandCalls, name: &str) -> u64 {
        let of = |calls: &CommandCalls| calls.0.get(name).copied().unwrap_or(0);
        of(self) - of(before)
    }

    /// The script calls (`EVALSHA` and `EVAL`) counted since `before`.
    pub(crate) fn scripts_since(&self, before: &CommandCalls) -> u64 {
        self.since(before, "evalsha") + self.since(before, "eval")
    }

    /// Asserts how many times each command was called since `before`, exactly: `expected`
    /// holds every command with calls (the scripts, and the commands they run, under their
    /// own names), the test's own `INFO` left out and so are `CLIENT` subcommands (the
    /// `redis` crate sends `CLIENT SETINFO` on each connection to Redis 7.2 and later, Valkey
    /// too: a reconnection is not a command). `INFO commandstats` counts a command run
    /// by a script and one sent by a client alike, so only exact counts show a command sent
    /// on its own (one call too many), where a list of the commands scripts may run would not.
    #[track_caller]
    pub(crate) fn assert_calls_since(&self, before: &CommandCalls, expected: &[(&str, u64)]) {
        let counted: BTreeMap<&str, u64> = self
            .0
            .keys()
            .filter(|name| *name != "info" && !name.starts_with("client|"))
            .map(|name| (name.as_str(), self.since(before, name)))
            .filter(|(_, calls)| *calls > 0)
            .collect();
        let expected: BTreeMap<&str, u64> = expected
            .iter()
            .copied()
            .filter(|(_, calls)| *calls > 0)
            .collect();
        assert_eq!(counted, expected, "the commands called since");
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
