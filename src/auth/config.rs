//! The `[auth]` section of the configuration file, and its validation into typed settings.
//!
//! ```toml
//! [auth]
//! issuer = "https://id.example.com/"
//! audience = "s3-broker"                 # or a list
//! algorithms = ["RS256", "ES256"]       # pinned; the token header never chooses
//! leeway_secs = 30                      # at most 60
//! scope_claim = "scope"                 # "upload download" or ["upload", "download"]
//! jwks_url = "https://id.example.com/.well-known/jwks.json"
//! verified_token_cache = 10000          # reused tokens skip verification
//!
//! [[auth.public_keys]]
//! kid = "2024-01"
//! alg = "RS256"
//! pem = """-----BEGIN PUBLIC KEY-----
//! ...
//! -----END PUBLIC KEY-----"""
//!
//! [[auth.api_keys]]
//! sha256 = "<hex of SHA-256 of the key>"
//! principal = "backup-job"
//! scopes = ["upload", "list"]
//! ```

use secrecy::SecretString;
use serde::{Deserialize, Deserializer};

/// The `[auth]` configuration section, as written by the operator. Turn it into an
/// [`Authenticator`](super::Authenticator) with
/// [`Authenticator::from_config`](super::Authenticator::from_config), which validates every key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// The only accepted `iss` ([RFC 7519 §4.1.1](https://www.rfc-editor.org/rfc/rfc7519#section-4.1.1)).
    pub issuer: String,
    /// Accepted `aud` values; a token must name at least one
    /// ([RFC 7519 §4.1.3](https://www.rfc-editor.org/rfc/rfc7519#section-4.1.3)). A string or a list.
    #[serde(deserialize_with = "string_or_list")]
    pub audience: Vec<String>,
    /// The pinned signature algorithms, e.g. `["HS256"]` or `["RS256", "ES256"]`
    /// ([RFC 8725 §3.1](https://www.rfc-editor.org/rfc/rfc8725#section-3.1)).
    pub algorithms: Vec<String>,
    /// Clock-skew allowance for `exp` and `nbf`, in seconds (default 30, at most 60).
    #[serde(default = "default_leeway_secs")]
    pub leeway_secs: u64,
    /// The claim that carries scopes (default `scope`): a space-separated string
    /// ([RFC 8693 §4.2](https://www.rfc-editor.org/rfc/rfc8693#section-4.2)) or an array of strings.
    #[serde(default = "default_scope_claim")]
    pub scope_claim: String,
    /// Shared secrets for the pinned HS algorithms.
    #[serde(default)]
    pub hs_secrets: Vec<HsSecretConfig>,
    /// PEM public keys (RSA, EC or Ed25519), each for one algorithm.
    #[serde(default)]
    pub public_keys: Vec<PublicKeyConfig>,
    /// Where the issuer publishes its JWK Set ([RFC 7517 §5](https://www.rfc-editor.org/rfc/rfc7517#section-5)):
    /// `https://`, or `http://` to `127.0.0.1`, `[::1]` or `localhost` only.
    #[serde(default)]
    pub jwks_url: Option<String>,
    /// How often the JWKS is refreshed, in seconds (default 300).
    #[serde(default = "default_jwks_refresh_secs")]
    pub jwks_refresh_secs: u64,
    /// The shortest interval between two JWKS fetches, in seconds, however many tokens with
    /// unknown `kid`s arrive (default 30).
    #[serde(default = "default_jwks_min_refetch_secs")]
    pub jwks_min_refetch_secs: u64,
    /// Timeout of one JWKS fetch, in seconds (default 5).
    #[serde(default = "default_jwks_timeout_secs")]
    pub jwks_timeout_secs: u64,
    /// API keys, stored as SHA-256 digests.
    #[serde(default)]
    pub api_keys: Vec<ApiKeyConfig>,
    /// How many verified public-key tokens (RS, PS, ES, EdDSA) to remember by SHA-256 digest,
    /// so a reused token is not verified again (default 10,000, at most 1,000,000; 0 disables).
    /// An entry lasts until the token's `exp` (the leeway never extends it) and only while its
    /// key set is the current JWKS.
    #[serde(default = "default_verified_token_cache")]
    pub verified_token_cache: usize,
}

