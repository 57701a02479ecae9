//! Limit state in this process: GCRA rates with the `governor` crate (one keyed limiter per
//! route class and per profile with a rate), quota counters and open uploads in maps. Used as
//! the store of `store = "memory"`, and as the per-instance fallback of `fail_open`.

use super::quota::{QuotaExceeded, QuotaKind};
use super::rate::{Rate, RateOutcome};
use super::{RouteClass, Scope};
use crate::domain::NamespaceSegment;
use chrono::{DateTime, Utc};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

type Keyed<K> = RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock, StateInformationMiddleware>;

/// One GCRA limiter per key, with its rate.
struct KeyedRate<K: std::hash::Hash + Eq + Clone> {
    rate: Rate,
    limiter: Keyed<K>,
}

impl<K: std::hash::Hash + Eq + Clone> KeyedRate<K> {
    fn new(rate: Rate) -> Self {
        let quota = Quota::with_period(rate.interval())
            .unwrap_or_else(|| Quota::per_second(rate.requests))
            .allow_burst(rate.requests);
        Self {
            rate,
            limiter: RateLimiter::dashmap(quota).with_middleware::<StateInformationMiddleware>(),
        }
    }

    fn check(&self, key: &K) -> RateOutcome {
        match self.limiter.check_key(key) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                let used = self.rate.requests.get().saturating_sub(remaining);
                RateOutcome::from_gcra(self.rate, remaining, self.rate.interval() * used, None)
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                let full = wait + self.rate.interval() * (self.rate.requests.get() - 1);
                RateOutcome::from_gcra(self.rate, 0, full, Some(wait))
            }
        }
    }

    fn forget_idle(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

/// Open multipart uploads: per scope key, member → expiry (Unix seconds).
type OpenUploads = HashMap<String, HashMap<String, i64>>;

/// A multipart upload to open (`concurrent_multipart`): its member (the object key) in every
/// `(scope key, limit)` set, until `expires` (Unix seconds), as of `now`.
pub(crate) struct MemoryOpening<'a> {
    pub now: i64,
    pub member: &'a str,
    pub expires: i64,
    pub sets: &'a [(String, u32)],
}

impl MemoryOpening<'_> {
    /// Forgets the expired uploads of its sets; refused, with when the oldest open upload of
    /// the full set expires, when a set holds its limit and not this upload.
    fn check(&self, uploads: &mut OpenUploads) -> Result<(), QuotaExceeded> {
        for (key, limit) in self.sets {
            let open = uploads.entry(key.clone()).or_default();
            open.retain(|_, exp| *exp > self.now);
            if !open.contains_key(self.member) && open.len() >= *limit as usize {
                let oldest = open.values().min().copied().unwrap_or(self.now);
                return Err(QuotaExceeded {
                    kind: QuotaKind::ConcurrentMultipart,
                    limit: u64::from(*limit),
                    resets_at: DateTime::from_timestamp(oldest, 0).unwrap_or_default(),
                    window_secs: 0,
                });
            }
        }
        Ok(())
    }
}

/// The in-process store.
pub(crate) struct MemoryStore {
    classes: [Option<KeyedRate<NamespaceSegment>>; 4],
    auth_failures: Option<KeyedRate<IpAddr>>,
    /// Client addresses whose failure budget is spent, until when; `blocking` says whether
    /// the map may hold anything (so the hot path reads one atomic).
    blocked: Mutex<HashMap<IpAddr, Instant>>,
    blocking: AtomicBool,
    profiles: BTreeMap<String, KeyedRate<NamespaceSegment>>,
    /// Quota counters: key → (window index, amount used).
    counters: Mutex<HashMap<String, (i64, u64)>>,
    /// Open multipart uploads (taken after `counters` when both are).
    uploads: Mutex<OpenUploads>,
}

