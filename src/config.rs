//! Settings: a TOML file plus environment overrides (`S3_BROKER__SECTION__KEY`), validated
//! once at startup into typed values. A bad configuration stops startup with a message that
//! names the key and the problem. `examples/config.toml` documents every key.

use crate::auth::AuthConfig;
use crate::backend::Backend;
use crate::domain::{
    AccessKeyId, BucketName, Credentials, Endpoint, Region, SecretAccessKey, SessionToken,
};
use crate::multipart::{MIN_SECRET_LEN, TicketKeyId, TicketKeys};
use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

mod audit;
mod builder;
mod receipts;
pub use audit::AuditSection;
pub use builder::{ConfigBuilder, sha256_hex};
pub use receipts::ReceiptsSection;

/// The prefix of environment overrides: `S3_BROKER__S3__REGION=eu-west-3` sets `s3.region`.
pub const ENV_PREFIX: &str = "S3_BROKER__";

/// A configuration problem.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file or an override could not be read or parsed.
    #[error("configuration: {0}")]
    Parse(String),
    /// A value is invalid.
    #[error("configuration key {key}: {problem}")]
    Invalid {
        /// The dotted key.
        key: String,
        /// What is wrong.
        problem: String,
    },
}

fn invalid(key: &str, problem: impl std::fmt::Display) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_owned(),
        problem: problem.to_string(),
    }
}

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    server: RawServer,
    s3: RawS3,
    auth: AuthConfig,
    #[serde(default)]
    policies: RawPolicies,
    #[serde(default)]
    multipart: RawMultipart,
    #[serde(default)]
    receipts: receipts::RawReceipts,
    #[serde(default)]
    limits: crate::limits::LimitsConfig,
    #[serde(default)]
    revocation: crate::revocation::RevocationConfig,
    #[serde(default)]
    audit: audit::RawAudit,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawMultipart {
    ticket_ttl_secs: u64,
    ticket_keys: Vec<RawTicketKey>,
}

