//! Where the broker's own AWS credentials come from: static configuration, or the aws-config
//! default chain (environment, profile, web identity/IRSA, ECS, IMDS) with refresh.
//!
//! The SDK's IMDS provider may hand out credentials past their expiry, so expiry is checked
//! here, and a grant never outlives its credentials minus a margin: S3 refuses a presigned
//! request once the credentials that signed it have expired, whatever its `X-Amz-Expires`.
//!
//! Rules (the provider may be slow or down, and requests must not queue behind it):
//! - **single flight**: at most one provider call runs at a time; callers that need it wait for
//!   that call's outcome (bounded by [`PROVIDER_TIMEOUT`]) instead of each starting their own;
//! - **backoff**: a failed call (error, timeout, or credentials already inside the margin) is
//!   remembered for [`FIRST_BACKOFF`] after it ends, doubling with each consecutive failure up to
//!   [`MAX_BACKOFF`]; meanwhile callers without usable credentials fail at once with the
//!   remembered error, and the provider is left alone;
//! - **refresh ahead**: usable credentials are refreshed [`REFRESH_AHEAD`] before the margin in
//!   the background; they keep being served while that refresh runs or fails.

use crate::domain::{AccessKeyId, Credentials, SecretAccessKey, SessionToken};
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider, future};
use chrono::{DateTime, Duration, Utc};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::watch;

/// Why no usable credentials are available.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CredentialsUnavailable {
    /// The provider chain failed.
    #[error("the credential provider failed: {0}")]
    Provider(String),
    /// The only credentials known expire within the safety margin.
    #[error("the credentials expire at {0}, within the safety margin")]
    Expiring(DateTime<Utc>),
}

/// The longest one provider call may take before it counts as failed. The SDK's own providers
/// have shorter timeouts (IMDS: 1 s per attempt); this bounds any provider, and so bounds how
/// long a request waits for credentials.
pub const PROVIDER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// How long the first failure is remembered.
pub const FIRST_BACKOFF: Duration = Duration::seconds(2);

/// The longest a failure is remembered (after repeated failures: 2, 4, 8, 16, 30 s).
pub const MAX_BACKOFF: Duration = Duration::seconds(30);

/// The shortest interval between two fetches while cached credentials are still usable.
const RETRY_EVERY: Duration = Duration::seconds(30);

/// New credentials are fetched this long before the safety margin is reached.
pub const REFRESH_AHEAD: Duration = Duration::minutes(15);

/// The outcome of one provider call, shared by every caller that waited for it.
type Outcome = Result<Arc<Credentials>, CredentialsUnavailable>;

/// Credentials plus when they were fetched.
#[derive(Debug, Clone)]
struct Fetched {
    credentials: Arc<Credentials>,
    fetched_at: DateTime<Utc>,
}

/// A remembered failure.
#[derive(Debug, Clone)]
struct Failure {
    error: CredentialsUnavailable,
    /// No provider call before this instant.
    until: DateTime<Utc>,
    /// Consecutive failures so far (1 after the first).
    streak: u32,
}

#[derive(Debug, Default)]
struct State {
    cached: Option<Fetched>,
    /// When the provider was last asked, so usable credentials are not re-fetched on every
    /// request while the provider keeps returning the same ones.
    last_attempt: Option<DateTime<Utc>>,
    failure: Option<Failure>,
    /// The provider call in flight: its outcome arrives here.
    in_flight: Option<watch::Receiver<Option<Outcome>>>,
}

/// The broker's signing credentials, refreshed without restart. Cheap to clone: clones share
/// the cache, the single flight and the backoff.
#[derive(Debug, Clone)]
pub struct CredentialSource {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    provider: SharedCredentialsProvider,
    /// Grants end at least this long before the credentials do.
    margin: Duration,
    /// Credentials without an expiry are re-read this often (rotated keys in env or files).
    reload_every: Duration,
    /// The bound of one provider call.
    timeout: std::time::Duration,
    state: Mutex<State>,
}

/// What [`CredentialSource::current`] decided under the lock.
enum Next {
    Ready(Outcome),
    Wait(watch::Receiver<Option<Outcome>>),
}

/// The backoff after `streak` consecutive failures: 2 s doubling, at most 30 s.
fn backoff(streak: u32) -> Duration {
    let factor = 1_i32 << streak.saturating_sub(1).min(8);
    (FIRST_BACKOFF * factor).min(MAX_BACKOFF)
}