impl MemoryStore {
    /// A store enforcing `rates` (by class) and `profile_rates`.
    pub(crate) fn new(
        rates: impl Fn(RouteClass) -> Option<Rate>,
        profile_rates: impl IntoIterator<Item = (String, Rate)>,
    ) -> Self {
        let class = |c| rates(c).map(KeyedRate::new);
        Self {
            classes: [
                class(RouteClass::Grants),
                class(RouteClass::Listings),
                class(RouteClass::Multipart),
                class(RouteClass::Uppy),
            ],
            auth_failures: rates(RouteClass::AuthFailures).map(KeyedRate::new),
            blocked: Mutex::default(),
            blocking: AtomicBool::new(false),
            profiles: profile_rates
                .into_iter()
                .map(|(name, rate)| (name, KeyedRate::new(rate)))
                .collect(),
            counters: Mutex::default(),
            uploads: Mutex::default(),
        }
    }

    /// Counts one request of `class` by `who`; `None` when the class has no rate.
    pub(crate) fn rate(&self, who: &NamespaceSegment, class: RouteClass) -> Option<RateOutcome> {
        self.classes
            .get(class.index())?
            .as_ref()
            .map(|rate| rate.check(who))
    }

    /// Counts one grant under `profile` by `who`; `None` when the profile has no rate.
    pub(crate) fn profile_rate(
        &self,
        who: &NamespaceSegment,
        profile: &str,
    ) -> Option<RateOutcome> {
        self.profiles.get(profile).map(|rate| rate.check(who))
    }

    /// Whether `ip` spent its failed-authentication budget: seconds until it may try again.
    pub(crate) fn ip_blocked(&self, ip: IpAddr) -> Option<Duration> {
        if !self.blocking.load(Ordering::Relaxed) {
            return None;
        }
        let mut blocked = self.blocked.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        blocked.retain(|_, until| *until > now);
        self.blocking.store(!blocked.is_empty(), Ordering::Relaxed);
        blocked.get(&ip).map(|until| *until - now)
    }

    /// Counts one failed authentication from `ip`; a refusal blocks the address until it
    /// may try again.
    pub(crate) fn auth_failed(&self, ip: IpAddr) -> Option<RateOutcome> {
        let outcome = self.auth_failures.as_ref()?.check(&ip);
        if let Some(secs) = outcome.retry_after_secs {
            self.block(ip, Duration::from_secs(secs));
        }
        Some(outcome)
    }

    /// Blocks `ip` for `wait` (its budget is spent in the shared store).
    pub(crate) fn block(&self, ip: IpAddr, wait: Duration) {
        let mut blocked = self.blocked.lock().unwrap_or_else(PoisonError::into_inner);
        blocked.insert(ip, Instant::now() + wait);
        self.blocking.store(true, Ordering::Relaxed);
    }

    /// Debits every `(key, amount, limit, kind)` of window `window` and opens `opening`'s
    /// upload, all or none, in one critical section: a full set of open uploads debits
    /// nothing, a quota exceeded opens nothing.
    pub(crate) fn debit(
        &self,
        window: i64,
        resets_at: DateTime<Utc>,
        debits: &[(String, u64, u64, QuotaKind)],
        opening: Option<&MemoryOpening<'_>>,
    ) -> Result<(), QuotaExceeded> {
        let mut counters = self.counters.lock().unwrap_or_else(PoisonError::into_inner);
        counters.retain(|_, (w, _)| *w >= window);
        let used = |counters: &HashMap<String, (i64, u64)>, key: &str| {
            counters.get(key).map_or(0, |(_, used)| *used)
        };
        for (key, amount, limit, kind) in debits {
            if used(&counters, key).saturating_add(*amount) > *limit {
                return Err(QuotaExceeded {
                    kind: *kind,
                    limit: *limit,
                    resets_at,
                    window_secs: 0,
                });
            }
        }
        // Always after the counters' lock (the one order that takes both).
        let mut uploads = opening.map(|opening| {
            let uploads = self.uploads.lock().unwrap_or_else(PoisonError::into_inner);
            (opening, uploads)
        });
        if let Some((opening, uploads)) = &mut uploads {
            opening.check(uploads)?;
        }
        for (key, amount, _, _) in debits {
            let entry = counters.entry(key.clone()).or_insert((window, 0));
            entry.1 = entry.1.saturating_add(*amount);
        }
        if let Some((opening, uploads)) = &mut uploads {
            for (key, _) in opening.sets {
                uploads
                    .entry(key.clone())
                    .or_default()
                    .insert(opening.member.to_owned(), opening.expires);
            }
        }
        Ok(())
    }

