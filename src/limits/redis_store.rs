//! Limit state in Redis or Valkey, shared by every broker instance. Each check is one
//! server-side Lua script (atomic, one round trip: a grant's revocation, rates and quotas
//! together) under a short timeout, sent by its SHA-1 (`EVALSHA`, the text only when the
//! server does not know it yet). Each thread (each HTTP worker) has a connection of its own
//! (the `redis` crate's `ConnectionManager`, which reconnects by itself), driven on that
//! thread: no worker's requests wait for another worker's thread. The check and grant scripts
//! are pipelined on it in batches (`redis_batch.rs`), with `TCP_NODELAY`: none waits for a
//! delayed ACK.
//! See <https://redis.io/docs/latest/develop/interact/programmability/eval-intro/>.

use super::Scope;
use super::memory::scope_key_parts;
use super::quota::{Debit, QuotaExceeded, QuotaKind};
use super::rate::{Rate, RateOutcome};
use super::redis_batch::{Batches, Unanswered};
use super::redis_reply::{CheckReply, GrantReply};
use chrono::{DateTime, Utc};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::io::tcp::TcpSettings;
use redis::{
    Client, Cmd, ErrorKind, FromRedisValue, IntoConnectionInfo, RedisWrite, Script, ServerErrorKind,
};
use std::cell::RefCell;
use std::io::Write;
use std::sync::{Arc, Weak};
use std::time::Duration;

thread_local! {
    /// This thread's connection to each live store (a store is known by its `alive` token).
    static CONNECTIONS: RefCell<Vec<ThreadConnection>> = const { RefCell::new(Vec::new()) };
}

/// One thread's connection to one store, and the batches of script calls sent on it.
struct ThreadConnection {
    store: Weak<()>,
    manager: ConnectionManager,
    batches: Batches,
}

/// A script with the GCRA function of `lua/gcra.lua` ahead of it.
macro_rules! with_gcra {
    ($file:literal) => {
        Script::new(concat!(
            include_str!("lua/gcra.lua"),
            include_str!(concat!("lua/", $file))
        ))
    };
}

/// A rate as the scripts take it: its window in microseconds and its burst (`(0, 0)`: no
/// rate). The scripts derive the emission interval, which is under a microsecond above a
/// million requests per second.
fn rate_args(rate: Option<Rate>) -> (u64, u32) {
    rate.map_or((0, 0), |r| {
        (r.window().as_micros() as u64, r.requests.get())
    })
}

/// One `EVALSHA`, written straight into its command: each key from its parts (no string per
/// key or argument), the numbers in decimal. Sent as is, and once more after `SCRIPT LOAD`
/// when the server does not know the script (`NOSCRIPT`).
struct Evalsha<'s> {
    script: &'s Script,
    cmd: Cmd,
}

impl<'s> Evalsha<'s> {
    /// A call of `script` with `keys` keys and `args` arguments to come.
    fn new(script: &'s Script, keys: usize, args: usize) -> Self {
        let mut cmd = Cmd::with_capacity(3 + keys + args, 64 + 48 * keys + 12 * args);
        cmd.arg("EVALSHA").arg(script.get_hash()).arg(keys);
        Self { script, cmd }
    }

    /// A key: `parts`, one after the other.
    fn key(&mut self, parts: &[&str]) -> &mut Self {
        let mut arg = self.cmd.writer_for_next_arg();
        for part in parts {
            // Writing into the command's own buffer cannot fail.
            let _ = arg.write_all(part.as_bytes());
        }
        drop(arg);
        self
    }

    fn int(&mut self, n: impl itoa::Integer) -> &mut Self {
        self.cmd.write_arg(itoa::Buffer::new().format(n).as_bytes());
        self
    }

    fn text(&mut self, text: &str) -> &mut Self {
        self.cmd.write_arg(text.as_bytes());
        self
    }
}

impl From<Unanswered> for StoreError {
    fn from(unanswered: Unanswered) -> Self {
        match unanswered {
            Unanswered::Timeout => Self::Timeout,
            Unanswered::Failed(error) => Self::Redis(error),
        }
    }
}