/// A shared secret for HS256/384/512.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HsSecretConfig {
    /// The key id tokens name in their header, if any.
    #[serde(default)]
    pub kid: Option<String>,
    /// The secret, used as its UTF-8 bytes: at least 32 bytes (48 for HS384, 64 for HS512).
    #[serde(deserialize_with = "secret_string")]
    pub secret: SecretString,
}

/// A PEM public key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicKeyConfig {
    /// The key id tokens name in their header, if any.
    #[serde(default)]
    pub kid: Option<String>,
    /// The one algorithm this key verifies; it must be in `auth.algorithms`.
    pub alg: String,
    /// The public key: `-----BEGIN PUBLIC KEY-----` (or `RSA PUBLIC KEY`) PEM text.
    pub pem: String,
}

/// An API key, known only by its digest.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyConfig {
    /// Hex of SHA-256 of the key (`printf %s "$KEY" | sha256sum`).
    pub sha256: String,
    /// The principal (subject) the key authenticates as.
    pub principal: String,
    /// Scope names: `upload`, `download`, `list`, `delete`.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// A revoked key is refused (kept so that its use is logged as such).
    #[serde(default)]
    pub revoked: bool,
    /// When the key was issued (RFC 3339, e.g. `"2026-12-07T09:00:00Z"`): a revocation of its
    /// principal refuses keys issued before it; a key without it is refused by any revocation
    /// of its principal.
    #[serde(default)]
    pub issued_at: Option<chrono::DateTime<chrono::Utc>>,
}

fn default_leeway_secs() -> u64 {
    30
}
fn default_scope_claim() -> String {
    "scope".to_owned()
}
fn default_jwks_refresh_secs() -> u64 {
    300
}
fn default_jwks_min_refetch_secs() -> u64 {
    30
}
fn default_jwks_timeout_secs() -> u64 {
    5
}
fn default_verified_token_cache() -> usize {
    10_000
}

fn string_or_list<'de, D: Deserializer<'de>>(de: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    match OneOrMany::deserialize(de) {
        Ok(OneOrMany::One(one)) => Ok(vec![one]),
        Ok(OneOrMany::Many(many)) => Ok(many),
        Err(_) => Err(serde::de::Error::custom(
            "expected a string or a list of strings",
        )),
    }
}

fn secret_string<'de, D: Deserializer<'de>>(de: D) -> Result<SecretString, D::Error> {
    String::deserialize(de).map(SecretString::from)
}

/// A minimal HS256 `[auth]` section for unit tests, plus `extra` TOML lines.
#[cfg(test)]
pub(crate) fn test_config(extra: &str) -> AuthConfig {
    let text = format!(
        "issuer = \"https://issuer\"\naudience = \"broker\"\nalgorithms = [\"HS256\"]\n\
         [[hs_secrets]]\nsecret = \"{TEST_SECRET}\"\n{extra}"
    );
    toml::from_str(&text).expect("test config parses")
}

/// The shared secret of [`test_config`].
#[cfg(test)]
pub(crate) const TEST_SECRET: &str = "0123456789abcdef0123456789abcdef";

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = TEST_SECRET;

    fn parse(extra: &str) -> AuthConfig {
        test_config(extra)
    }

    #[test]
    fn defaults() {
        let config = parse("");
        assert_eq!(config.leeway_secs, 30);
        assert_eq!(config.scope_claim, "scope");
        assert_eq!(config.jwks_refresh_secs, 300);
        assert_eq!(config.jwks_min_refetch_secs, 30);
        assert_eq!(config.verified_token_cache, 10_000);
        let valid = config.validate().expect("valid");
        assert_eq!(valid.jwt.algorithms, [jsonwebtoken::Algorithm::HS256]);
        assert_eq!(valid.jwt.audience, ["broker"]);
    }

    #[test]
    fn unknown_fields_are_refused() {
        let text = "issuer = \"i\"\naudience = \"a\"\nalgorithms = [\"HS256\"]\nleway_secs = 3\n";
        assert!(toml::from_str::<AuthConfig>(text).is_err());
    }

    #[test]
    fn secrets_are_not_debug_printed() {
        assert!(!format!("{:?}", parse("")).contains(SECRET));
    }

    #[test]
    fn audience_may_be_a_list() {
        let text = "issuer = \"i\"\naudience = [\"a\", \"b\"]\nalgorithms = [\"HS256\"]\n";
        let config: AuthConfig = toml::from_str(text).expect("parses");
        assert_eq!(config.audience, ["a", "b"]);
    }
}
