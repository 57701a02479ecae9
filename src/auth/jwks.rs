//! The JWK Set cache ([RFC 7517 §5](https://www.rfc-editor.org/rfc/rfc7517#section-5)): keys
//! fetched from the configured URL only, cached by `kid`, refreshed periodically in the
//! background, refetched on an unknown `kid` at a bounded rate, and kept while the issuer is down.
//!
//! Rules:
//! - the URL comes from configuration; `jku`/`x5u` headers of tokens are never followed
//!   ([RFC 8725 §3.10](https://www.rfc-editor.org/rfc/rfc8725#section-3.10));
//! - fetches are single-flight: at most one runs at a time, and a caller that waited for one
//!   takes its outcome instead of fetching again;
//! - fetches start at least `jwks_min_refetch_secs` apart, whatever the traffic: a flood of
//!   tokens with random `kid`s costs at most one fetch per interval. The interval is judged at
//!   the moment a fetch would start, never earlier than the real clock: a caller's `now` is
//!   taken when its request arrived and may be older than the last fetch, which is not the
//!   clock going backwards;
//! - a failed fetch, or an answer that is not a JWK Set, keeps the cached keys; a valid JWK Set
//!   replaces them (so keys the issuer removed stop verifying);
//! - with no successful fetch ever, there are no keys and tokens are refused (fail closed).
//!
//! Time comes in as the caller's `now`, so tests can step it forward without sleeping.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use jsonwebtoken::Algorithm;
use jsonwebtoken::jwk::Jwk;

use super::keys::{KeySet, VerificationKey};
use super::validate::JwksSettings;

/// The largest JWK Set document accepted, in bytes.
pub const MAX_JWKS_BYTES: usize = 256 * 1024;

/// The most keys taken from one JWK Set.
pub const MAX_JWKS_KEYS: usize = 64;

/// Why a JWKS fetch failed. Messages carry the configured URL at most, never a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwksError {
    /// The request failed (connection refused, timeout, TLS).
    #[error("JWKS request failed: {0}")]
    Request(String),
    /// The server answered with a status other than 200.
    #[error("JWKS server answered HTTP {0}")]
    Status(u16),
    /// The document is larger than [`MAX_JWKS_BYTES`].
    #[error("JWKS document larger than {MAX_JWKS_BYTES} bytes")]
    TooLarge,
    /// The document is not a JWK Set (a JSON object with a `keys` array).
    #[error("not a JWK Set: {0}")]
    NotAJwkSet(String),
    /// A fetch was not attempted: the last one was less than `jwks_min_refetch_secs` ago.
    #[error("JWKS fetched too recently")]
    RateLimited,
}

/// Counters of the cache, for metrics and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JwksStats {
    /// Fetches attempted (successful or not).
    pub fetches: u64,
    /// Fetches that failed.
    pub failures: u64,
    /// Keys currently cached.
    pub keys: usize,
    /// When the keys were last fetched successfully.
    pub last_success: Option<DateTime<Utc>>,
}

/// A shared, cheaply cloneable JWKS cache.
#[derive(Debug, Clone)]
pub struct JwksCache {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    settings: JwksSettings,
    pinned: Vec<Algorithm>,
    client: reqwest::Client,
    state: RwLock<State>,
    /// Held for the whole of a fetch: one fetch at a time.
    fetch_lock: tokio::sync::Mutex<()>,
    fetches: AtomicU64,
    failures: AtomicU64,
}

#[derive(Debug, Default)]
struct State {
    keys: Arc<KeySet>,
    fetched_at: Option<DateTime<Utc>>,
    last_attempt: Option<DateTime<Utc>>,
    /// Fetches finished so far, and the outcome of the last one: a caller that waited while
    /// a fetch ran takes that outcome.
    finished: u64,
    last_outcome: Option<Result<usize, JwksError>>,
}

