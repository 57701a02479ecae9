//! Validation of the `[auth]` section into typed settings, with errors that name the key.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use jsonwebtoken::{Algorithm, AlgorithmFamily};
use secrecy::{ExposeSecret, SecretString};

use super::api_key::ApiKeyEntry;
use super::config::AuthConfig;
use super::keys::{VerificationKey, hmac_min_len};

/// The largest clock-skew allowance the broker accepts, in seconds.
pub const MAX_LEEWAY_SECS: u64 = 60;

/// The largest `auth.verified_token_cache` accepted (entries; about 200 bytes each).
pub const MAX_VERIFIED_TOKEN_CACHE: usize = 1_000_000;

/// A configuration problem: which key, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {problem}")]
pub struct AuthConfigError {
    /// The dotted key, e.g. `auth.leeway_secs` or `auth.public_keys[1].pem`.
    pub key: String,
    /// What is wrong, e.g. `at most 60`.
    pub problem: String,
}

fn err(key: impl fmt::Display, problem: impl Into<String>) -> AuthConfigError {
    AuthConfigError {
        key: format!("auth.{key}"),
        problem: problem.into(),
    }
}

/// Validated JWT settings.
#[derive(Debug)]
pub(crate) struct JwtSettings {
    pub issuer: String,
    pub audience: Vec<String>,
    pub algorithms: Vec<Algorithm>,
    pub leeway_secs: u64,
    pub scope_claim: String,
    pub static_keys: Vec<VerificationKey>,
    pub jwks: Option<JwksSettings>,
    /// The first shared secret, for minting development tokens.
    pub dev_secret: Option<SecretString>,
    /// How many verified public-key tokens to remember (0: none).
    pub verified_token_cache: usize,
}

/// Validated JWKS settings.
#[derive(Debug, Clone)]
pub(crate) struct JwksSettings {
    pub url: url::Url,
    pub refresh: Duration,
    pub min_refetch: Duration,
    pub timeout: Duration,
}

/// Everything [`AuthConfig`] validates into.
#[derive(Debug)]
pub(crate) struct ValidatedAuth {
    pub jwt: JwtSettings,
    pub api_keys: Vec<ApiKeyEntry>,
}

impl AuthConfig {
    /// Checks every key and builds the typed settings; the first problem found is returned.
    pub(crate) fn validate(&self) -> Result<ValidatedAuth, AuthConfigError> {
        if self.issuer.trim().is_empty() {
            return Err(err("issuer", "must not be empty"));
        }
        if self.audience.is_empty() || self.audience.iter().any(|a| a.trim().is_empty()) {
            return Err(err(
                "audience",
                "must be a non-empty string or list of them",
            ));
        }
        let algorithms = self.pinned_algorithms()?;
        if self.leeway_secs > MAX_LEEWAY_SECS {
            return Err(err("leeway_secs", format!("at most {MAX_LEEWAY_SECS}")));
        }
        if self.scope_claim.trim().is_empty() {
            return Err(err("scope_claim", "must not be empty"));
        }
        let mut static_keys = Vec::new();
        let mut kids = HashSet::new();
        self.hs_keys(&algorithms, &mut static_keys, &mut kids)?;
        self.pem_keys(&algorithms, &mut static_keys, &mut kids)?;
        let jwks = self.jwks_settings(&algorithms)?;
        self.check_coverage(&algorithms, &static_keys, jwks.is_some())?;
        let api_keys = self.api_key_entries()?;
        if self.verified_token_cache > MAX_VERIFIED_TOKEN_CACHE {
            return Err(err(
                "verified_token_cache",
                format!("at most {MAX_VERIFIED_TOKEN_CACHE}"),
            ));
        }
        Ok(ValidatedAuth {
            jwt: JwtSettings {
                issuer: self.issuer.clone(),
                audience: self.audience.clone(),
                algorithms,
                leeway_secs: self.leeway_secs,
                scope_claim: self.scope_claim.clone(),
                static_keys,
                jwks,
                dev_secret: self.hs_secrets.first().map(|s| s.secret.clone()),
                verified_token_cache: self.verified_token_cache,
            },
            api_keys,
        })
    }

    fn pinned_algorithms(&self) -> Result<Vec<Algorithm>, AuthConfigError> {
        if self.algorithms.is_empty() {
            return Err(err("algorithms", "list at least one algorithm"));
        }
        let mut out = Vec::new();
        for (i, name) in self.algorithms.iter().enumerate() {
            let alg = Algorithm::from_str(name).map_err(|_| {
                err(
                    format_args!("algorithms[{i}]"),
                    format!(
                        "unknown algorithm {name:?}: expected HS256, HS384, HS512, RS256, RS384, \
                         RS512, PS256, PS384, PS512, ES256, ES384 or EdDSA"
                    ),
                )
            })?;
            if out.contains(&alg) {
                return Err(err(
                    format_args!("algorithms[{i}]"),
                    format!("{name} listed twice"),
                ));
            }
            out.push(alg);
        }
        Ok(out)
    }