/// Why a store call failed (never shown to callers; counted and logged).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No answer within the timeout.
    #[error("the limits store did not answer in time")]
    Timeout,
    /// Connection refused or lost, or an error reply.
    #[error("the limits store failed: {0}")]
    Redis(#[from] redis::RedisError),
    /// An answer no script of this version gives (another version's script under our key?).
    #[error("the limits store answered an unexpected verdict {0}")]
    Unexpected(u8),
}

/// How many store timeouts [`RedisStore::detached_release`] waits for its answer.
const RELEASE_TIMEOUTS: u32 = 4;

/// A request's admission left to its grant: the rate of its class and the revocation times.
#[derive(Debug)]
pub(crate) struct DeferredCall {
    /// The request's route class (its rate's key is `rate:class:segment`).
    pub class: &'static str,
    /// The class's rate, if it has one.
    pub rate: Option<Rate>,
    /// When the credential was issued (Unix seconds).
    pub issued_at: Option<i64>,
}

/// What one grant asks of the store.
#[derive(Debug)]
pub(crate) struct GrantCall<'a> {
    /// The principal's namespace segment (its revocation key).
    pub segment: &'a str,
    /// The request's admission, when it was left to the grant.
    pub admission: Option<DeferredCall>,
    /// The profile's name and rate of grants (its key is `rate:p=profile:segment`).
    pub profile_rate: Option<(&'a str, Rate)>,
    /// The quota window's index (part of the counters' keys).
    pub window: i64,
    /// When the window ends.
    pub resets_at: DateTime<Utc>,
    /// The quota counters.
    pub debits: &'a [Debit<'a>],
    /// The multipart upload the grant opens, if it counts against `concurrent_multipart`.
    pub opening: Option<OpenCall<'a>>,
}

/// A multipart upload that a grant opens: its member in every set of open uploads (sorted
/// sets scored by expiry, `open:` and the scope key), all or none with the grant's quotas.
#[derive(Debug)]
pub(crate) struct OpenCall<'a> {
    /// Now (Unix seconds): uploads that expired by then leave their sets.
    pub now: i64,
    /// The upload's member (its object key).
    pub member: &'a str,
    /// When it expires (Unix seconds).
    pub expires: i64,
    /// The sets: their scopes and limits.
    pub sets: &'a [(Scope<'a>, u32)],
}

/// What the grant script answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Granted {
    /// Granted, with the class rate's state when the admission was deferred and the class has
    /// a rate.
    Yes(Option<RateOutcome>),
    /// The credential was issued before a revocation.
    Revoked,
    /// Over the rate of the request's class.
    OverClassRate(RateOutcome),
    /// Over the profile's rate of grants.
    OverProfileRate(RateOutcome),
    /// A quota would be exceeded (a daily one, or the open uploads of a set).
    OverQuota(QuotaExceeded),
}

/// What the check script answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Checked {
    /// The rate's outcome, when a rate was checked.
    pub rate: Option<RateOutcome>,
    /// The principal's and the global "not before" (Unix seconds).
    pub not_before: (Option<i64>, Option<i64>),
}

/// A Redis or Valkey store.
pub(crate) struct RedisStore {
    client: Client,
    config: ConnectionManagerConfig,
    /// Alive as long as the store: names it among a thread's connections.
    alive: Arc<()>,
    timeout: Duration,
    prefix: String,
    check: Script,
    grant: Script,
    revoke: Script,
}