impl JwksCache {
    /// A cache for `settings.url`; nothing is fetched until first needed (or [`Self::refresh`]).
    pub(crate) fn new(settings: JwksSettings, pinned: Vec<Algorithm>) -> Result<Self, JwksError> {
        let mut builder = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("s3-broker/", env!("CARGO_PKG_VERSION")));
        if settings.url.scheme() == "https" {
            builder = builder.https_only(true);
        } else {
            // Plain http is only allowed to loopback (checked in config): no proxy in between.
            builder = builder.no_proxy();
        }
        let client = builder
            .build()
            .map_err(|e| JwksError::Request(e.to_string()))?;
        Ok(Self {
            inner: Arc::new(Inner {
                settings,
                pinned,
                client,
                state: RwLock::new(State::default()),
                fetch_lock: tokio::sync::Mutex::new(()),
                fetches: AtomicU64::new(0),
                failures: AtomicU64::new(0),
            }),
        })
    }

    /// The configured URL.
    pub fn url(&self) -> &str {
        self.inner.settings.url.as_str()
    }

    /// Fetch counters and cache size.
    pub fn stats(&self) -> JwksStats {
        let state = self.inner.read();
        JwksStats {
            fetches: self.inner.fetches.load(Ordering::Relaxed),
            failures: self.inner.failures.load(Ordering::Relaxed),
            keys: state.keys.len(),
            last_success: state.fetched_at,
        }
    }

    /// Fetches now unless the last fetch is more recent than `jwks_min_refetch_secs`; returns
    /// the number of usable keys. Call it at startup to warm the cache.
    pub async fn refresh(&self, now: DateTime<Utc>) -> Result<usize, JwksError> {
        self.inner.fetch_if_allowed(now).await
    }

    /// The current keys for verification: fetched first if the cache was never filled (rate
    /// permitting; a fetch already in flight is waited for), and refreshed in the background
    /// when older than `jwks_refresh_secs`.
    pub(crate) async fn current(&self, now: DateTime<Utc>) -> Arc<KeySet> {
        let (fetched_at, allowed) = {
            let state = self.inner.read();
            (state.fetched_at, self.inner.allowed(&state, now))
        };
        match fetched_at {
            None => {
                let _ = self.inner.fetch_if_allowed(now).await;
            }
            Some(at) if allowed && elapsed(at, now) >= self.inner.settings.refresh => {
                self.refresh_in_background(now);
            }
            Some(_) => {}
        }
        self.inner.read().keys.clone()
    }

    /// Refetches because a token named a `kid` the cache does not hold, unless a fetch happened
    /// less than `jwks_min_refetch_secs` ago (a fetch in flight is waited for, since it may
    /// bring that `kid`). Returns the keys after the attempt.
    pub(crate) async fn refetch_for_unknown_kid(&self, now: DateTime<Utc>) -> Arc<KeySet> {
        let _ = self.inner.fetch_if_allowed(now).await;
        self.inner.read().keys.clone()
    }

    /// Whether keys were ever fetched successfully.
    pub(crate) fn is_warm(&self) -> bool {
        self.inner.read().fetched_at.is_some()
    }

    /// Spawns a refresh on the current Tokio runtime; requests keep the cached keys meanwhile.
    fn refresh_in_background(&self, now: DateTime<Utc>) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let inner = self.inner.clone();
        runtime.spawn(async move {
            let _ = inner.fetch_if_allowed(now).await;
        });
    }
}

/// `now - since`, zero if the clock went backwards.
fn elapsed(since: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
    (now - since).to_std().unwrap_or(Duration::ZERO)
}

impl Inner {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether a fetch may start at `now`. A clock that went back by more than the interval
    /// allows one fetch (and the new attempt time then rules the next ones); a smaller step
    /// back waits, as a stale `now` would.
    fn allowed(&self, state: &State, now: DateTime<Utc>) -> bool {
        match state.last_attempt {
            None => true,
            Some(last) if now < last => elapsed(now, last) >= self.settings.min_refetch,
            Some(last) => elapsed(last, now) >= self.settings.min_refetch,
        }
    }

    async fn fetch_if_allowed(&self, now: DateTime<Utc>) -> Result<usize, JwksError> {
        let seen = self.read().finished;
        let _one_at_a_time = self.fetch_lock.lock().await;
        // The caller's `now` dates from its request; the interval is judged no earlier than
        // the real clock.
        let started = now.max(Utc::now());
        {
            let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
            if state.finished != seen {
                // A fetch ran while this caller waited: single flight, take its outcome.
                return state
                    .last_outcome
                    .clone()
                    .unwrap_or(Err(JwksError::RateLimited));
            }
            if !self.allowed(&state, started) {
                return Err(JwksError::RateLimited);
            }
            state.last_attempt = Some(started);
        }
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let outcome = self.fetch_and_store(now).await;
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        state.finished += 1;
        state.last_outcome = Some(outcome.clone());
        outcome
    }

