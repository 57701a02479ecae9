//! `[limits]`: rates per route class, quotas per principal, per-profile overrides, and the
//! store that holds their state. Everything is off until configured.

use super::RouteClass;
use super::quota::Quotas;
use super::rate::Rate;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::time::Duration;

/// `[limits]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// `"memory"` (per instance) or `"redis://host:port/db"` (shared; Redis or Valkey).
    pub store: String,
    /// What happens while the shared store cannot be reached.
    pub on_store_failure: FailureMode,
    /// How many broker instances share the store: with `fail_open`, each instance enforces
    /// the limits divided by this while the store is down.
    pub replicas: NonZeroU32,
    /// Timeout of one store call, connection included (milliseconds).
    pub store_timeout_ms: u64,
    /// Prefix of every key the broker writes in the store.
    pub key_prefix: String,
    /// The header a trusted proxy sets to the client's address (e.g. `X-Forwarded-For`, its
    /// last value is used); unset: the peer address of the connection.
    pub client_ip_header: Option<String>,
    /// The period of the daily quotas, in seconds (86400; shorter for tests).
    pub quota_window_secs: NonZeroU32,
    /// Rates by route class, per principal (`auth_failures`: per client IP).
    pub rates: RatesConfig,
    /// Quotas per principal, over all profiles.
    pub quotas: Quotas,
    /// Per-profile rates of grants and quotas, enforced in addition to the global ones.
    pub profiles: BTreeMap<String, ProfileLimits>,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            store: "memory".into(),
            on_store_failure: FailureMode::FailOpen,
            replicas: NonZeroU32::MIN,
            store_timeout_ms: 100,
            key_prefix: "s3-broker".into(),
            client_ip_header: None,
            quota_window_secs: NonZeroU32::new(86_400).expect("non-zero"),
            rates: RatesConfig::default(),
            quotas: Quotas::default(),
            profiles: BTreeMap::new(),
        }
    }
}

/// `[limits.rates]`: one optional rate per route class.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatesConfig {
    /// `POST /v1/uploads`, `POST /v1/downloads`.
    pub grants: Option<Rate>,
    /// `GET /v1/objects`.
    pub listings: Option<Rate>,
    /// `/v1/multipart...`.
    pub multipart: Option<Rate>,
    /// `/s3/...`.
    pub uppy: Option<Rate>,
    /// Failed authentications per client IP.
    pub auth_failures: Option<Rate>,
}

impl RatesConfig {
    /// The rate of `class`, if any.
    pub fn of(&self, class: RouteClass) -> Option<Rate> {
        match class {
            RouteClass::Grants => self.grants,
            RouteClass::Listings => self.listings,
            RouteClass::Multipart => self.multipart,
            RouteClass::Uppy => self.uppy,
            RouteClass::AuthFailures => self.auth_failures,
        }
    }
}

/// `[limits.profiles.NAME]`.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileLimits {
    /// Grants (and multipart creations) under this profile, per principal.
    pub grants: Option<Rate>,
    /// Quotas per principal under this profile.
    #[serde(flatten)]
    pub quotas: Quotas,
}

/// What the broker does while the shared store is unreachable.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureMode {
    /// Enforce each limit per instance, divided by `replicas`.
    #[default]
    FailOpen,
    /// Refuse limited requests with 503 `limits_unavailable`.
    FailClosed,
}

impl FailureMode {
    /// The configuration name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FailOpen => "fail_open",
            Self::FailClosed => "fail_closed",
        }
    }
}

/// Where limit state lives. `Debug` shows no Redis URL: it may hold a password.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreSetting {
    /// In this process.
    Memory,
    /// A Redis or Valkey server (the URL, which may hold a password: never logged).
    Redis(String),
}

impl std::fmt::Debug for StoreSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Memory => f.write_str("Memory"),
            Self::Redis(_) => f.write_str("Redis([redacted])"),
        }
    }
}

/// `[limits]`, validated.
#[derive(Debug, Clone)]
pub struct LimitSettings {
    /// The rates, quotas and overrides.
    pub config: LimitsConfig,
    /// The store.
    pub store: StoreSetting,
    /// `store_timeout_ms`.
    pub store_timeout: Duration,
}