    /// Releases `member` in every scope key.
    pub(crate) fn close(&self, member: &str, scopes: &[String]) {
        let mut uploads = self.uploads.lock().unwrap_or_else(PoisonError::into_inner);
        for key in scopes {
            if let Some(open) = uploads.get_mut(key) {
                open.remove(member);
            }
        }
    }

    /// Forgets idle keys (called every minute).
    pub(crate) fn forget_idle(&self) {
        self.classes
            .iter()
            .flatten()
            .for_each(KeyedRate::forget_idle);
        self.profiles.values().for_each(KeyedRate::forget_idle);
        if let Some(rate) = &self.auth_failures {
            rate.forget_idle();
        }
        let now = Utc::now().timestamp();
        let mut uploads = self.uploads.lock().unwrap_or_else(PoisonError::into_inner);
        uploads.retain(|_, open| {
            open.retain(|_, exp| *exp > now);
            !open.is_empty()
        });
    }
}

/// The key of a quota counter or upload set: the quota, its scope and the principal.
pub(crate) fn scope_key(kind: QuotaKind, scope: &Scope<'_>, who: &NamespaceSegment) -> String {
    scope_key_parts(kind, scope, who.as_str()).concat()
}

/// [`scope_key`] in parts (`kind:*:who` or `kind:p=name:who`; unused parts empty), for a
/// writer that joins them into its own buffer (the Redis store's command).
pub(crate) fn scope_key_parts<'a>(
    kind: QuotaKind,
    scope: &Scope<'a>,
    who: &'a str,
) -> [&'a str; 5] {
    match *scope {
        Scope::Global => [kind.as_str(), ":*:", who, "", ""],
        Scope::Profile(name) => [kind.as_str(), ":p=", name, ":", who],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(requests: u32, window_secs: u32) -> Rate {
        Rate::per(requests, window_secs)
    }

    #[test]
    fn a_principal_over_its_rate_is_refused_and_another_is_not() {
        let store = MemoryStore::new(|c| (c == RouteClass::Grants).then(|| rate(3, 60)), []);
        let alice = NamespaceSegment::for_subject(None, "alice");
        let bob = NamespaceSegment::for_subject(None, "bob");
        let remaining: Vec<u32> = (0..3)
            .map(|_| store.rate(&alice, RouteClass::Grants).unwrap().remaining)
            .collect();
        assert_eq!(remaining, [2, 1, 0]);
        let refused = store.rate(&alice, RouteClass::Grants).unwrap();
        assert!(!refused.admitted());
        assert!((19..=20).contains(&refused.retry_after_secs.unwrap()));
        assert!(store.rate(&bob, RouteClass::Grants).unwrap().admitted());
        assert!(store.rate(&alice, RouteClass::Listings).is_none());
    }

    #[test]
    fn failed_authentications_block_the_address() {
        let store = MemoryStore::new(|c| (c == RouteClass::AuthFailures).then(|| rate(2, 60)), []);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(store.ip_blocked(ip).is_none());
        store.auth_failed(ip);
        store.auth_failed(ip);
        assert!(store.ip_blocked(ip).is_none(), "budget spent, not exceeded");
        assert!(!store.auth_failed(ip).unwrap().admitted());
        assert!(store.ip_blocked(ip).is_some());
        assert!(store.ip_blocked("192.0.2.2".parse().unwrap()).is_none());
    }

    #[test]
    fn quotas_debit_all_or_nothing_and_reset_with_the_window() {
        let store = MemoryStore::new(|_| None, []);
        let end = DateTime::from_timestamp(100, 0).unwrap();
        let debits = |bytes| {
            [
                ("g".to_owned(), 1, 3, QuotaKind::Grants),
                ("b".to_owned(), bytes, 100, QuotaKind::Bytes),
            ]
        };
        store.debit(1, end, &debits(60), None).unwrap();
        let err = store.debit(1, end, &debits(60), None).unwrap_err();
        assert_eq!((err.kind, err.resets_at), (QuotaKind::Bytes, end));
        store.debit(1, end, &debits(40), None).unwrap();
        assert_eq!(
            store.debit(1, end, &debits(1), None).unwrap_err().kind,
            QuotaKind::Bytes
        );
        store.debit(1, end, &debits(0), None).unwrap();
        assert_eq!(
            store.debit(1, end, &debits(0), None).unwrap_err().kind,
            QuotaKind::Grants
        );
        store.debit(2, end, &debits(100), None).unwrap();
    }

    /// Opens `member` until `expires` in `sets` as of `now`, debiting `debits`.
    fn open(
        store: &MemoryStore,
        (now, member, expires): (i64, &str, i64),
        sets: &[(String, u32)],
        debits: &[(String, u64, u64, QuotaKind)],
    ) -> Result<(), QuotaExceeded> {
        let end = DateTime::from_timestamp(100, 0).unwrap();
        let opening = MemoryOpening {
            now,
            member,
            expires,
            sets,
        };
        store.debit(1, end, debits, Some(&opening))
    }

    #[test]
    fn open_uploads_are_released_and_expire() {
        let store = MemoryStore::new(|_| None, []);
        let scopes = [("u".to_owned(), 2)];
        open(&store, (0, "a", 100), &scopes, &[]).unwrap();
        open(&store, (0, "b", 50), &scopes, &[]).unwrap();
        open(&store, (0, "a", 100), &scopes, &[]).unwrap();
        let full = open(&store, (0, "c", 100), &scopes, &[]).unwrap_err();
        assert_eq!(full.resets_at.timestamp(), 50);
        store.close("a", &["u".to_owned()]);
        open(&store, (0, "c", 100), &scopes, &[]).unwrap();
        open(&store, (60, "d", 100), &scopes, &[]).unwrap();
    }

    #[test]
    fn a_full_set_of_open_uploads_debits_nothing() {
        let store = MemoryStore::new(|_| None, []);
        let sets = [("g".to_owned(), 5), ("p".to_owned(), 1)];
        let debits = [
            ("grants".to_owned(), 1, 2, QuotaKind::Grants),
            ("bytes".to_owned(), 10, 20, QuotaKind::Bytes),
        ];
        open(&store, (0, "a", 100), &sets, &debits).unwrap();
        for _ in 0..3 {
            let full = open(&store, (0, "b", 100), &sets, &debits).unwrap_err();
            assert_eq!((full.kind, full.limit), (QuotaKind::ConcurrentMultipart, 1));
        }
        // The refusals debited nothing: one grant and 10 bytes of 2 and 20 are left.
        store.close("a", &["g".to_owned(), "p".to_owned()]);
        open(&store, (0, "b", 100), &sets, &debits).unwrap();
        let over = open(&store, (0, "c", 100), &[], &debits).unwrap_err();
        assert_eq!(over.kind, QuotaKind::Grants);
    }

    #[test]
    fn an_exceeded_quota_opens_nothing() {
        let store = MemoryStore::new(|_| None, []);
        let sets = [("g".to_owned(), 5), ("p".to_owned(), 1)];
        let debits = [("bytes".to_owned(), 10, 15, QuotaKind::Bytes)];
        open(&store, (0, "a", 100), &[], &debits).unwrap();
        let over = open(&store, (0, "b", 100), &sets, &debits).unwrap_err();
        assert_eq!(over.kind, QuotaKind::Bytes);
        // Neither set holds "b": the one place of "p" is still free.
        open(&store, (0, "c", 100), &sets, &[]).unwrap();
        let full = open(&store, (0, "d", 100), &sets, &[]).unwrap_err();
        assert_eq!(full.kind, QuotaKind::ConcurrentMultipart);
    }

    #[test]
    fn quota_keys_keep_their_form() {
        // Counters live in the shared store across deploys: their keys must not change.
        let who = NamespaceSegment::for_subject(Some("https://issuer.example"), "alice");
        assert_eq!(
            scope_key(QuotaKind::Grants, &Scope::Global, &who),
            format!("grants_per_day:*:{who}")
        );
        assert_eq!(
            scope_key(QuotaKind::Bytes, &Scope::Profile("avatars"), &who),
            format!("bytes_per_day:p=avatars:{who}")
        );
    }
}
