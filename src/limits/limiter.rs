//! The limiter every handler asks: the rates, quotas and revocations of `[limits]` and
//! `[revocation]` over the configured store, with the failure mode applied when a shared store
//! does not answer (it never turns into a 500).

use super::memory::{MemoryOpening, MemoryStore, scope_key};
use super::quota::{Debit, QuotaExceeded, QuotaKind, Quotas, window_of};
use super::rate::RateOutcome;
use super::redis_store::{
    Checked, DeferredCall, GrantCall, Granted, OpenCall, RedisStore, StoreError,
};
use super::settings::{FailureMode, LimitSettings, LimitsConfig, StoreSetting};
use super::{RouteClass, Scope};
use crate::domain::NamespaceSegment;
use crate::revocation::{RevocationFile, is_revoked};
use crate::telemetry::LimitCounters;
use chrono::{DateTime, Utc};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Why a request is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Over the rate of a route class (or of a profile's grants).
    RateLimited(&'static str, RateOutcome),
    /// A quota would be exceeded.
    QuotaExceeded(QuotaExceeded),
    /// The credential or sealed record was issued before a revocation.
    Revoked,
    /// The shared store is unreachable and `on_store_failure = "fail_closed"`.
    StoreUnavailable,
}

/// The rate and revocation check of an authenticated request, left to the grant the request
/// leads to ([`Limiter::grant`]), so that a shared store answers both in one round trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingAdmission {
    /// The request's route class.
    pub class: RouteClass,
    /// When its credential was issued (Unix seconds).
    pub issued_at: Option<i64>,
}

/// The quota counters one grant debits.
type Debits<'a> = Vec<Debit<'a>>;

/// A multipart upload that a grant creates, counted against `concurrent_multipart` until it
/// is completed or aborted ([`Limiter::close_upload`]) or its ticket expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opening<'a> {
    /// The upload's object key (its member in the sets of open uploads).
    pub key: &'a str,
    /// When its ticket expires.
    pub expires_at: DateTime<Utc>,
}

/// The store's state, for `/readyz`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreState {
    /// `store = "memory"`.
    Memory,
    /// The shared store answers.
    Up,
    /// The shared store does not answer; limits apply per instance.
    DownOpen,
    /// The shared store does not answer; limited requests are refused.
    DownClosed,
}

impl StoreState {
    /// Its name in `/readyz`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Memory => "memory",
            Self::Up => "up",
            Self::DownOpen => "down_fail_open",
            Self::DownClosed => "down_fail_closed",
        }
    }
}

/// Rates, quotas and revocations.
pub struct Limiter {
    config: LimitsConfig,
    /// The store of `memory`; with a shared store, the per-instance fallback of `fail_open`
    /// (rates divided by `replicas`).
    memory: MemoryStore,
    shared: Option<RedisStore>,
    revocation_file: Option<Arc<RevocationFile>>,
    counters: LimitCounters,
    store_up: AtomicBool,
    /// Whether any rate, quota, store or revocation is configured: if not, every check is a
    /// no-op.
    active: bool,
}

impl Limiter {
    /// A limiter for `settings` (within a tokio runtime when the store is shared).
    pub fn new(
        settings: &LimitSettings,
        revocation_file: Option<Arc<RevocationFile>>,
        counters: LimitCounters,
    ) -> Result<Self, String> {
        let config = settings.config.clone();
        let shared = match &settings.store {
            StoreSetting::Memory => None,
            StoreSetting::Redis(url) => Some(
                RedisStore::new(url, settings.store_timeout, &config.key_prefix)
                    .map_err(|e| format!("limits.store: {e}"))?,
            ),
        };
        let divisor = if shared.is_some() {
            config.replicas
        } else {
            std::num::NonZeroU32::MIN
        };
        let memory = MemoryStore::new(
            |class| config.rates.of(class).map(|r| r.divided(divisor)),
            config
                .profiles
                .iter()
                .filter_map(|(name, p)| p.grants.map(|r| (name.clone(), r.divided(divisor)))),
        );
        let active = shared.is_some()
            || revocation_file.is_some()
            || RouteClass::ALL
                .iter()
                .any(|c| config.rates.of(*c).is_some())
            || config.quotas != Quotas::default()
            || !config.profiles.is_empty();
        counters.set_store_up(true);
        Ok(Self {
            config,
            memory,
            shared,
            revocation_file,
            counters,
            store_up: AtomicBool::new(true),
            active,
        })
    }