    fn hs_keys(
        &self,
        pinned: &[Algorithm],
        keys: &mut Vec<VerificationKey>,
        kids: &mut HashSet<String>,
    ) -> Result<(), AuthConfigError> {
        let hmac_algs = super::keys::in_family(pinned, AlgorithmFamily::Hmac);
        if !self.hs_secrets.is_empty() && hmac_algs.is_empty() {
            return Err(err(
                "hs_secrets",
                "no HS algorithm in auth.algorithms would use them",
            ));
        }
        let (min_len, min_alg) = hmac_algs
            .iter()
            .map(|a| (hmac_min_len(*a), *a))
            .max_by_key(|(len, _)| *len)
            .unwrap_or((32, Algorithm::HS256));
        for (i, entry) in self.hs_secrets.iter().enumerate() {
            check_kid(&format!("hs_secrets[{i}].kid"), entry.kid.as_deref(), kids)?;
            let secret = entry.secret.expose_secret().as_bytes();
            if secret.len() < min_len {
                return Err(err(
                    format_args!("hs_secrets[{i}].secret"),
                    format!("at least {min_len} bytes for {min_alg:?} (RFC 7518 section 3.2)"),
                ));
            }
            keys.push(VerificationKey::hmac(entry.kid.clone(), secret, pinned));
        }
        Ok(())
    }

    fn pem_keys(
        &self,
        pinned: &[Algorithm],
        keys: &mut Vec<VerificationKey>,
        kids: &mut HashSet<String>,
    ) -> Result<(), AuthConfigError> {
        for (i, entry) in self.public_keys.iter().enumerate() {
            check_kid(&format!("public_keys[{i}].kid"), entry.kid.as_deref(), kids)?;
            let alg = Algorithm::from_str(&entry.alg).map_err(|_| {
                err(
                    format_args!("public_keys[{i}].alg"),
                    format!("unknown algorithm {:?}", entry.alg),
                )
            })?;
            if !pinned.contains(&alg) {
                return Err(err(
                    format_args!("public_keys[{i}].alg"),
                    format!("{alg:?} is not in auth.algorithms"),
                ));
            }
            let key = VerificationKey::from_pem(entry.kid.clone(), alg, &entry.pem)
                .map_err(|problem| err(format_args!("public_keys[{i}].pem"), problem))?;
            keys.push(key);
        }
        Ok(())
    }

    fn jwks_settings(&self, pinned: &[Algorithm]) -> Result<Option<JwksSettings>, AuthConfigError> {
        let Some(raw) = &self.jwks_url else {
            return Ok(None);
        };
        let url = url::Url::parse(raw).map_err(|e| err("jwks_url", format!("not a URL: {e}")))?;
        let loopback = matches!(
            url.host(),
            Some(url::Host::Domain("localhost"))
                | Some(url::Host::Ipv4(std::net::Ipv4Addr::LOCALHOST))
                | Some(url::Host::Ipv6(std::net::Ipv6Addr::LOCALHOST))
        );
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            _ => {
                return Err(err(
                    "jwks_url",
                    "must be https:// (http:// only to localhost)",
                ));
            }
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(err("jwks_url", "must not contain credentials"));
        }
        if pinned.iter().all(|a| a.family() == AlgorithmFamily::Hmac) {
            return Err(err(
                "jwks_url",
                "auth.algorithms pins no public-key algorithm",
            ));
        }
        let refresh = bounded("jwks_refresh_secs", self.jwks_refresh_secs, 1, 86_400)?;
        let min_refetch = bounded(
            "jwks_min_refetch_secs",
            self.jwks_min_refetch_secs,
            1,
            3_600,
        )?;
        let timeout = bounded("jwks_timeout_secs", self.jwks_timeout_secs, 1, 60)?;
        Ok(Some(JwksSettings {
            url,
            refresh,
            min_refetch,
            timeout,
        }))
    }

    /// Fails closed at startup: every pinned algorithm needs a key source.
    fn check_coverage(
        &self,
        pinned: &[Algorithm],
        keys: &[VerificationKey],
        has_jwks: bool,
    ) -> Result<(), AuthConfigError> {
        for alg in pinned {
            let hmac = alg.family() == AlgorithmFamily::Hmac;
            if keys.iter().any(|k| k.verifies(*alg)) || (has_jwks && !hmac) {
                continue;
            }
            let source = if hmac {
                "auth.hs_secrets"
            } else {
                "auth.public_keys or auth.jwks_url"
            };
            return Err(err(
                "algorithms",
                format!("{alg:?} has no key: configure {source}"),
            ));
        }
        Ok(())
    }

    fn api_key_entries(&self) -> Result<Vec<ApiKeyEntry>, AuthConfigError> {
        let mut seen = HashSet::new();
        let mut out = Vec::with_capacity(self.api_keys.len());
        for (i, entry) in self.api_keys.iter().enumerate() {
            let parsed = ApiKeyEntry::from_config(entry)
                .map_err(|(field, problem)| err(format_args!("api_keys[{i}].{field}"), problem))?;
            if !seen.insert(parsed.digest) {
                return Err(err(format_args!("api_keys[{i}].sha256"), "listed twice"));
            }
            out.push(parsed);
        }
        Ok(out)
    }
}