impl LimitsConfig {
    /// Checks the section; the error names the key.
    pub fn validate(self) -> Result<LimitSettings, (String, String)> {
        let err = |key: &str, problem: &str| Err((format!("limits.{key}"), problem.to_owned()));
        let store = match self.store.as_str() {
            "memory" => StoreSetting::Memory,
            url if url.starts_with("redis://") || url.starts_with("rediss://") => {
                if redis::Client::open(url).is_err() {
                    return err("store", "not a valid redis:// URL");
                }
                StoreSetting::Redis(url.to_owned())
            }
            _ => return err("store", "expected \"memory\" or a redis://host:port/db URL"),
        };
        if !(1..=10_000).contains(&self.store_timeout_ms) {
            return err("store_timeout_ms", "between 1 and 10000");
        }
        let prefix_ok = (1..=64).contains(&self.key_prefix.len())
            && self
                .key_prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
        if !prefix_ok {
            return err("key_prefix", "1 to 64 of A-Z a-z 0-9 - _ . :");
        }
        if let Some(header) = &self.client_ip_header
            && http::HeaderName::from_bytes(header.as_bytes()).is_err()
        {
            return err("client_ip_header", "not a header name");
        }
        if self.quota_window_secs.get() > 31 * 86_400 {
            return err("quota_window_secs", "at most 31 days");
        }
        let rates = RouteClass::ALL.into_iter().filter_map(|c| {
            self.rates
                .of(c)
                .map(|r| (format!("rates.{}", c.as_str()), r))
        });
        let profile_rates = self
            .profiles
            .iter()
            .filter_map(|(name, p)| p.grants.map(|r| (format!("profiles.{name}.grants"), r)));
        for (key, rate) in rates.chain(profile_rates) {
            if rate.window_secs.get() > 86_400 {
                return err(&key, "window_secs at most 86400");
            }
        }
        let store_timeout = Duration::from_millis(self.store_timeout_ms);
        Ok(LimitSettings {
            config: self,
            store,
            store_timeout,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<LimitSettings, (String, String)> {
        toml::from_str::<LimitsConfig>(text).unwrap().validate()
    }

    #[test]
    fn defaults_are_memory_and_no_limit() {
        let s = parse("").unwrap();
        assert_eq!(s.store, StoreSetting::Memory);
        assert!(
            RouteClass::ALL
                .iter()
                .all(|c| s.config.rates.of(*c).is_none())
        );
        assert_eq!(s.config.on_store_failure, FailureMode::FailOpen);
    }

    #[test]
    fn reads_rates_quotas_and_profiles() {
        let s = parse(
            r#"
store = "redis://127.0.0.1:6379/0"
on_store_failure = "fail_closed"
replicas = 3
[rates]
grants = { requests = 10, window_secs = 60 }
[quotas]
bytes_per_day = 1000
[profiles.avatars]
grants = { requests = 2, window_secs = 1 }
grants_per_day = 5
"#,
        )
        .unwrap();
        assert!(matches!(s.store, StoreSetting::Redis(_)));
        assert_eq!(s.config.rates.grants.unwrap().requests.get(), 10);
        assert_eq!(s.config.quotas.bytes_per_day, Some(1000));
        assert_eq!(s.config.profiles["avatars"].quotas.grants_per_day, Some(5));
    }

    #[test]
    fn errors_name_the_key() {
        for (text, key) in [
            ("store = \"mysql://x\"", "limits.store"),
            ("store_timeout_ms = 0", "limits.store_timeout_ms"),
            ("key_prefix = \"a b\"", "limits.key_prefix"),
            ("client_ip_header = \"a b\"", "limits.client_ip_header"),
            (
                "[rates]\ngrants = { requests = 1, window_secs = 86401 }",
                "limits.rates.grants",
            ),
        ] {
            assert_eq!(parse(text).unwrap_err().0, key, "{text}");
        }
    }

    #[test]
    fn debug_never_shows_the_store_url() {
        let store = StoreSetting::Redis("redis://:s3cret@cache:6379/0".into());
        let shown = format!("{store:?}");
        assert!(
            !shown.contains("s3cret") && !shown.contains("cache"),
            "{shown}"
        );
    }
}
