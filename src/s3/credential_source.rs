//! Where the broker's own AWS credentials come from: static configuration, or the aws-config
//! default chain (environment, profile, web identity/IRSA, ECS, IMDS) with refresh.
//!
//! The SDK's IMDS provider may hand out credentials past their expiry, so expiry is checked
//! here, and a grant never outlives its credentials minus a margin: S3 refuses a presigned
//! request once the credentials that signed it have expired, whatever its `X-Amz-Expires`.

use crate::domain::{AccessKeyId, Credentials, SecretAccessKey, SessionToken};
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use chrono::{DateTime, Duration, Utc};
use std::sync::{Arc, RwLock};

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

/// Credentials plus when they were fetched.
#[derive(Debug, Clone)]
struct Fetched {
    credentials: Arc<Credentials>,
    fetched_at: DateTime<Utc>,
}

/// The broker's signing credentials, refreshed without restart.
pub struct CredentialSource {
    provider: SharedCredentialsProvider,
    current: RwLock<Option<Fetched>>,
    /// Grants end at least this long before the credentials do.
    margin: Duration,
    /// Credentials without an expiry are re-read this often (rotated keys in env or files).
    reload_every: Duration,
    /// Held by the one caller that is fetching new credentials.
    refresh: tokio::sync::Mutex<()>,
    /// When the provider was last asked, so usable credentials are not re-fetched on every
    /// request while the provider keeps returning the same ones.
    last_attempt: RwLock<Option<DateTime<Utc>>>,
}

/// The shortest interval between two fetches while cached credentials are still usable.
const RETRY_EVERY: Duration = Duration::seconds(30);

/// New credentials are fetched this long before the safety margin is reached.
pub const REFRESH_AHEAD: Duration = Duration::minutes(15);

impl CredentialSource {
    /// Fixed credentials from configuration.
    pub fn fixed(credentials: Credentials, margin: Duration) -> Self {
        let provider = super::static_provider(&credentials);
        Self {
            provider,
            current: RwLock::new(Some(Fetched {
                credentials: Arc::new(credentials),
                fetched_at: DateTime::<Utc>::MIN_UTC,
            })),
            margin,
            reload_every: Duration::MAX,
            refresh: tokio::sync::Mutex::new(()),
            last_attempt: RwLock::new(None),
        }
    }

    /// Credentials from an SDK provider (normally the default chain).
    pub fn from_provider(provider: SharedCredentialsProvider, margin: Duration) -> Self {
        Self {
            provider,
            current: RwLock::new(None),
            margin,
            reload_every: Duration::minutes(15),
            refresh: tokio::sync::Mutex::new(()),
            last_attempt: RwLock::new(None),
        }
    }

    /// The SDK provider, for the aws-sdk-s3 client.
    pub fn sdk_provider(&self) -> SharedCredentialsProvider {
        self.provider.clone()
    }

    /// The safety margin before expiry.
    pub fn margin(&self) -> Duration {
        self.margin
    }

    fn cached(&self) -> Option<Fetched> {
        self.current.read().ok().and_then(|guard| guard.clone())
    }

    /// Whether `fetched` can still sign: valid for longer than the margin.
    fn usable(&self, fetched: &Fetched, now: DateTime<Utc>) -> bool {
        fetched
            .credentials
            .expires_at
            .is_none_or(|end| end - self.margin > now)
    }

    /// Whether it is time to fetch new credentials: well before the margin (so grants keep
    /// their full lifetime), or periodically for credentials without an expiry.
    fn due(&self, fetched: &Fetched, now: DateTime<Utc>) -> bool {
        match fetched.credentials.expires_at {
            Some(end) => end - self.margin - REFRESH_AHEAD <= now,
            None => now - fetched.fetched_at >= self.reload_every,
        }
    }