impl RedisStore {
    /// A store at `url` (each thread connects on its first call, within a tokio runtime).
    pub(crate) fn new(url: &str, timeout: Duration, prefix: &str) -> Result<Self, StoreError> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            // Every call is bounded by `timeout`: script calls by their batch's deadline
            // (`redis_batch.rs`), the others by `bounded`. No second timer per request.
            .set_response_timeout(None)
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let info = url
            .into_connection_info()?
            .set_tcp_settings(TcpSettings::default().set_nodelay(true));
        Ok(Self {
            client: Client::open(info)?,
            config,
            alive: Arc::new(()),
            timeout,
            prefix: prefix.to_owned(),
            check: with_gcra!("check.lua"),
            grant: with_gcra!("grant.lua"),
            revoke: Script::new(include_str!("lua/revoke.lua")),
        })
    }

    /// This thread's connection (made on first use, connected lazily).
    fn connection(&self) -> Result<ConnectionManager, StoreError> {
        self.with_thread_connection(|c| c.manager.clone())
    }

    /// `f` of this thread's connection, made on first use (within a tokio runtime).
    fn with_thread_connection<T>(
        &self,
        f: impl FnOnce(&ThreadConnection) -> T,
    ) -> Result<T, StoreError> {
        CONNECTIONS.with_borrow_mut(|connections| {
            let me = Arc::as_ptr(&self.alive);
            if let Some(found) = connections.iter().find(|c| c.store.as_ptr() == me)
                && !found.batches.is_closed()
            {
                return Ok(f(found));
            }
            // Stores dropped, and this one's connection of a runtime that shut down.
            connections.retain(|c| {
                c.store.strong_count() > 0 && c.store.as_ptr() != me && !c.batches.is_closed()
            });
            let manager =
                ConnectionManager::new_lazy_with_config(self.client.clone(), self.config.clone())?;
            let made = ThreadConnection {
                store: Arc::downgrade(&self.alive),
                batches: Batches::start(manager.clone(), self.timeout),
                manager,
            };
            let answer = f(&made);
            connections.push(made);
            Ok(answer)
        })
    }

    /// Runs the script call that `build` writes with this thread's next batch
    /// (`redis_batch.rs`), under the store timeout; once more after `SCRIPT LOAD` when the
    /// server does not know the script (`NOSCRIPT`), within the same timeout.
    async fn run<'s, T: FromRedisValue>(
        &self,
        build: impl Fn() -> Evalsha<'s>,
    ) -> Result<T, StoreError> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        let batch = self.with_thread_connection(|c| c.batches.handle())?;
        let Evalsha { script, cmd } = build();
        let value = match batch.call(cmd).await?.extract_error() {
            Err(e) if e.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
                let again = async {
                    let mut manager = self.connection()?;
                    script.load_async(&mut manager).await?;
                    Ok::<_, StoreError>(batch.call(build().cmd).await?.extract_error()?)
                };
                tokio::time::timeout_at(deadline, again)
                    .await
                    .map_err(|_| StoreError::Timeout)??
            }
            answer => answer?,
        };
        T::from_redis_value(value).map_err(|e| StoreError::Redis(e.into()))
    }

    fn key(&self, parts: std::fmt::Arguments<'_>) -> String {
        format!("{}:{parts}", self.prefix)
    }

    /// The global "not before" key.
    fn all_key(&self) -> String {
        self.key(format_args!("revoked-all"))
    }

    fn principal_key(&self, segment: &str) -> String {
        self.key(format_args!("revoked:{segment}"))
    }

    async fn bounded<T>(
        &self,
        call: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, StoreError> {
        within(self.timeout, call).await
    }

    /// Counts one request (`cost` 1) or looks (`cost` 0) at `rate` under `rate_key`, and reads
    /// the "not before" times of `segment`.
    pub(crate) async fn check(
        &self,
        rate_key: &str,
        rate: Option<Rate>,
        cost: u8,
        segment: &str,
    ) -> Result<Checked, StoreError> {
        let (window, burst) = rate_args(rate);
        let prefix = self.prefix.as_str();
        let build = || {
            let mut call = Evalsha::new(&self.check, 3, 3);
            call.key(&[prefix, ":rate:", rate_key])
                .key(&[prefix, ":revoked:", segment])
                .key(&[prefix, ":revoked-all"])
                .int(window)
                .int(burst)
                .int(cost);
            call
        };
        let CheckReply {
            admitted,
            remaining,
            retry_us,
            full_us,
            principal,
            all,
        } = self.run(build).await?;
        let micros = Duration::from_micros;
        Ok(Checked {
            rate: rate.map(|rate| {
                RateOutcome::from_gcra(
                    rate,
                    remaining,
                    micros(full_us),
                    (admitted == 0).then(|| micros(retry_us)),
                )
            }),
            not_before: (principal, all),
        })
    }

    /// One grant (see `lua/grant.lua`): the deferred admission's revocation and rate, the
    /// profile's rate, then the quotas and the upload it opens, debited and opened all or
    /// none.
    pub(crate) async fn grant(&self, call: &GrantCall<'_>) -> Result<Granted, StoreError> {
        let class_rate = call.admission.as_ref().and_then(|a| a.rate);
        let profile_rate = call.profile_rate.map(|(_, rate)| rate);
        let (class_window, class_burst) = rate_args(class_rate);
        let (profile_window, profile_burst) = rate_args(profile_rate);
        let ttl = (call.resets_at - Utc::now()).num_seconds().max(1);
        let (prefix, segment) = (self.prefix.as_str(), call.segment);
        let mut window = itoa::Buffer::new();
        let window = window.format(call.window);
        let sets = call.opening.as_ref().map_or(&[][..], |o| o.sets);
        let build = || {
            let opening_args = call.opening.as_ref().map_or(0, |o| 3 + o.sets.len());
            let mut invocation = Evalsha::new(
                &self.grant,
                4 + call.debits.len() + sets.len(),
                8 + 2 * call.debits.len() + opening_args,
            );
            match &call.admission {
                Some(a) => invocation.key(&[prefix, ":rate:", a.class, ":", segment]),
                None => invocation.key(&[prefix, ":rate:-"]),
            };
            match call.profile_rate {
                Some((profile, _)) => invocation.key(&[prefix, ":rate:p=", profile, ":", segment]),
                None => invocation.key(&[prefix, ":rate:-"]),
            };
            invocation
                .key(&[prefix, ":revoked:", segment])
                .key(&[prefix, ":revoked-all"]);
            for debit in call.debits {
                let [a, b, c, d, e] = scope_key_parts(debit.kind, &debit.scope, segment);
                invocation.key(&[prefix, ":quota:", window, ":", a, b, c, d, e]);
            }
            for (scope, _) in sets {
                let [a, b, c, d, e] =
                    scope_key_parts(QuotaKind::ConcurrentMultipart, scope, segment);
                invocation.key(&[prefix, ":open:", a, b, c, d, e]);
            }
            invocation.int(u8::from(call.admission.is_some()));
            match call.admission.as_ref().and_then(|a| a.issued_at) {
                Some(issued_at) => invocation.int(issued_at),
                None => invocation.text(""),
            };
            invocation
                .int(class_window)
                .int(class_burst)
                .int(profile_window)
                .int(profile_burst)
                .int(ttl)
                .int(call.debits.len());
            for debit in call.debits {
                invocation.int(debit.amount).int(debit.limit);
            }
            if let Some(opening) = &call.opening {
                invocation
                    .int(opening.now)
                    .text(opening.member)
                    .int(opening.expires);
                for (_, limit) in opening.sets {
                    invocation.int(*limit);
                }
            }
            invocation
        };
        let GrantReply {
            verdict,
            remaining,
            retry_us,
            full_us,
            counter,
        } = self.run(build).await?;
        let micros = Duration::from_micros;
        let outcome = |rate: Rate, refused: bool| {
            RateOutcome::from_gcra(
                rate,
                remaining,
                micros(full_us),
                refused.then(|| micros(retry_us)),
            )
        };
        Ok(match (verdict, class_rate, profile_rate) {
            (1, ..) => Granted::Revoked,
            (2, Some(rate), _) => Granted::OverClassRate(outcome(rate, true)),
            (3, _, Some(rate)) => Granted::OverProfileRate(outcome(rate, true)),
            (4, ..) => match counter.checked_sub(1).and_then(|i| call.debits.get(i)) {
                Some(debit) => Granted::OverQuota(QuotaExceeded {
                    kind: debit.kind,
                    limit: debit.limit,
                    resets_at: call.resets_at,
                    window_secs: 0,
                }),
                None => return Err(StoreError::Unexpected(verdict)),
            },
            // `retry_us` holds when the set's oldest upload expires (Unix seconds).
            (5, ..) => match counter.checked_sub(1).and_then(|i| sets.get(i)) {
                Some((_, limit)) => Granted::OverQuota(QuotaExceeded {
                    kind: QuotaKind::ConcurrentMultipart,
                    limit: u64::from(*limit),
                    resets_at: i64::try_from(retry_us)
                        .ok()
                        .and_then(|at| DateTime::from_timestamp(at, 0))
                        .unwrap_or_default(),
                    window_secs: 0,
                }),
                None => return Err(StoreError::Unexpected(verdict)),
            },
            (0, rate, _) => Granted::Yes(rate.map(|rate| outcome(rate, false))),
            _ => return Err(StoreError::Unexpected(verdict)),
        })
    }

    /// Releases `member` in every scope key.
    pub(crate) async fn close(&self, member: &str, scopes: &[String]) -> Result<(), StoreError> {
        let mut pipe = redis::pipe();
        for key in scopes {
            pipe.zrem(self.key(format_args!("open:{key}")), member)
                .ignore();
        }
        let mut manager = self.connection()?;
        self.bounded(pipe.query_async::<()>(&mut manager)).await
    }

    /// Releases `member` in every scope key where it still holds the place that a create
    /// expiring at `expires` (Unix seconds) wrote (`lua/release.lua`), as a future that
    /// borrows nothing (for a task of its own), sent on this thread's connection: the store
    /// runs it after this thread's earlier calls, a script call that timed out included. Sent
    /// as one `EVAL` with the script's text (a rare call), not `EVALSHA`: once written, it
    /// runs when the store answers again even if this future is gone by then, where
    /// `EVALSHA` would meet a script cache without it and need a second call. Its answer is
    /// awaited for [`RELEASE_TIMEOUTS`] store timeouts: it is sent when the store is slow.
    pub(crate) fn detached_release(
        &self,
        member: &str,
        expires: i64,
        scopes: &[String],
    ) -> Result<impl Future<Output = Result<(), StoreError>> + Send + 'static, StoreError> {
        let mut eval = redis::cmd("EVAL");
        eval.arg(include_str!("lua/release.lua")).arg(scopes.len());
        for key in scopes {
            eval.arg(self.key(format_args!("open:{key}")));
        }
        eval.arg(member).arg(expires);
        let mut manager = self.connection()?;
        let timeout = self.timeout * RELEASE_TIMEOUTS;
        Ok(async move { within(timeout, eval.query_async::<()>(&mut manager)).await })
    }

    /// The "not before" times of `segment` and of everything.
    pub(crate) async fn not_before(
        &self,
        segment: &str,
    ) -> Result<(Option<i64>, Option<i64>), StoreError> {
        let mut manager = self.connection()?;
        let (principal, all): (Option<i64>, Option<i64>) = self
            .bounded(
                redis::cmd("MGET")
                    .arg(self.principal_key(segment))
                    .arg(self.all_key())
                    .query_async(&mut manager),
            )
            .await?;
        Ok((principal, all))
    }

    /// Sets a "not before" for `segment` (or everything), never moving one back.
    pub(crate) async fn revoke(
        &self,
        segment: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let key = segment.map_or_else(|| self.all_key(), |s| self.principal_key(s));
        let mut manager = self.connection()?;
        let mut call = self.revoke.prepare_invoke();
        call.key(key).arg(at.timestamp());
        self.bounded(call.invoke_async::<()>(&mut manager)).await
    }

    /// Whether the store answers.
    pub(crate) async fn ping(&self) -> Result<(), StoreError> {
        let mut manager = self.connection()?;
        self.bounded(redis::cmd("PING").query_async::<()>(&mut manager))
            .await
    }
}

/// `call`'s answer, or [`StoreError::Timeout`] after `timeout`.
async fn within<T>(
    timeout: Duration,
    call: impl Future<Output = redis::RedisResult<T>>,
) -> Result<T, StoreError> {
    match tokio::time::timeout(timeout, call).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(StoreError::Timeout),
    }
}
