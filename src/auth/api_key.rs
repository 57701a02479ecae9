//! API keys: configured as SHA-256 digests, compared in constant time, never logged.
//!
//! API keys are long random strings, so a single SHA-256 is enough to make the stored digest
//! useless to a reader of the configuration; a slow password hash would only cost latency. The
//! HTTP layer accepts them in the [`API_KEY_HEADER`] header only, never in a query string.

use sha2::{Digest, Sha256};
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

use crate::domain::{Principal, Scope, Scopes};

use super::config::ApiKeyConfig;
use super::error::AuthError;

/// The one header that carries an API key (lower case, as HTTP/2 sends it).
pub const API_KEY_HEADER: &str = "x-api-key";

/// The longest API key accepted, in bytes; longer ones are refused without hashing.
pub const MAX_API_KEY_LEN: usize = 512;

/// One configured API key.
#[derive(Debug, Clone)]
pub(crate) struct ApiKeyEntry {
    /// SHA-256 of the key.
    pub digest: [u8; 32],
    /// The principal the key authenticates: its configured name, scopes and `issued_at`
    /// (Unix seconds), and its namespace segment, worked out once here rather than per
    /// request.
    pub principal: Principal,
    /// Whether the key has been revoked.
    pub revoked: bool,
}

impl ApiKeyEntry {
    /// Validates one `[[auth.api_keys]]` entry; on error, the field and the problem.
    pub(crate) fn from_config(config: &ApiKeyConfig) -> Result<Self, (&'static str, String)> {
        let mut digest = [0u8; 32];
        hex::decode_to_slice(config.sha256.trim(), &mut digest).map_err(|_| {
            (
                "sha256",
                "expected 64 hex digits (the SHA-256 of the key, e.g. from sha256sum)".to_owned(),
            )
        })?;
        if config.principal.trim().is_empty() {
            return Err(("principal", "must not be empty".to_owned()));
        }
        let mut scopes = Scopes::NONE;
        for name in &config.scopes {
            let scope: Scope = name.parse().map_err(|e| ("scopes", e))?;
            scopes = scopes.with(scope);
        }
        let mut principal = Principal::api_key(config.principal.clone(), scopes);
        principal.issued_at = config.issued_at.map(|t| t.timestamp());
        Ok(Self {
            digest,
            principal,
            revoked: config.revoked,
        })
    }
}

/// The configured API keys.
#[derive(Debug, Clone, Default)]
pub(crate) struct ApiKeys {
    entries: Vec<ApiKeyEntry>,
}

impl ApiKeys {
    /// A store of `entries`.
    pub(super) fn new(entries: Vec<ApiKeyEntry>) -> Self {
        Self { entries }
    }

    /// The principal of `key`. Every configured digest is compared, in constant time, so the
    /// answer time does not depend on which entry (if any) matched.
    pub(super) fn authenticate(&self, key: &str) -> Result<Principal, AuthError> {
        if key.is_empty() || key.len() > MAX_API_KEY_LEN {
            return Err(AuthError::InvalidApiKey);
        }
        let digest: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        let mut matched = Choice::from(0);
        let mut index = 0u64;
        for (i, entry) in self.entries.iter().enumerate() {
            let same = entry.digest.ct_eq(&digest);
            index.conditional_assign(&(i as u64), same);
            matched |= same;
        }
        let found = bool::from(matched)
            .then(|| usize::try_from(index).ok())
            .flatten()
            .and_then(|i| self.entries.get(i));
        match found {
            Some(entry) if !entry.revoked => Ok(entry.principal.clone()),
            Some(entry) => {
                // The problem code the HTTP layer answers (`Code::InvalidApiKey`).
                tracing::warn!(
                    code = "invalid_api_key",
                    principal = %entry.principal.subject,
                    "revoked API key presented"
                );
                Err(AuthError::InvalidApiKey)
            }
            None => {
                tracing::debug!("unknown API key presented");
                Err(AuthError::InvalidApiKey)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(key: &str, revoked: bool) -> ApiKeyConfig {
        ApiKeyConfig {
            sha256: hex::encode(Sha256::digest(key.as_bytes())),
            principal: "backup".into(),
            scopes: vec!["upload".into(), "list".into()],
            revoked,
            issued_at: None,
        }
    }

    #[test]
    fn known_keys_authenticate() {
        let keys = ApiKeys::new(vec![
            ApiKeyEntry::from_config(&config("good-key", false)).expect("valid"),
        ]);
        let principal = keys.authenticate("good-key").expect("accepted");
        assert_eq!(&*principal.subject, "backup");
        assert_eq!(principal.issuer, None);
        assert!(principal.may(Scope::Upload) && principal.may(Scope::List));
        assert!(!principal.may(Scope::Download));
        for bad in ["", "good-key ", "other", &"k".repeat(MAX_API_KEY_LEN + 1)] {
            assert_eq!(keys.authenticate(bad), Err(AuthError::InvalidApiKey));
        }
    }

    #[test]
    fn revoked_keys_are_refused() {
        let keys = ApiKeys::new(vec![
            ApiKeyEntry::from_config(&config("old-key", true)).expect("valid"),
        ]);
        assert_eq!(keys.authenticate("old-key"), Err(AuthError::InvalidApiKey));
    }

    #[test]
    fn config_errors_name_the_field() {
        let mut bad = config("k", false);
        bad.sha256 = "abc".into();
        assert_eq!(ApiKeyEntry::from_config(&bad).unwrap_err().0, "sha256");
        let mut bad = config("k", false);
        bad.scopes = vec!["admin".into()];
        assert_eq!(ApiKeyEntry::from_config(&bad).unwrap_err().0, "scopes");
        let mut bad = config("k", false);
        bad.principal = " ".into();
        assert_eq!(ApiKeyEntry::from_config(&bad).unwrap_err().0, "principal");
    }
}