    /// Credentials that stay valid for at least the margin after `now`. New ones are fetched
    /// [`REFRESH_AHEAD`] before the margin by one caller at a time; meanwhile, and when the
    /// provider fails, the cached ones are used for as long as they are usable.
    pub async fn current(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Arc<Credentials>, CredentialsUnavailable> {
        let cached = self.cached();
        let tried_recently = self
            .last_attempt
            .read()
            .ok()
            .and_then(|t| *t)
            .is_some_and(|t| now - t < RETRY_EVERY);
        if let Some(fetched) = &cached
            && (!self.due(fetched, now) || (tried_recently && self.usable(fetched, now)))
        {
            return Ok(Arc::clone(&fetched.credentials));
        }
        let _refreshing = match self.refresh.try_lock() {
            Ok(guard) => guard,
            // Another request is refreshing: use what we have if it can still sign.
            Err(_) => match &cached {
                Some(fetched) if self.usable(fetched, now) => {
                    return Ok(Arc::clone(&fetched.credentials));
                }
                _ => self.refresh.lock().await,
            },
        };
        // The refresh we waited for may have succeeded.
        if let Some(fetched) = self.cached()
            && !self.due(&fetched, now)
        {
            return Ok(fetched.credentials);
        }
        if let Ok(mut last) = self.last_attempt.write() {
            *last = Some(now);
        }
        let fetched = self
            .provider
            .provide_credentials()
            .await
            .map_err(|e| CredentialsUnavailable::Provider(e.to_string()))
            .and_then(|c| convert(&c).map_err(CredentialsUnavailable::Provider));
        match fetched {
            Ok(credentials) => {
                let credentials = Arc::new(credentials);
                if let Ok(mut slot) = self.current.write() {
                    *slot = Some(Fetched {
                        credentials: Arc::clone(&credentials),
                        fetched_at: now,
                    });
                }
                match credentials.expires_at {
                    Some(end) if end - self.margin <= now => {
                        Err(CredentialsUnavailable::Expiring(end))
                    }
                    _ => Ok(credentials),
                }
            }
            Err(err) => match self.cached() {
                Some(fetched) if self.usable(&fetched, now) => {
                    tracing::warn!(error = %err, "credential refresh failed; using cached credentials");
                    Ok(fetched.credentials)
                }
                _ => Err(err),
            },
        }
    }
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
mod tests {
    use super::*;

    fn temporary(expires_at: DateTime<Utc>) -> SharedCredentialsProvider {
        SharedCredentialsProvider::new(aws_credential_types::Credentials::new(
            "AKID",
            "secret",
            Some("token".into()),
            Some(expires_at.into()),
            "test",
        ))
    }

    #[tokio::test]
    async fn refuses_credentials_inside_the_margin() {
        let now: DateTime<Utc> = "2030-01-01T00:00:00Z".parse().unwrap();
        let source = CredentialSource::from_provider(
            temporary(now + Duration::minutes(4)),
            Duration::minutes(5),
        );
        assert!(matches!(
            source.current(now).await,
            Err(CredentialsUnavailable::Expiring(_))
        ));
        let source = CredentialSource::from_provider(
            temporary(now + Duration::minutes(60)),
            Duration::minutes(5),
        );
        let c = source.current(now).await.unwrap();
        assert_eq!(c.session_token.as_ref().unwrap().expose(), "token");
        // Cached: the same Arc comes back until the margin is reached.
        assert!(Arc::ptr_eq(
            &c,
            &source.current(now + Duration::minutes(30)).await.unwrap()
        ));
    }

    /// A provider that counts calls and fails after `ok_calls` successes.
    #[derive(Debug)]
    struct Counting {
        calls: Arc<std::sync::atomic::AtomicUsize>,
        ok_calls: usize,
        expires_at: DateTime<Utc>,
    }

    impl ProvideCredentials for Counting {
        fn provide_credentials<'a>(
            &'a self,
        ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            let n = self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let result = if n < self.ok_calls {
                Ok(aws_credential_types::Credentials::new(
                    format!("AKID{n}"),
                    "secret",
                    None,
                    Some(self.expires_at.into()),
                    "counting",
                ))
            } else {
                Err(
                    aws_credential_types::provider::error::CredentialsError::provider_error(
                        "issuer down",
                    ),
                )
            };
            aws_credential_types::provider::future::ProvideCredentials::ready(result)
        }
    }

    #[tokio::test]
    async fn refreshes_ahead_and_keeps_cached_credentials_when_the_provider_fails() {
        let now: DateTime<Utc> = "2030-01-01T00:00:00Z".parse().unwrap();
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counting = |calls: &Arc<std::sync::atomic::AtomicUsize>| {
            SharedCredentialsProvider::new(Counting {
                calls: Arc::clone(calls),
                ok_calls: 2,
                expires_at: now + Duration::minutes(60),
            })
        };
        let source = CredentialSource::from_provider(counting(&calls), Duration::minutes(5));
        let first = source.current(now).await.unwrap();
        assert_eq!(first.access_key_id.as_str(), "AKID0");
        source.current(now + Duration::minutes(30)).await.unwrap();
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
        // 41 minutes in, the refresh point (60 - 5 - 15) has passed: fetched again.
        let second = source.current(now + Duration::minutes(41)).await.unwrap();
        assert_eq!(second.access_key_id.as_str(), "AKID1");
        // Within 30 s of that fetch, due or not, the provider is left alone.
        source
            .current(now + Duration::minutes(41) + Duration::seconds(20))
            .await
            .unwrap();
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
        // The provider now fails; the cached credentials still sign until the margin...
        let later = now + Duration::minutes(41) + Duration::minutes(50);
        let third = CredentialSource::from_provider(counting(&calls), Duration::minutes(5));
        assert!(
            third.current(later).await.is_err(),
            "nothing cached: fail closed"
        );
        // ...and the first source keeps its cached AKID1 while usable.
        assert_eq!(
            source
                .current(now + Duration::minutes(50))
                .await
                .unwrap()
                .access_key_id
                .as_str(),
            "AKID1"
        );
        assert!(
            source.current(now + Duration::minutes(56)).await.is_err(),
            "inside the margin with a failing provider: refuse"
        );
    }
}
