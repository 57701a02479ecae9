//! Limit state in Redis or Valkey, shared by every broker instance. Each check is one
//! server-side Lua script (atomic, one round trip) under a short timeout; connections are
//! multiplexed by the `redis` crate's `ConnectionManager`, which reconnects by itself.
//! See <https://redis.io/docs/latest/develop/interact/programmability/eval-intro/>.

use super::quota::{QuotaExceeded, QuotaKind};
use super::rate::{Rate, RateOutcome};
use chrono::{DateTime, Utc};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, Script};
use std::time::Duration;

/// Why a store call failed (never shown to callers; counted and logged).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No answer within the timeout.
    #[error("the limits store did not answer in time")]
    Timeout,
    /// Connection refused or lost, or an error reply.
    #[error("the limits store failed: {0}")]
    Redis(#[from] redis::RedisError),
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
    manager: ConnectionManager,
    timeout: Duration,
    prefix: String,
    check: Script,
    debit: Script,
    open: Script,
    revoke: Script,
}

impl RedisStore {
    /// A store at `url` (connected on first use; must be called within a tokio runtime).
    pub(crate) fn new(url: &str, timeout: Duration, prefix: &str) -> Result<Self, StoreError> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let manager = ConnectionManager::new_lazy_with_config(Client::open(url)?, config)?;
        Ok(Self {
            manager,
            timeout,
            prefix: prefix.to_owned(),
            check: Script::new(include_str!("lua/check.lua")),
            debit: Script::new(include_str!("lua/debit.lua")),
            open: Script::new(include_str!("lua/open.lua")),
            revoke: Script::new(include_str!("lua/revoke.lua")),
        })
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
        match tokio::time::timeout(self.timeout, call).await {
            Ok(result) => Ok(result?),
            Err(_) => Err(StoreError::Timeout),
        }
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
        let (interval, burst) = rate.map_or((0, 0), |r| {
            (r.interval().as_micros() as u64, r.requests.get())
        });
        let mut manager = self.manager.clone();
        let mut call = self.check.prepare_invoke();
        call.key(self.key(format_args!("rate:{rate_key}")))
            .key(self.principal_key(segment))
            .key(self.all_key())
            .arg(interval)
            .arg(burst)
            .arg(cost);
        let (admitted, remaining, retry_us, full_us, principal, all): (
            u8,
            u32,
            u64,
            u64,
            String,
            String,
        ) = self.bounded(call.invoke_async(&mut manager)).await?;
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
            not_before: (principal.parse().ok(), all.parse().ok()),
        })
    }

    /// Debits every `(key, amount, limit, kind)`, all or none, the counters expiring at
    /// `resets_at`.
    pub(crate) async fn debit(
        &self,
        window: i64,
        resets_at: DateTime<Utc>,
        debits: &[(String, u64, u64, QuotaKind)],
    ) -> Result<Result<(), QuotaExceeded>, StoreError> {
        let ttl = (resets_at - Utc::now()).num_seconds().max(1);
        let mut call = self.debit.prepare_invoke();
        call.arg(ttl);
        for (key, amount, limit, _) in debits {
            call.key(self.key(format_args!("quota:{window}:{key}")))
                .arg(*amount)
                .arg(*limit);
        }
        let mut manager = self.manager.clone();
        let over: usize = self.bounded(call.invoke_async(&mut manager)).await?;
        Ok(match over.checked_sub(1).and_then(|i| debits.get(i)) {
            None => Ok(()),
            Some((_, _, limit, kind)) => Err(QuotaExceeded {
                kind: *kind,
                limit: *limit,
                resets_at,
                window_secs: 0,
            }),
        })
    }

    /// Opens `member` until `expires` in every `(scope key, limit)`, all or none.
    pub(crate) async fn open(
        &self,
        now: i64,
        member: &str,
        expires: i64,
        scopes: &[(String, u32)],
    ) -> Result<Result<(), QuotaExceeded>, StoreError> {
        let mut call = self.open.prepare_invoke();
        call.arg(now).arg(member).arg(expires);
        for (key, limit) in scopes {
            call.key(self.key(format_args!("open:{key}"))).arg(*limit);
        }
        let mut manager = self.manager.clone();
        let (over, oldest): (usize, i64) = self.bounded(call.invoke_async(&mut manager)).await?;
        Ok(match over.checked_sub(1).and_then(|i| scopes.get(i)) {
            None => Ok(()),
            Some((_, limit)) => Err(QuotaExceeded {
                kind: QuotaKind::ConcurrentMultipart,
                limit: u64::from(*limit),
                resets_at: DateTime::from_timestamp(oldest, 0).unwrap_or_default(),
                window_secs: 0,
            }),
        })
    }

    /// Releases `member` in every scope key.
    pub(crate) async fn close(&self, member: &str, scopes: &[String]) -> Result<(), StoreError> {
        let mut pipe = redis::pipe();
        for key in scopes {
            pipe.zrem(self.key(format_args!("open:{key}")), member)
                .ignore();
        }
        let mut manager = self.manager.clone();
        self.bounded(pipe.query_async::<()>(&mut manager)).await
    }

    /// The "not before" times of `segment` and of everything.
    pub(crate) async fn not_before(
        &self,
        segment: &str,
    ) -> Result<(Option<i64>, Option<i64>), StoreError> {
        let mut manager = self.manager.clone();
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
        let mut manager = self.manager.clone();
        let mut call = self.revoke.prepare_invoke();
        call.key(key).arg(at.timestamp());
        self.bounded(call.invoke_async::<()>(&mut manager)).await
    }

    /// Whether the store answers.
    pub(crate) async fn ping(&self) -> Result<(), StoreError> {
        let mut manager = self.manager.clone();
        self.bounded(redis::cmd("PING").query_async::<()>(&mut manager))
            .await
    }
}
