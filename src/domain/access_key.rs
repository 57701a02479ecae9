//! AWS credentials as arguments to the signer (the core never reads them from anywhere).

use super::DomainError;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use std::fmt;

/// An access key id. It is public (it appears in every signed URL) but must not contain `/`,
/// which separates the parts of the credential scope.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AccessKeyId(String);

impl AccessKeyId {
    /// Validates an access key id: 1 to 128 visible ASCII characters other than `/`.
    pub fn new(id: impl Into<String>) -> Result<Self, DomainError> {
        let id = id.into();
        if id.is_empty() || id.len() > 128 {
            return Err(DomainError::Credentials(
                "access key id must be 1 to 128 characters",
            ));
        }
        if !id.bytes().all(|b| b.is_ascii_graphic() && b != b'/') {
            return Err(DomainError::Credentials(
                "access key id must be visible ASCII without '/'",
            ));
        }
        Ok(Self(id))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccessKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A secret access key. Its `Debug` output is redacted.
#[derive(Clone)]
pub struct SecretAccessKey(SecretString);

impl SecretAccessKey {
    /// Wraps a non-empty secret.
    pub fn new(secret: impl Into<String>) -> Result<Self, DomainError> {
        let secret = secret.into();
        if secret.is_empty() {
            return Err(DomainError::Credentials(
                "secret access key must not be empty",
            ));
        }
        Ok(Self(SecretString::from(secret)))
    }

    /// The secret, for key derivation only.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for SecretAccessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretAccessKey(<redacted>)")
    }
}

/// A session token of temporary credentials. Its `Debug` output is redacted.
#[derive(Clone)]
pub struct SessionToken(SecretString);

impl SessionToken {
    /// Wraps a non-empty token without whitespace or control characters.
    pub fn new(token: impl Into<String>) -> Result<Self, DomainError> {
        let token = token.into();
        if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(DomainError::Credentials(
                "session token must be non-empty visible ASCII",
            ));
        }
        Ok(Self(SecretString::from(token)))
    }

    /// The token, to place in a signed request.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionToken(<redacted>)")
    }
}

/// A set of credentials: key pair, optional session token and optional expiry.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The access key id.
    pub access_key_id: AccessKeyId,
    /// The secret access key.
    pub secret_access_key: SecretAccessKey,
    /// The session token of temporary credentials.
    pub session_token: Option<SessionToken>,
    /// When temporary credentials stop working; anything signed with them dies then too.
    pub expires_at: Option<DateTime<Utc>>,
}

impl Credentials {
    /// Long-term credentials without a session token or expiry.
    pub fn new(access_key_id: AccessKeyId, secret_access_key: SecretAccessKey) -> Self {
        Self {
            access_key_id,
            secret_access_key,
            session_token: None,
            expires_at: None,
        }
    }

    /// Validates raw strings into credentials (a convenience for configuration and tests).
    pub fn from_parts(
        access_key_id: &str,
        secret_access_key: &str,
        session_token: Option<&str>,
    ) -> Result<Self, DomainError> {
        Ok(Self {
            access_key_id: AccessKeyId::new(access_key_id)?,
            secret_access_key: SecretAccessKey::new(secret_access_key)?,
            session_token: session_token.map(SessionToken::new).transpose()?,
            expires_at: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_redacts_secrets() {
        let c = Credentials::from_parts("AKID", "topsecret", Some("tok3n")).unwrap();
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("topsecret") && !shown.contains("tok3n"),
            "{shown}"
        );
        assert!(shown.contains("AKID"));
    }

    #[test]
    fn validates_parts() {
        assert!(AccessKeyId::new("AK/ID").is_err());
        assert!(AccessKeyId::new("").is_err());
        assert!(SecretAccessKey::new("").is_err());
        assert!(SessionToken::new("a b").is_err());
    }
}