impl Default for RawMultipart {
    fn default() -> Self {
        Self {
            ticket_ttl_secs: 86_400,
            ticket_keys: Vec::new(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTicketKey {
    id: String,
    secret: String,
}

impl std::fmt::Debug for RawTicketKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawTicketKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawServer {
    bind: String,
    cors_origins: Vec<String>,
    workers: Option<usize>,
    public_url: Option<String>,
    metrics: bool,
    log_queue_lines: usize,
    drain_secs: u64,
    shutdown_timeout_secs: u64,
    body_timeout_secs: u64,
}

impl Default for RawServer {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            cors_origins: Vec::new(),
            workers: None,
            public_url: None,
            metrics: true,
            log_queue_lines: crate::telemetry::DEFAULT_QUEUE_LINES,
            drain_secs: DEFAULT_DRAIN_SECS,
            shutdown_timeout_secs: DEFAULT_SHUTDOWN_TIMEOUT_SECS,
            body_timeout_secs: DEFAULT_BODY_TIMEOUT_SECS,
        }
    }
}

/// `[server] drain_secs`: how long `/readyz` answers 503 while the listener keeps accepting,
/// after SIGTERM or SIGINT (load balancers need a few seconds to stop routing).
pub const DEFAULT_DRAIN_SECS: u64 = 5;
/// `[server] shutdown_timeout_secs`: how long in-flight requests may take after the drain.
pub const DEFAULT_SHUTDOWN_TIMEOUT_SECS: u64 = 30;
/// `[server] body_timeout_secs`: how long a request may take to deliver its whole body.
pub const DEFAULT_BODY_TIMEOUT_SECS: u64 = 10;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawS3 {
    region: String,
    /// Bucket of the profiles that name none.
    bucket: Option<String>,
    endpoint: Option<String>,
    /// `aws` (default), `minio`, `ceph`, `r2` or `gcs`.
    backend: Option<String>,
    /// Default: the backend's (path-style for minio and ceph).
    path_style: Option<bool>,
    #[serde(default)]
    credentials: RawCredentials,
    #[serde(default = "default_margin")]
    credential_margin_secs: u64,
    #[serde(default = "default_timeout")]
    operation_timeout_secs: u64,
}

fn default_margin() -> u64 {
    300
}

fn default_timeout() -> u64 {
    10
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCredentials {
    #[serde(default)]
    source: CredentialsSourceKind,
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    session_token: Option<String>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum CredentialsSourceKind {
    /// aws-config's default chain: env, profile, web identity, ECS, IMDS.
    #[default]
    DefaultChain,
    /// Keys written in the configuration.
    Static,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawPolicies {
    dir: PathBuf,
    default_profile: String,
}

impl Default for RawPolicies {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("policies"),
            default_profile: "default".into(),
        }
    }
}

/// Where the broker's credentials come from.
#[derive(Debug, Clone)]
pub enum CredentialsSetting {
    /// The aws-config default chain.
    DefaultChain,
    /// Static keys.
    Static(Credentials),
}

/// Validated S3 settings.
#[derive(Debug, Clone)]
pub struct S3Section {
    /// Region of the credential scope.
    pub region: Region,
    /// Bucket of the profiles that name none.
    pub bucket: Option<BucketName>,
    /// Endpoint.
    pub endpoint: Endpoint,
    /// What the store behind the endpoint enforces (and so what grants may bind).
    pub backend: Backend,
    /// Path-style addressing: `path_style`, else the backend's default.
    pub path_style: bool,
    /// Credentials.
    pub credentials: CredentialsSetting,
    /// Grants end at least this long before the credentials expire.
    pub credential_margin: Duration,
    /// Timeout of S3 calls (listing, multipart), retries included.
    pub operation_timeout: Duration,
}

/// Validated settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Listen address.
    pub bind: SocketAddr,
    /// Origins allowed to call the API from a browser.
    pub cors_origins: Vec<String>,
    /// Worker threads (default: one per core).
    pub workers: Option<usize>,
    /// The broker's URL as clients reach it (no trailing `/`), for URLs it hands out that point
    /// at itself (Uppy 6's completion URL); default: the scheme and host of each request.
    pub public_url: Option<String>,
    /// Serve Prometheus metrics at `GET /metrics` (default: true).
    pub metrics: bool,
    /// Log lines held in memory while stderr is slower than the service; beyond them lines
    /// are dropped and counted (`s3_broker_log_lines_dropped_total`).
    pub log_queue_lines: usize,
    /// After SIGTERM or SIGINT: how long `/readyz` answers 503 and every response closes its
    /// connection while the listener keeps accepting (`drain_secs`, default 5 s; 0: none).
    pub drain: Duration,
    /// After the drain: how long in-flight requests may take before they are cut off
    /// (`shutdown_timeout_secs`, default 30 s).
    pub shutdown_timeout: Duration,
    /// How long a request may take to deliver its whole body, from its arrival
    /// (`body_timeout_secs`, default 10 s): past it, `408 body_timeout`.
    pub body_timeout: Duration,
    /// S3.
    pub s3: S3Section,
    /// Authentication (validated into an `Authenticator` at startup).
    pub auth: AuthConfig,
    /// Directory of upload profiles.
    pub policies_dir: PathBuf,
    /// Profile used when a request names none.
    pub default_profile: String,
    /// Multipart uploads.
    pub multipart: MultipartSection,
    /// Upload receipts.
    pub receipts: ReceiptsSection,
    /// Rates, quotas and their store (`[limits]`).
    pub limits: crate::limits::LimitSettings,
    /// The revocation file (`[revocation]`).
    pub revocation: crate::revocation::RevocationSettings,
    /// Audit events (`[audit]`).
    pub audit: AuditSection,
}

/// `[multipart]`: how upload tickets are sealed and how long they live.
#[derive(Debug, Clone)]
pub struct MultipartSection {
    /// The configured ticket keys (the first seals); `None`: one random key per process.
    pub ticket_keys: Option<Arc<TicketKeys>>,
    /// How long a ticket (and so the upload) can be continued.
    pub ticket_ttl: Duration,
}

impl Settings {
    /// Reads `file` (optional) and the process environment's overrides.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::new();
        if let Some(file) = file {
            if !file.is_file() {
                return Err(ConfigError::Parse(format!(
                    "{} does not exist or is not a file",
                    file.display()
                )));
            }
            figment = figment.merge(Toml::file(file));
        }
        Self::from_figment(figment.merge(Env::prefixed(ENV_PREFIX).split("__")))
    }

    /// The `server.cors_origins` the environment sets (`S3_BROKER__SERVER__CORS_ORIGINS`, e.g.
    /// `'["http://127.0.0.1:5173"]'`), for `s3-broker dev`, whose configuration is generated;
    /// empty when unset. The origins are checked with the rest of the configuration.
    pub fn cors_origins_from_env() -> Result<Vec<String>, ConfigError> {
        let figment = Figment::new().merge(Env::prefixed(ENV_PREFIX).split("__"));
        match figment.find_value("server.cors_origins") {
            Err(_) => Ok(Vec::new()),
            Ok(value) => value.deserialize().map_err(|e: figment::Error| {
                ConfigError::Parse(format!(
                    "{ENV_PREFIX}SERVER__CORS_ORIGINS: {e}; expected a list such as \
                     '[\"http://127.0.0.1:5173\"]'"
                ))
            }),
        }
    }

    /// Parses settings from TOML text alone (tests, the embedded dev configuration).
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        Self::from_figment(Figment::new().merge(Toml::string(text)))
    }

    fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        let raw: RawConfig = figment
            .extract()
            .map_err(|e| ConfigError::Parse(e.to_string()))?;
        Self::validate(raw)
    }

    fn validate(raw: RawConfig) -> Result<Self, ConfigError> {
        let bind = raw
            .server
            .bind
            .parse()
            .map_err(|_| invalid("server.bind", "expected IP:PORT such as 0.0.0.0:8080"))?;
        for (i, origin) in raw.server.cors_origins.iter().enumerate() {
            let parsed = url::Url::parse(origin)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.path() == "/");
            if parsed.is_none() || origin.ends_with('/') {
                return Err(invalid(
                    &format!("server.cors_origins[{i}]"),
                    "expected an origin such as https://app.example.com (no path)",
                ));
            }
        }
        let public_url = raw
            .server
            .public_url
            .map(|url| {
                let ok = url::Url::parse(&url).ok().is_some_and(|u| {
                    matches!(u.scheme(), "http" | "https")
                        && u.query().is_none()
                        && u.fragment().is_none()
                });
                if ok {
                    Ok(url.trim_end_matches('/').to_owned())
                } else {
                    Err(invalid(
                        "server.public_url",
                        "expected the broker's URL as browsers reach it, e.g. https://uploads.example.com",
                    ))
                }
            })
            .transpose()?;
        if raw.server.workers == Some(0) {
            return Err(invalid("server.workers", "must be at least 1"));
        }
        if !(16..=1_048_576).contains(&raw.server.log_queue_lines) {
            return Err(invalid("server.log_queue_lines", "between 16 and 1048576"));
        }
        if raw.server.drain_secs > 300 {
            return Err(invalid("server.drain_secs", "at most 300"));
        }
        if !(1..=300).contains(&raw.server.shutdown_timeout_secs) {
            return Err(invalid("server.shutdown_timeout_secs", "between 1 and 300"));
        }
        if !(1..=300).contains(&raw.server.body_timeout_secs) {
            return Err(invalid("server.body_timeout_secs", "between 1 and 300"));
        }
        let region = Region::new(raw.s3.region).map_err(|e| invalid("s3.region", e))?;
        let endpoint = match raw.s3.endpoint.as_deref() {
            None | Some("") => Endpoint::AwsRegional,
            Some(url) => Endpoint::parse(url).map_err(|e| invalid("s3.endpoint", e))?,
        };
        let c = raw.s3.credentials;
        let credentials = match c.source {
            CredentialsSourceKind::DefaultChain => {
                if c.access_key_id.is_some()
                    || c.secret_access_key.is_some()
                    || c.session_token.is_some()
                {
                    return Err(invalid(
                        "s3.credentials.source",
                        "keys are given, so set source = \"static\" (or remove them to use the default chain)",
                    ));
                }
                CredentialsSetting::DefaultChain
            }
            CredentialsSourceKind::Static => {
                let id = c.access_key_id.ok_or_else(|| {
                    invalid(
                        "s3.credentials.access_key_id",
                        "required with source = \"static\"",
                    )
                })?;
                let secret = c.secret_access_key.ok_or_else(|| {
                    invalid(
                        "s3.credentials.secret_access_key",
                        "required with source = \"static\"",
                    )
                })?;
                CredentialsSetting::Static(Credentials {
                    access_key_id: AccessKeyId::new(id)
                        .map_err(|e| invalid("s3.credentials.access_key_id", e))?,
                    secret_access_key: SecretAccessKey::new(secret)
                        .map_err(|e| invalid("s3.credentials.secret_access_key", e))?,
                    session_token: c
                        .session_token
                        .map(SessionToken::new)
                        .transpose()
                        .map_err(|e| invalid("s3.credentials.session_token", e))?,
                    expires_at: None,
                })
            }
        };
        if raw.s3.credential_margin_secs > 3600 {
            return Err(invalid("s3.credential_margin_secs", "at most 3600"));
        }
        if !(1..=120).contains(&raw.s3.operation_timeout_secs) {
            return Err(invalid("s3.operation_timeout_secs", "between 1 and 120"));
        }
        let backend = match raw.s3.backend.as_deref() {
            None => Backend::default(),
            Some(name) => Backend::parse(name).map_err(|e| invalid("s3.backend", e))?,
        };
        let multipart = validate_multipart(raw.multipart)?;
        let receipts = receipts::validate_receipts(raw.receipts, public_url.as_deref())?;
        let audit = audit::validate_audit(raw.audit)?;
        let limits = raw.limits.validate().map_err(|(key, e)| invalid(&key, e))?;
        let revocation = raw
            .revocation
            .validate()
            .map_err(|(key, e)| invalid(&key, e))?;
        Ok(Self {
            multipart,
            receipts,
            audit,
            limits,
            revocation,
            bind,
            cors_origins: raw.server.cors_origins,
            public_url,
            metrics: raw.server.metrics,
            log_queue_lines: raw.server.log_queue_lines,
            workers: raw.server.workers,
            drain: Duration::from_secs(raw.server.drain_secs),
            shutdown_timeout: Duration::from_secs(raw.server.shutdown_timeout_secs),
            body_timeout: Duration::from_secs(raw.server.body_timeout_secs),
            s3: S3Section {
                region,
                bucket: raw
                    .s3
                    .bucket
                    .map(BucketName::new)
                    .transpose()
                    .map_err(|e| invalid("s3.bucket", e))?,
                endpoint,
                path_style: raw
                    .s3
                    .path_style
                    .unwrap_or_else(|| backend.default_path_style()),
                backend,
                credentials,
                credential_margin: Duration::from_secs(raw.s3.credential_margin_secs),
                operation_timeout: Duration::from_secs(raw.s3.operation_timeout_secs),
            },
            auth: raw.auth,
            policies_dir: raw.policies.dir,
            default_profile: raw.policies.default_profile,
        })
    }
}