fn check_kid(
    key: &str,
    kid: Option<&str>,
    kids: &mut HashSet<String>,
) -> Result<(), AuthConfigError> {
    match kid {
        Some("") => Err(err(key, "must not be empty")),
        Some(kid) if !kids.insert(kid.to_owned()) => {
            Err(err(key, format!("{kid:?} is used by another key")))
        }
        _ => Ok(()),
    }
}

fn bounded(key: &str, value: u64, min: u64, max: u64) -> Result<Duration, AuthConfigError> {
    if value < min {
        return Err(err(key, format!("at least {min}")));
    }
    if value > max {
        return Err(err(key, format!("at most {max}")));
    }
    Ok(Duration::from_secs(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::auth::config::{TEST_SECRET as SECRET, test_config as parse};

    fn problem(config: AuthConfig) -> String {
        config
            .validate()
            .expect_err("config must be refused")
            .to_string()
    }

    #[test]
    fn leeway_is_capped() {
        let mut config = parse("");
        config.leeway_secs = 61;
        assert_eq!(problem(config), "auth.leeway_secs: at most 60");
    }

    #[test]
    fn algorithms_are_checked() {
        let mut config = parse("");
        config.algorithms = vec!["none".into()];
        assert!(problem(config).starts_with("auth.algorithms[0]: unknown algorithm \"none\""));
        let mut config = parse("");
        config.algorithms = vec![];
        assert!(problem(config).starts_with("auth.algorithms:"));
        let mut config = parse("");
        config.algorithms = vec!["HS256".into(), "RS256".into()];
        assert_eq!(
            problem(config),
            "auth.algorithms: RS256 has no key: configure auth.public_keys or auth.jwks_url"
        );
    }

    #[test]
    fn short_secrets_are_refused() {
        let mut config = parse("");
        config.hs_secrets[0].secret = SecretString::from("short");
        assert!(problem(config).starts_with("auth.hs_secrets[0].secret: at least 32 bytes"));
        let mut config = parse("");
        config.algorithms = vec!["HS512".into()];
        assert!(problem(config).starts_with("auth.hs_secrets[0].secret: at least 64 bytes"));
    }

    #[test]
    fn jwks_urls_must_be_https_or_loopback() {
        for (url, ok) in [
            ("https://id.example.com/jwks", true),
            ("http://127.0.0.1:8080/jwks", true),
            ("http://localhost/jwks", true),
            ("http://[::1]:1/jwks", true),
            ("http://id.example.com/jwks", false),
            ("ftp://id.example.com/jwks", false),
            ("https://user:pw@id.example.com/jwks", false),
            ("not a url", false),
        ] {
            let mut config = parse("");
            config.algorithms = vec!["HS256".into(), "ES256".into()];
            config.jwks_url = Some(url.into());
            assert_eq!(config.validate().is_ok(), ok, "{url}");
        }
    }

    #[test]
    fn jwks_intervals_are_bounded() {
        let mut config = parse("");
        config.algorithms = vec!["HS256".into(), "ES256".into()];
        config.jwks_url = Some("https://id.example.com/jwks".into());
        config.jwks_min_refetch_secs = 0;
        assert_eq!(problem(config), "auth.jwks_min_refetch_secs: at least 1");
    }

    #[test]
    fn the_verified_token_cache_is_bounded() {
        let mut config = parse("");
        config.verified_token_cache = MAX_VERIFIED_TOKEN_CACHE + 1;
        assert_eq!(
            problem(config),
            "auth.verified_token_cache: at most 1000000"
        );
        let mut config = parse("");
        config.verified_token_cache = 0;
        assert!(config.validate().is_ok(), "0 disables the cache");
    }

    #[test]
    fn kids_are_unique() {
        let extra = format!("[[hs_secrets]]\nsecret = \"{SECRET}\"\nkid = \"a\"\n");
        let mut config = parse(&extra);
        config.hs_secrets[0].kid = Some("a".into());
        assert_eq!(
            problem(config),
            "auth.hs_secrets[1].kid: \"a\" is used by another key"
        );
    }

    #[test]
    fn public_key_algorithms_must_be_pinned() {
        let extra = "[[public_keys]]\nalg = \"RS256\"\npem = \"x\"\n";
        assert_eq!(
            problem(parse(extra)),
            "auth.public_keys[0].alg: RS256 is not in auth.algorithms"
        );
    }
}