impl CredentialSource {
    fn build(
        provider: SharedCredentialsProvider,
        margin: Duration,
        reload_every: Duration,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                provider,
                margin,
                reload_every,
                timeout: PROVIDER_TIMEOUT,
                state: Mutex::new(State::default()),
            }),
        }
    }

    /// Fixed credentials from configuration.
    pub fn fixed(credentials: Credentials, margin: Duration) -> Self {
        let source = Self::build(super::static_provider(&credentials), margin, Duration::MAX);
        source.inner.lock().cached = Some(Fetched {
            credentials: Arc::new(credentials),
            fetched_at: DateTime::<Utc>::MIN_UTC,
        });
        source
    }

    /// Credentials from an SDK provider (normally the default chain).
    pub fn from_provider(provider: SharedCredentialsProvider, margin: Duration) -> Self {
        Self::build(provider, margin, Duration::minutes(15))
    }

    /// This source as an SDK provider, for the aws-sdk-s3 client: the S3 calls draw the same
    /// credentials as grants, under the same margin, single flight and backoff.
    pub fn sdk_provider(&self) -> SharedCredentialsProvider {
        SharedCredentialsProvider::new(self.clone())
    }

    /// The safety margin before expiry.
    pub fn margin(&self) -> Duration {
        self.inner.margin
    }

    /// Credentials that stay valid for at least the margin after `now`.
    ///
    /// Usable cached credentials answer at once (a refresh that is due starts in the
    /// background). Otherwise the caller waits for the one provider call in flight, starting
    /// it if none is and no failure is being remembered; during a backoff it gets the
    /// remembered error at once.
    pub async fn current(&self, now: DateTime<Utc>) -> Outcome {
        let next = {
            let mut state = self.inner.lock();
            self.decide(&mut state, now)
        };
        match next {
            Next::Ready(outcome) => outcome,
            Next::Wait(mut outcome) => {
                // Ends when the call does: it is bounded by the provider timeout.
                let _ = outcome.wait_for(Option::is_some).await;
                let answer = outcome.borrow().clone();
                match answer {
                    Some(answer) => answer.and_then(|c| self.inner.check(c, now)),
                    None => {
                        // The call's task ended without an outcome.
                        forget(&self.inner, &outcome);
                        Err(CredentialsUnavailable::Provider(
                            "the credential refresh stopped".into(),
                        ))
                    }
                }
            }
        }
    }

    fn decide(&self, state: &mut State, now: DateTime<Utc>) -> Next {
        let backing_off = state.failure.as_ref().filter(|f| now < f.until);
        if let Some(fetched) = state.cached.as_ref().filter(|f| self.inner.usable(f, now)) {
            let credentials = Arc::clone(&fetched.credentials);
            let tried_recently = state.last_attempt.is_some_and(|t| now - t < RETRY_EVERY);
            if self.inner.due(fetched, now)
                && !tried_recently
                && backing_off.is_none()
                && state.in_flight.is_none()
            {
                // Refresh ahead; whoever asks meanwhile keeps the cached credentials.
                self.start(state, now);
            }
            return Next::Ready(Ok(credentials));
        }
        if let Some(in_flight) = &state.in_flight {
            return Next::Wait(in_flight.clone());
        }
        if let Some(failure) = backing_off {
            return Next::Ready(Err(failure.error.clone()));
        }
        Next::Wait(self.start(state, now))
    }

    /// Starts the one provider call, on its own task so that a caller that goes away does not
    /// cancel it for the others.
    fn start(&self, state: &mut State, now: DateTime<Utc>) -> watch::Receiver<Option<Outcome>> {
        let (sender, receiver) = watch::channel(None);
        state.in_flight = Some(receiver.clone());
        state.last_attempt = Some(now);
        let inner = Arc::clone(&self.inner);
        let guard = InFlight {
            inner: Arc::clone(&self.inner),
            receiver: receiver.clone(),
        };
        tokio::spawn(async move {
            let _guard = guard;
            let outcome = inner.fetch(now).await;
            let _ = sender.send(Some(outcome));
        });
        receiver
    }

    /// Waits for the provider call in flight, if any.
    #[cfg(test)]
    async fn settle(&self) {
        let in_flight = self.inner.lock().in_flight.clone();
        if let Some(mut outcome) = in_flight {
            let _ = outcome.wait_for(Option::is_some).await;
        }
    }
}

/// Forgets the call in flight if its task ends without recording an outcome (a provider that
/// panicked, a runtime shutting down), so that the next caller starts a new one.
struct InFlight {
    inner: Arc<Inner>,
    receiver: watch::Receiver<Option<Outcome>>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        forget(&self.inner, &self.receiver);
    }
}