    async fn fetch_and_store(&self, now: DateTime<Utc>) -> Result<usize, JwksError> {
        match self.fetch().await {
            Ok(keys) => {
                let count = keys.len();
                let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
                state.keys = Arc::new(keys);
                state.fetched_at = Some(now);
                drop(state);
                tracing::info!(url = %self.settings.url, keys = count, "JWKS fetched");
                if count == 0 {
                    tracing::warn!(url = %self.settings.url, "JWKS holds no usable key");
                }
                Ok(count)
            }
            Err(error) => {
                self.failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(url = %self.settings.url, %error, "JWKS fetch failed; keeping cached keys");
                Err(error)
            }
        }
    }

    async fn fetch(&self) -> Result<KeySet, JwksError> {
        let mut response = self
            .client
            .get(self.settings.url.clone())
            .header(
                reqwest::header::ACCEPT,
                "application/jwk-set+json, application/json",
            )
            .send()
            .await
            .map_err(|e| JwksError::Request(e.without_url().to_string()))?;
        if response.status() != reqwest::StatusCode::OK {
            return Err(JwksError::Status(response.status().as_u16()));
        }
        if response
            .content_length()
            .is_some_and(|len| len > MAX_JWKS_BYTES as u64)
        {
            return Err(JwksError::TooLarge);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| JwksError::Request(e.without_url().to_string()))?
        {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return Err(JwksError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        parse_jwk_set(&body, &self.pinned)
    }
}

/// Parses a JWK Set document, keeping the keys usable with the pinned algorithms. Keys of
/// unknown types or for other uses are skipped one by one, not fatal to the whole set.
pub(crate) fn parse_jwk_set(body: &[u8], pinned: &[Algorithm]) -> Result<KeySet, JwksError> {
    #[derive(serde::Deserialize)]
    struct Document {
        keys: Vec<serde_json::Value>,
    }
    let document: Document =
        serde_json::from_slice(body).map_err(|e| JwksError::NotAJwkSet(e.to_string()))?;
    let mut keys = Vec::new();
    for (i, value) in document.keys.into_iter().take(MAX_JWKS_KEYS).enumerate() {
        let parsed = serde_json::from_value::<Jwk>(value)
            .map_err(|_| "unsupported key type")
            .and_then(|jwk| VerificationKey::from_jwk(&jwk, pinned));
        match parsed {
            Ok(key) => keys.push(key),
            Err(reason) => tracing::debug!(index = i, reason, "JWKS key skipped"),
        }
    }
    Ok(KeySet::new(keys))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwk_sets_keep_usable_keys_only() {
        let body = serde_json::json!({"keys": [
            {"kty":"EC","crv":"P-256","kid":"ec",
             "x":"2HLB7QQoWxGTGUTx5qnhHsFoSDK9eoZ5fuGVGPLmFGc",
             "y":"6X4z-K-68tiUyxcZlvEmC1cEDmuB5NfesUxZWd1kZIQ"},
            {"kty":"oct","k":"c2VjcmV0","kid":"sym"},
            {"kty":"weird"},
            {"kty":"RSA","n":"AQAB","e":"AQAB","use":"enc","kid":"enc"}
        ]});
        let set = parse_jwk_set(body.to_string().as_bytes(), &[Algorithm::ES256]).expect("a set");
        assert_eq!(set.len(), 1);
        assert_eq!(set.with_kid(Algorithm::ES256, "ec").count(), 1);
    }

    #[test]
    fn documents_without_keys_are_not_jwk_sets() {
        for body in [&b"{}"[..], b"[]", b"not json", b"{\"keys\": 3}"] {
            assert!(matches!(
                parse_jwk_set(body, &[Algorithm::ES256]),
                Err(JwksError::NotAJwkSet(_))
            ));
        }
    }
}