    /// A limiter that limits nothing (tests, tools).
    pub fn unlimited() -> Self {
        let settings = LimitsConfig::default()
            .validate()
            .expect("the defaults are valid");
        Self::new(&settings, None, LimitCounters::detached()).expect("memory store")
    }

    /// The configured profile names (checked against the profile registry at startup).
    pub fn profile_names(&self) -> impl Iterator<Item = &str> {
        self.config.profiles.keys().map(String::as_str)
    }

    /// The header a trusted proxy sets to the client's address, if configured.
    pub fn client_ip_header(&self) -> Option<&str> {
        self.config.client_ip_header.as_deref()
    }

    /// Forgets idle rate state every minute, for the life of the process.
    pub fn spawn_housekeeping(self: &Arc<Self>) {
        if !self.active {
            return;
        }
        let limiter = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                let Some(limiter) = limiter.upgrade() else {
                    return;
                };
                limiter.memory.forget_idle();
            }
        });
    }

    /// A shared-store failure: counted, logged, and the failure mode decides.
    fn store_failed(&self, error: &StoreError) -> Result<(), Refusal> {
        self.counters.store_error();
        if self.store_up.swap(false, Ordering::Relaxed) {
            self.counters.set_store_up(false);
            tracing::warn!(%error, mode = self.config.on_store_failure.as_str(), "limits store unavailable");
        }
        match self.config.on_store_failure {
            FailureMode::FailOpen => {
                self.counters.fallback();
                Ok(())
            }
            FailureMode::FailClosed => Err(Refusal::StoreUnavailable),
        }
    }

    fn store_answered(&self) {
        if !self.store_up.swap(true, Ordering::Relaxed) {
            self.counters.set_store_up(true);
            tracing::info!("limits store available again");
        }
    }

    fn file_refuses(&self, who: &NamespaceSegment, issued_at: Option<i64>) -> bool {
        self.revocation_file
            .as_ref()
            .is_some_and(|f| f.current().refuses(who.as_str(), issued_at))
    }

    fn rate_refusal(&self, class: &'static str, outcome: RateOutcome) -> Result<(), Refusal> {
        if outcome.admitted() {
            Ok(())
        } else {
            self.counters.rate_limited(class);
            Err(Refusal::RateLimited(class, outcome))
        }
    }

    /// An authenticated request of `class` by `who`, whose credential was issued at
    /// `issued_at`: refused if revoked or over the class's rate; else the rate's state for
    /// the `RateLimit` headers (`None` when the class has no rate).
    pub async fn admit(
        &self,
        who: &NamespaceSegment,
        issued_at: Option<i64>,
        class: RouteClass,
    ) -> Result<Option<RateOutcome>, Refusal> {
        if let Some(answer) = self.admit_now(who, issued_at, class) {
            return answer;
        }
        if self.file_refuses(who, issued_at) {
            return Err(Refusal::Revoked);
        }
        let Some(store) = &self.shared else {
            return Ok(None);
        };
        let rate = self.config.rates.of(class);
        let key = format!("{}:{who}", class.as_str());
        let outcome = match store.check(&key, rate, 1, who.as_str()).await {
            Ok(Checked { rate, not_before }) => {
                self.store_answered();
                if is_revoked(not_before.0, not_before.1, issued_at) {
                    return Err(Refusal::Revoked);
                }
                rate
            }
            Err(error) => {
                self.store_failed(&error)?;
                self.memory.rate(who, class)
            }
        };
        self.admitted(class, outcome)
    }

    /// [`Limiter::admit`]'s answer when it needs no round trip (no limits, or the memory
    /// store), without a future; `None` with a shared store. Callers that hold their future
    /// across other work keep the store's much larger one out of it this way.
    pub fn admit_now(
        &self,
        who: &NamespaceSegment,
        issued_at: Option<i64>,
        class: RouteClass,
    ) -> Option<Result<Option<RateOutcome>, Refusal>> {
        if !self.active {
            return Some(Ok(None));
        }
        if self.shared.is_some() {
            return None;
        }
        if self.file_refuses(who, issued_at) {
            return Some(Err(Refusal::Revoked));
        }
        Some(self.admitted(class, self.memory.rate(who, class)))
    }

    /// A class rate's `outcome` as an admission: refused when over the rate.
    fn admitted(
        &self,
        class: RouteClass,
        outcome: Option<RateOutcome>,
    ) -> Result<Option<RateOutcome>, Refusal> {
        match outcome {
            Some(outcome) => self
                .rate_refusal(class.as_str(), outcome)
                .map(|()| Some(outcome)),
            None => Ok(None),
        }
    }

    /// A request of `class` by `who` that leads to a grant: with a shared store, its
    /// admission is left to [`Limiter::grant`] (after the revocation file, which is local):
    /// `Some`. With the memory store, whose checks cost no round trip, the caller admits it now
    /// ([`Limiter::admit`]): `None`.
    pub fn defer(
        &self,
        who: &NamespaceSegment,
        issued_at: Option<i64>,
        class: RouteClass,
    ) -> Result<Option<PendingAdmission>, Refusal> {
        if self.shared.is_none() {
            return Ok(None);
        }
        if self.file_refuses(who, issued_at) {
            return Err(Refusal::Revoked);
        }
        Ok(Some(PendingAdmission { class, issued_at }))
    }

    /// A sealed record (upload ticket, completion grant) of `who` issued at `issued_at`:
    /// refused if revoked.
    pub async fn check_sealed(
        &self,
        who: &NamespaceSegment,
        issued_at: i64,
    ) -> Result<(), Refusal> {
        if !self.active {
            return Ok(());
        }
        if self.file_refuses(who, Some(issued_at)) {
            return Err(Refusal::Revoked);
        }
        if let Some(store) = &self.shared {
            match store.not_before(who.as_str()).await {
                Ok((principal, all)) => {
                    self.store_answered();
                    if is_revoked(principal, all, Some(issued_at)) {
                        return Err(Refusal::Revoked);
                    }
                }
                Err(error) => self.store_failed(&error)?,
            }
        }
        Ok(())
    }

    /// Before authenticating: seconds until `ip` may try again, if its failed-authentication
    /// budget is spent (as seen by this instance).
    pub fn ip_blocked(&self, ip: IpAddr) -> Option<RateOutcome> {
        let rate = self.config.rates.auth_failures?;
        let wait = self.memory.ip_blocked(ip)?;
        Some(RateOutcome::from_gcra(rate, 0, rate.window(), Some(wait)))
    }

    /// A failed authentication from `ip`: counted against its budget.
    pub async fn auth_failed(&self, ip: IpAddr) {
        let Some(rate) = self.config.rates.auth_failures else {
            return;
        };
        let Some(store) = &self.shared else {
            if self.memory.auth_failed(ip).is_some_and(|o| !o.admitted()) {
                self.counters
                    .rate_limited(RouteClass::AuthFailures.as_str());
            }
            return;
        };
        let key = format!("{}:{ip}", RouteClass::AuthFailures.as_str());
        match store.check(&key, Some(rate), 1, "-").await {
            Ok(Checked {
                rate: Some(outcome),
                ..
            }) => {
                self.store_answered();
                if let Some(secs) = outcome.retry_after_secs {
                    self.counters
                        .rate_limited(RouteClass::AuthFailures.as_str());
                    self.memory.block(ip, Duration::from_secs(secs));
                }
            }
            Ok(_) => self.store_answered(),
            Err(error) => {
                // Failures are counted locally while the store is away, whatever the mode.
                let _ = self.store_failed(&error);
                self.memory.auth_failed(ip);
            }
        }
    }

    fn quota_limit(&self, limit: u64) -> u64 {
        match &self.shared {
            Some(_) => (limit / u64::from(self.config.replicas.get())).max(1),
            None => limit,
        }
    }

    /// A grant under `profile` declaring `bytes` (uploads; `None` for downloads) that creates
    /// the multipart upload `opening`, if any: the `pending` admission of its request
    /// (revocation and class rate), the profile's rate, then the grant and byte quotas and the
    /// open uploads (`concurrent_multipart`), debited and opened all or none; with a shared
    /// store, one round trip for all of it. Answers the class rate's state for the
    /// `RateLimit` headers when an admission was pending and its class has a rate.
    pub async fn grant(
        &self,
        who: &NamespaceSegment,
        pending: Option<PendingAdmission>,
        profile: &str,
        bytes: Option<u64>,
        opening: Option<Opening<'_>>,
    ) -> Result<Option<RateOutcome>, Refusal> {
        if let Some(answer) = self.grant_now(who, pending, profile, bytes, opening) {
            return answer;
        }
        let Some(store) = &self.shared else {
            return Ok(None);
        };
        let profile_rate = self.config.profiles.get(profile).and_then(|p| p.grants);
        let debits = self.debits(profile, bytes);
        let sets = self.open_sets(profile, opening);
        if pending.is_none() && profile_rate.is_none() && debits.is_empty() && sets.is_empty() {
            return Ok(None);
        }
        let (window, resets_at) = window_of(Utc::now(), self.config.quota_window_secs.get());
        let call = GrantCall {
            segment: who.as_str(),
            admission: pending.map(|p| DeferredCall {
                class: p.class.as_str(),
                rate: self.config.rates.of(p.class),
                issued_at: p.issued_at,
            }),
            profile_rate: profile_rate.map(|rate| (profile, rate)),
            window,
            resets_at,
            debits: &debits,
            opening: opening.filter(|_| !sets.is_empty()).map(|o| OpenCall {
                now: Utc::now().timestamp(),
                member: o.key,
                expires: o.expires_at.timestamp(),
                sets: &sets,
            }),
        };
        match store.grant(&call).await {
            Ok(granted) => {
                self.store_answered();
                let class = pending.map_or("grants", |p| p.class.as_str());
                match granted {
                    Granted::Yes(outcome) => Ok(outcome),
                    Granted::Revoked => Err(Refusal::Revoked),
                    Granted::OverClassRate(outcome) => {
                        self.rate_refusal(class, outcome).map(|()| None)
                    }
                    Granted::OverProfileRate(outcome) => {
                        self.rate_refusal("grants", outcome).map(|()| None)
                    }
                    Granted::OverQuota(exceeded) => Err(self.quota_refusal(exceeded)),
                }
            }
            Err(error) => {
                let answer = self.store_failed(&error).and_then(|()| {
                    self.grant_in_memory_share(who, pending, profile, &debits, &sets, opening)
                });
                // Refused, the upload is not created: a place the store may have given it is
                // no one's. Admitted (`fail_open`), the upload exists and the place is its own.
                if answer.is_err()
                    && let Some(opened) = &call.opening
                {
                    self.release_unconfirmed(store, who, opened);
                }
                answer
            }
        }
    }

    /// [`Limiter::grant`] while the store is away under `fail_open`: this instance's share of
    /// the quotas and of the open uploads' limits.
    fn grant_in_memory_share(
        &self,
        who: &NamespaceSegment,
        pending: Option<PendingAdmission>,
        profile: &str,
        debits: &[Debit<'_>],
        sets: &[(Scope<'_>, u32)],
        opening: Option<Opening<'_>>,
    ) -> Result<Option<RateOutcome>, Refusal> {
        let shares = debits
            .iter()
            .map(|debit| Debit {
                limit: self.quota_limit(debit.limit),
                ..*debit
            })
            .collect();
        let sets: Vec<_> = sets
            .iter()
            .map(|&(scope, limit)| {
                let share = self.quota_limit(u64::from(limit));
                (scope, u32::try_from(share).unwrap_or(u32::MAX))
            })
            .collect();
        self.grant_in_memory(
            who,
            pending,
            profile,
            shares,
            opening.map(|o| (o, &sets[..])),
        )
    }

    /// After a grant that opens `member` failed at the store (an error or the timeout) and
    /// was then refused (`fail_closed`, or the `fail_open` fallback's own refusal): the store
    /// may have run its script all the same, and `member` would then hold a place in `sets`
    /// until its ticket expires, for an upload that does not exist. Sends the store its
    /// release, in a task of its own, on this thread's connection, so that it runs after the
    /// script if the script runs at all. The release removes `member` only where its score is
    /// still this create's expiry: places are known by object key, and another create of the
    /// same key (a retry, another instance) that the store ran in between holds a live
    /// upload's place, which stays. A create admitted by the `fail_open` fallback goes on:
    /// its place, if the script ran, is the right count and stays.
    ///
    /// The release is sent while the store is failing or slow: once written it runs when the
    /// store answers, whether or not its task still waits (for a few store timeouts). Its
    /// failure is logged at DEBUG, never counted as a store error: the grant's failure was
    /// counted and warned about already, and an outage would otherwise count two errors and
    /// log a warning per refused create.
    fn release_unconfirmed(
        &self,
        store: &RedisStore,
        who: &NamespaceSegment,
        opened: &OpenCall<'_>,
    ) {
        let scopes: Vec<String> = opened
            .sets
            .iter()
            .map(|(scope, _)| scope_key(QuotaKind::ConcurrentMultipart, scope, who))
            .collect();
        let failed = |error: StoreError| {
            tracing::debug!(%error, "the place of a refused create may still be held: it expires with its ticket");
        };
        match store.detached_release(opened.member, opened.expires, &scopes) {
            Ok(close) => {
                tokio::spawn(async move {
                    if let Err(error) = close.await {
                        failed(error);
                    }
                });
            }
            Err(error) => failed(error),
        }
    }

    /// [`Limiter::grant`]'s answer when it needs no round trip (no limits, or the memory
    /// store), without a future; `None` with a shared store (see [`Limiter::admit_now`]).
    pub fn grant_now(
        &self,
        who: &NamespaceSegment,
        pending: Option<PendingAdmission>,
        profile: &str,
        bytes: Option<u64>,
        opening: Option<Opening<'_>>,
    ) -> Option<Result<Option<RateOutcome>, Refusal>> {
        if !self.active {
            return Some(Ok(None));
        }
        if self.shared.is_some() {
            return None;
        }
        let debits = self.debits(profile, bytes);
        let sets = self.open_sets(profile, opening);
        let opening = opening.map(|o| (o, &sets[..]));
        Some(self.grant_in_memory(who, pending, profile, debits, opening))
    }

    /// [`Limiter::grant`] in this process: the memory store's, or the fallback of `fail_open`
    /// (whose rates, `debits` and the limits of the `opening`'s sets are this instance's
    /// share). The quotas and the open uploads are checked and changed in one critical
    /// section.
    fn grant_in_memory(
        &self,
        who: &NamespaceSegment,
        pending: Option<PendingAdmission>,
        profile: &str,
        debits: Debits<'_>,
        opening: Option<(Opening<'_>, &[(Scope<'_>, u32)])>,
    ) -> Result<Option<RateOutcome>, Refusal> {
        let admitted = match pending.and_then(|p| Some((p.class, self.memory.rate(who, p.class)?)))
        {
            Some((class, outcome)) => {
                self.rate_refusal(class.as_str(), outcome)?;
                Some(outcome)
            }
            None => None,
        };
        if let Some(outcome) = self.memory.profile_rate(who, profile) {
            self.rate_refusal("grants", outcome)?;
        }
        let opening = opening.filter(|(_, sets)| !sets.is_empty());
        if debits.is_empty() && opening.is_none() {
            return Ok(admitted);
        }
        let now = Utc::now();
        let (window, resets_at) = window_of(now, self.config.quota_window_secs.get());
        let debits: Vec<_> = debits
            .iter()
            .map(|d| (scope_key(d.kind, &d.scope, who), d.amount, d.limit, d.kind))
            .collect();
        let sets: Vec<(String, u32)> = opening.map_or_else(Vec::new, |(_, sets)| {
            sets.iter()
                .map(|(scope, limit)| {
                    (
                        scope_key(QuotaKind::ConcurrentMultipart, scope, who),
                        *limit,
                    )
                })
                .collect()
        });
        let opening = opening.map(|(o, _)| MemoryOpening {
            now: now.timestamp(),
            member: o.key,
            expires: o.expires_at.timestamp(),
            sets: &sets,
        });
        self.memory
            .debit(window, resets_at, &debits, opening.as_ref())
            .map_err(|exceeded| self.quota_refusal(exceeded))?;
        Ok(admitted)
    }

    /// The quota counters a grant of `who` under `profile` declaring `bytes` debits.
    fn debits<'a>(&self, profile: &'a str, bytes: Option<u64>) -> Debits<'a> {
        let mut debits = Vec::new();
        let scopes = [
            (Scope::Global, Some(&self.config.quotas)),
            (
                Scope::Profile(profile),
                self.config.profiles.get(profile).map(|p| &p.quotas),
            ),
        ];
        for (scope, quotas) in scopes {
            let Some(quotas) = quotas else { continue };
            if let Some(limit) = quotas.grants_per_day {
                debits.push(Debit {
                    kind: QuotaKind::Grants,
                    scope,
                    amount: 1,
                    limit,
                });
            }
            if let (Some(limit), Some(bytes)) = (quotas.bytes_per_day, bytes) {
                debits.push(Debit {
                    kind: QuotaKind::Bytes,
                    scope,
                    amount: bytes,
                    limit,
                });
            }
        }
        debits
    }

    /// A quota refusal (of a daily quota: with the configured window), counted.
    fn quota_refusal(&self, exceeded: QuotaExceeded) -> Refusal {
        let exceeded = match exceeded.kind {
            QuotaKind::ConcurrentMultipart => exceeded,
            QuotaKind::Bytes | QuotaKind::Grants => QuotaExceeded {
                window_secs: self.config.quota_window_secs.get(),
                ..exceeded
            },
        };
        self.counters.quota_exceeded(exceeded.kind.as_str());
        Refusal::QuotaExceeded(exceeded)
    }

    fn upload_scopes<'a>(&'a self, profile: &'a str) -> impl Iterator<Item = (Scope<'a>, u32)> {
        let global = self
            .config
            .quotas
            .concurrent_multipart
            .map(|l| (Scope::Global, l));
        let profile_limit = self
            .config
            .profiles
            .get(profile)
            .and_then(|p| p.quotas.concurrent_multipart)
            .map(|l| (Scope::Profile(profile), l));
        global.into_iter().chain(profile_limit)
    }

    /// The sets of open uploads (their scopes and limits) that `opening` enters under
    /// `profile`: none without an opening or a `concurrent_multipart` quota.
    fn open_sets<'a>(
        &'a self,
        profile: &'a str,
        opening: Option<Opening<'_>>,
    ) -> Vec<(Scope<'a>, u32)> {
        match opening {
            Some(_) => self.upload_scopes(profile).collect(),
            None => Vec::new(),
        }
    }

    /// Releases the upload of `who` to `key` (complete, abort, or a failed create). A store
    /// failure is logged: the slot expires with the ticket.
    pub async fn close_upload(&self, who: &NamespaceSegment, profile: &str, key: &str) {
        let scopes: Vec<String> = self
            .upload_scopes(profile)
            .map(|(scope, _)| scope_key(QuotaKind::ConcurrentMultipart, &scope, who))
            .collect();
        if scopes.is_empty() {
            return;
        }
        self.memory.close(key, &scopes);
        if let Some(store) = &self.shared {
            match store.close(key, &scopes).await {
                Ok(()) => self.store_answered(),
                Err(error) => {
                    let _ = self.store_failed(&error);
                }
            }
        }
    }

    /// Writes a revocation to the shared store (`s3-broker revoke`); `None` revokes
    /// everything.
    pub async fn revoke(
        &self,
        segment: Option<&NamespaceSegment>,
        at: DateTime<Utc>,
    ) -> Result<(), String> {
        let store = self
            .shared
            .as_ref()
            .ok_or("limits.store is \"memory\": use [revocation] file")?;
        store
            .revoke(segment.map(NamespaceSegment::as_str), at)
            .await
            .map_err(|e| e.to_string())
    }

    /// Whether the shared store answers now (pinged), for `/readyz`.
    pub async fn store_state(&self) -> StoreState {
        let Some(store) = &self.shared else {
            return StoreState::Memory;
        };
        match store.ping().await {
            Ok(()) => {
                self.store_answered();
                StoreState::Up
            }
            Err(error) => match self.store_failed(&error) {
                Ok(()) => StoreState::DownOpen,
                Err(_) => StoreState::DownClosed,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A limiter of the `[limits]` table `toml`, with three grants and 10 bytes a day and one
    /// open upload per principal.
    fn limiter(toml: &str) -> Limiter {
        let quotas = "[quotas]\ngrants_per_day = 3\nbytes_per_day = 10\nconcurrent_multipart = 1";
        let settings = toml::from_str::<LimitsConfig>(&format!("{toml}\n{quotas}\n"))
            .unwrap()
            .validate()
            .unwrap();
        Limiter::new(&settings, None, LimitCounters::detached()).unwrap()
    }

    /// Creates refused for the open upload debit no quota, and a create refused for a quota
    /// opens nothing: with `limits`' store, or its per-instance fallback.
    async fn creates_are_all_or_none(limits: &Limiter) {
        let alice = NamespaceSegment::for_subject(None, "alice");
        let expires_at = Utc::now() + chrono::Duration::hours(1);
        let create = async |key, bytes| {
            let opening = Opening { key, expires_at };
            let answer = limits.grant(&alice, None, "default", Some(bytes), Some(opening));
            match answer.await {
                Ok(_) => None,
                Err(Refusal::QuotaExceeded(exceeded)) => Some(exceeded.kind),
                Err(other) => panic!("{other:?}"),
            }
        };
        assert_eq!(create("a", 1).await, None);
        for _ in 0..3 {
            let refused = create("b", 1).await;
            assert_eq!(refused, Some(QuotaKind::ConcurrentMultipart));
        }
        limits.close_upload(&alice, "default", "a").await;
        // The second grant of three: the refusals debited none.
        assert_eq!(create("b", 1).await, None);
        limits.close_upload(&alice, "default", "b").await;
        assert_eq!(create("c", 100).await, Some(QuotaKind::Bytes));
        // The one place is free: "c" was not opened.
        assert_eq!(create("d", 1).await, None);
        assert_eq!(create("e", 1).await, Some(QuotaKind::Grants));
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn a_create_in_memory_is_all_or_none() {
        runtime().block_on(creates_are_all_or_none(&limiter("")));
    }

    #[test]
    fn a_create_in_the_fail_open_fallback_is_all_or_none() {
        runtime().block_on(async {
            // Nothing listens on port 1: every call fails and falls back to this instance.
            let limits = limiter(
                "store = \"redis://127.0.0.1:1/0\"\non_store_failure = \"fail_open\"\nreplicas = 1\nstore_timeout_ms = 200",
            );
            creates_are_all_or_none(&limits).await;
        });
    }
}