/// Clears the call in flight if it is still the one of `receiver`.
fn forget(inner: &Inner, receiver: &watch::Receiver<Option<Outcome>>) {
    let mut state = inner.lock();
    if state
        .in_flight
        .as_ref()
        .is_some_and(|current| current.same_channel(receiver))
    {
        state.in_flight = None;
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `fetched` can still sign: valid for longer than the margin.
    fn usable(&self, fetched: &Fetched, now: DateTime<Utc>) -> bool {
        fetched
            .credentials
            .expires_at
            .is_none_or(|end| end - self.margin > now)
    }

    /// `credentials` if they can still sign at `now`.
    fn check(&self, credentials: Arc<Credentials>, now: DateTime<Utc>) -> Outcome {
        match credentials.expires_at {
            Some(end) if end - self.margin <= now => Err(CredentialsUnavailable::Expiring(end)),
            _ => Ok(credentials),
        }
    }

    /// Whether it is time to fetch new credentials: well before the margin (so grants keep
    /// their full lifetime), or periodically for credentials without an expiry.
    fn due(&self, fetched: &Fetched, now: DateTime<Utc>) -> bool {
        match fetched.credentials.expires_at {
            Some(end) => end - self.margin - REFRESH_AHEAD <= now,
            None => now - fetched.fetched_at >= self.reload_every,
        }
    }

    /// One provider call, bounded by the timeout; records its outcome (and a failure's backoff)
    /// before anyone waiting sees it.
    async fn fetch(&self, now: DateTime<Utc>) -> Outcome {
        let started = tokio::time::Instant::now();
        let answer = tokio::time::timeout(self.timeout, self.provider.provide_credentials()).await;
        // The backoff runs from the failure, not from the start of the call.
        let failed_at = now + Duration::from_std(started.elapsed()).unwrap_or_default();
        let fetched = match answer {
            Ok(Ok(credentials)) => convert(&credentials).map_err(CredentialsUnavailable::Provider),
            Ok(Err(err)) => Err(CredentialsUnavailable::Provider(err.to_string())),
            Err(_) => Err(CredentialsUnavailable::Provider(format!(
                "no answer within {} s",
                self.timeout.as_secs()
            ))),
        };
        let mut state = self.lock();
        state.in_flight = None;
        let outcome = fetched.and_then(|credentials| {
            let credentials = Arc::new(credentials);
            let fetched = Fetched {
                credentials: Arc::clone(&credentials),
                fetched_at: now,
            };
            // Never replace usable credentials by unusable ones.
            if self.usable(&fetched, now)
                || !state.cached.as_ref().is_some_and(|c| self.usable(c, now))
            {
                state.cached = Some(fetched);
            }
            self.check(credentials, now)
        });
        match &outcome {
            Ok(_) => {
                if state.failure.take().is_some() {
                    drop(state);
                    tracing::info!("the credential provider answers again");
                }
            }
            Err(error) => {
                let streak = state.failure.as_ref().map_or(0, |f| f.streak) + 1;
                let wait = backoff(streak);
                state.failure = Some(Failure {
                    error: error.clone(),
                    until: failed_at + wait,
                    streak,
                });
                drop(state);
                tracing::warn!(
                    %error,
                    retry_in_secs = wait.num_seconds(),
                    failures = streak,
                    "no usable credentials from the provider; not asking again until the retry"
                );
            }
        }
        outcome
    }
}

/// The S3 client asks here, so its calls get the same credentials as grants.
impl ProvideCredentials for CredentialSource {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            let credentials = self
                .current(Utc::now())
                .await
                .map_err(CredentialsError::provider_error)?;
            Ok(sdk_credentials(&credentials))
        })
    }
}

/// Domain credentials as SDK credentials.
pub(super) fn sdk_credentials(credentials: &Credentials) -> aws_credential_types::Credentials {
    aws_credential_types::Credentials::new(
        credentials.access_key_id.as_str(),
        credentials.secret_access_key.expose(),
        credentials
            .session_token
            .as_ref()
            .map(|t| t.expose().to_owned()),
        credentials.expires_at.map(std::time::SystemTime::from),
        "s3-broker",
    )
}

fn convert(c: &aws_credential_types::Credentials) -> Result<Credentials, String> {
    Ok(Credentials {
        access_key_id: AccessKeyId::new(c.access_key_id()).map_err(|e| e.to_string())?,
        secret_access_key: SecretAccessKey::new(c.secret_access_key())
            .map_err(|e| e.to_string())?,
        session_token: c
            .session_token()
            .map(SessionToken::new)
            .transpose()
            .map_err(|e| e.to_string())?,
        expires_at: c.expiry().map(DateTime::<Utc>::from),
    })
}

#[cfg(test)]
mod tests;