fn validate_multipart(raw: RawMultipart) -> Result<MultipartSection, ConfigError> {
    if !(60..=604_800).contains(&raw.ticket_ttl_secs) {
        return Err(invalid(
            "multipart.ticket_ttl_secs",
            "between 60 and 604800 (7 days)",
        ));
    }
    let ticket_keys = if raw.ticket_keys.is_empty() {
        None
    } else {
        let mut keys = Vec::with_capacity(raw.ticket_keys.len());
        for (i, key) in raw.ticket_keys.into_iter().enumerate() {
            let id = TicketKeyId::new(&key.id)
                .map_err(|e| invalid(&format!("multipart.ticket_keys[{i}].id"), e))?;
            if key.secret.len() < MIN_SECRET_LEN {
                return Err(invalid(
                    &format!("multipart.ticket_keys[{i}].secret"),
                    format!(
                        "must be at least {MIN_SECRET_LEN} bytes (e.g. `openssl rand -base64 48`)"
                    ),
                ));
            }
            keys.push((id, key.secret.into_bytes()));
        }
        Some(Arc::new(
            TicketKeys::new(keys).map_err(|e| invalid("multipart.ticket_keys", e))?,
        ))
    };
    Ok(MultipartSection {
        ticket_keys,
        ticket_ttl: Duration::from_secs(raw.ticket_ttl_secs),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[s3]
region = "eu-west-3"

[auth]
issuer = "https://issuer.example.com"
audience = "s3-broker"
algorithms = ["HS256"]
hs_secrets = [{ secret = "0123456789abcdef0123456789abcdef" }]
"#;

    #[test]
    fn public_url_is_an_http_url_without_query() {
        let with = |url: &str| {
            Settings::from_toml(&format!("{MINIMAL}\n[server]\npublic_url = \"{url}\"\n"))
        };
        assert_eq!(
            with("https://uploads.example.com/")
                .unwrap()
                .public_url
                .as_deref(),
            Some("https://uploads.example.com")
        );
        for bad in ["ftp://x", "https://x/?a=1", "not a url"] {
            assert!(with(bad).is_err(), "{bad}");
        }
        assert_eq!(Settings::from_toml(MINIMAL).unwrap().public_url, None);
    }

    #[test]
    fn the_documented_example_parses_with_its_limits() {
        // Read at run time: the image's build context leaves examples/ out.
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/config.toml");
        let s = Settings::from_toml(&std::fs::read_to_string(path).unwrap()).unwrap();
        assert_eq!(s.limits.store, crate::limits::StoreSetting::Memory);
        assert_eq!(s.revocation.poll, Duration::from_secs(10));
    }

    #[test]
    fn minimal_configuration_gets_defaults() {
        let s = Settings::from_toml(MINIMAL).unwrap();
        assert_eq!(s.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(s.s3.region.as_str(), "eu-west-3");
        assert_eq!(s.s3.endpoint, Endpoint::AwsRegional);
        assert!(matches!(s.s3.credentials, CredentialsSetting::DefaultChain));
        assert_eq!(s.policies_dir, PathBuf::from("policies"));
        assert_eq!(s.drain, Duration::from_secs(5));
        assert_eq!(s.shutdown_timeout, Duration::from_secs(30));
    }

    #[test]
    fn drain_may_be_zero_and_both_are_bounded() {
        let with = |lines: &str| Settings::from_toml(&format!("{MINIMAL}\n[server]\n{lines}\n"));
        let none = with("drain_secs = 0\nshutdown_timeout_secs = 1").unwrap();
        assert_eq!(
            (none.drain, none.shutdown_timeout),
            (Duration::ZERO, Duration::from_secs(1))
        );
        for (lines, key) in [
            ("drain_secs = 301", "server.drain_secs"),
            ("shutdown_timeout_secs = 0", "server.shutdown_timeout_secs"),
            (
                "shutdown_timeout_secs = 301",
                "server.shutdown_timeout_secs",
            ),
        ] {
            let err = with(lines).unwrap_err().to_string();
            assert!(err.contains(key), "{lines}: {err}");
        }
    }

    #[test]
    fn the_body_timeout_has_a_default_and_bounds() {
        let with = |lines: &str| Settings::from_toml(&format!("{MINIMAL}\n[server]\n{lines}\n"));
        assert_eq!(
            Settings::from_toml(MINIMAL).unwrap().body_timeout,
            Duration::from_secs(DEFAULT_BODY_TIMEOUT_SECS)
        );
        assert_eq!(
            with("body_timeout_secs = 2").unwrap().body_timeout,
            Duration::from_secs(2)
        );
        for lines in ["body_timeout_secs = 0", "body_timeout_secs = 301"] {
            let err = with(lines).unwrap_err().to_string();
            assert!(err.contains("server.body_timeout_secs"), "{lines}: {err}");
        }
    }

    #[test]
    fn backend_sets_the_default_addressing() {
        let with = |lines: &str| {
            Settings::from_toml(&MINIMAL.replace("[s3]", &format!("[s3]\n{lines}"))).unwrap()
        };
        let aws = Settings::from_toml(MINIMAL).unwrap();
        assert_eq!((aws.s3.backend, aws.s3.path_style), (Backend::Aws, false));
        for (lines, backend, path_style) in [
            ("backend = \"minio\"", Backend::Minio, true),
            ("backend = \"ceph\"", Backend::Ceph, true),
            ("backend = \"r2\"", Backend::R2, false),
            ("backend = \"gcs\"", Backend::Gcs, false),
            (
                "backend = \"minio\"\npath_style = false",
                Backend::Minio,
                false,
            ),
            ("backend = \"r2\"\npath_style = true", Backend::R2, true),
            ("path_style = true", Backend::Aws, true),
        ] {
            let s = with(lines);
            assert_eq!(
                (s.s3.backend, s.s3.path_style),
                (backend, path_style),
                "{lines}"
            );
        }
    }

    #[test]
    fn errors_name_the_key() {
        let cases = [
            (MINIMAL.replace("eu-west-3", "EU WEST"), "s3.region"),
            (format!("{MINIMAL}\n[server]\nbind = \"nowhere\"\n"), "server.bind"),
            (
                format!("{MINIMAL}\n[server]\ncors_origins = [\"https://a.example/path\"]\n"),
                "server.cors_origins[0]",
            ),
            (
                MINIMAL.replace("region = \"eu-west-3\"", "region = \"eu-west-3\"\nendpoint = \"ftp://x\""),
                "s3.endpoint",
            ),
            (
                MINIMAL.replace(
                    "region = \"eu-west-3\"",
                    "region = \"eu-west-3\"\n[s3.credentials]\nsource = \"static\"\naccess_key_id = \"AK\"",
                ),
                "s3.credentials.secret_access_key",
            ),
            (MINIMAL.replace("[s3]", "[s3]\nbucket = \"B\""), "s3.bucket"),
            (MINIMAL.replace("[s3]", "[s3]\nbackend = \"s3\""), "s3.backend"),
            (MINIMAL.replace("[s3]", "[s3]\nbuckett = \"x\""), "buckett"),
        ];
        for (text, key) in cases {
            let err = Settings::from_toml(&text).unwrap_err().to_string();
            assert!(err.contains(key), "{key:?} not named in {err:?}");
        }
    }
}
