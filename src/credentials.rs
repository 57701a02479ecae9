//! Where the broker's own AWS credentials come from: static configuration, or the aws-config
//! default chain (environment, profile, web identity/IRSA, ECS, IMDS) with refresh.
//!
//! The SDK's IMDS provider may hand out credentials past their expiry, so expiry is checked
//! here, and a grant never outlives its credentials minus a margin (DESIGN.md principle 6).

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
    static_only: bool,
}

impl CredentialSource {
    /// Fixed credentials from configuration.
    pub fn fixed(credentials: Credentials, margin: Duration) -> Self {
        let provider = crate::s3::static_provider(&credentials);
        Self {
            provider,
            current: RwLock::new(Some(Fetched {
                credentials: Arc::new(credentials),
                fetched_at: DateTime::<Utc>::MIN_UTC,
            })),
            margin,
            reload_every: Duration::MAX,
            static_only: true,
        }
    }

    /// Credentials from an SDK provider (normally the default chain).
    pub fn from_provider(provider: SharedCredentialsProvider, margin: Duration) -> Self {
        Self {
            provider,
            current: RwLock::new(None),
            margin,
            reload_every: Duration::minutes(15),
            static_only: false,
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

    fn fresh(&self, now: DateTime<Utc>) -> Option<Arc<Credentials>> {
        let guard = self.current.read().ok()?;
        let fetched = guard.as_ref()?;
        let usable = match fetched.credentials.expires_at {
            Some(end) => end - self.margin > now,
            None => self.static_only || now - fetched.fetched_at < self.reload_every,
        };
        usable.then(|| Arc::clone(&fetched.credentials))
    }

    /// Credentials that stay valid for at least the margin after `now`, fetching new ones
    /// when the cached ones are about to expire.
    pub async fn current(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Arc<Credentials>, CredentialsUnavailable> {
        if let Some(credentials) = self.fresh(now) {
            return Ok(credentials);
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
            Err(err) => {
                // Keep serving cached credentials that are still valid beyond the margin.
                let cached = self.current.read().ok().and_then(|g| g.clone());
                match cached {
                    Some(f)
                        if f.credentials
                            .expires_at
                            .is_none_or(|end| end - self.margin > now) =>
                    {
                        tracing::warn!(error = %err, "credential refresh failed; using cached credentials");
                        Ok(f.credentials)
                    }
                    _ => Err(err),
                }
            }
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
}
