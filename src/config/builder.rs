//! A configuration file written in code: what `s3-broker dev` generates and what the tests
//! load, built as a TOML document instead of formatted text, so that every value is quoted
//! and escaped by the `toml` crate and no caller repeats the file's layout.
//!
//! ```
//! use s3_broker::config::ConfigBuilder;
//!
//! let text = ConfigBuilder::new()
//!     .set("server", "bind", "127.0.0.1:0")
//!     .store("us-east-1", "uploads", "http://127.0.0.1:9000")
//!     .static_credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
//!     .hs256("https://issuer.example/", "s3-broker", "a-secret-of-32-bytes-or-more-0123456789")
//!     .set("policies", "dir", "policies")
//!     .text();
//! assert!(text.contains("[s3.credentials]"));
//! ```

use super::{ConfigError, Settings};
use sha2::{Digest, Sha256};
use toml::{Table, Value};

/// A configuration file being built; [`ConfigBuilder::text`] renders it and
/// [`ConfigBuilder::settings`] validates it like a file on disk.
#[derive(Debug, Clone, Default)]
pub struct ConfigBuilder {
    root: Table,
}

impl ConfigBuilder {
    /// An empty configuration (every key at its default).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` of `section` (dotted for a subsection: `"s3.credentials"`) to `value`.
    pub fn set(mut self, section: &str, key: &str, value: impl Into<Value>) -> Self {
        self.section(section).insert(key.to_owned(), value.into());
        self
    }

    /// Appends `entry` to the array of tables `key` of `section` (`[[auth.api_keys]]` is
    /// `("auth", "api_keys")`).
    pub fn push(mut self, section: &str, key: &str, entry: Table) -> Self {
        let array = self
            .section(section)
            .entry(key.to_owned())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(entries) = array {
            entries.push(Value::Table(entry));
        }
        self
    }

    /// `[s3]`: the store's `region`, `bucket` and `endpoint`, with path-style addressing (a
    /// local store has no per-bucket host names).
    pub fn store(self, region: &str, bucket: &str, endpoint: &str) -> Self {
        self.set("s3", "region", region)
            .set("s3", "bucket", bucket)
            .set("s3", "endpoint", endpoint)
            .set("s3", "path_style", true)
    }

    /// `[s3.credentials]`: static keys.
    pub fn static_credentials(self, access_key_id: &str, secret_access_key: &str) -> Self {
        self.set("s3.credentials", "source", "static")
            .set("s3.credentials", "access_key_id", access_key_id)
            .set("s3.credentials", "secret_access_key", secret_access_key)
    }

    /// `[auth]`: tokens of `issuer` for `audience`, HS256 under `secret` (more algorithms and
    /// keys can be set and pushed after).
    pub fn hs256(self, issuer: &str, audience: &str, secret: &str) -> Self {
        self.set("auth", "issuer", issuer)
            .set("auth", "audience", audience)
            .set("auth", "algorithms", vec!["HS256"])
            .push("auth", "hs_secrets", table([("secret", secret.into())]))
    }

    /// `[[auth.api_keys]]`: the key `key` (configured by its SHA-256, as an operator would)
    /// of `principal`, with `scopes`, revoked or not.
    pub fn api_key(self, key: &str, principal: &str, scopes: &[&str], revoked: bool) -> Self {
        let mut entry = table([
            ("sha256", sha256_hex(key).into()),
            ("principal", principal.into()),
            ("scopes", scopes.to_vec().into()),
        ]);
        if revoked {
            entry.insert("revoked".to_owned(), true.into());
        }
        self.push("auth", "api_keys", entry)
    }

    /// `[multipart] ticket_keys`: one more key sealing upload tickets.
    pub fn ticket_key(self, id: &str, secret: &str) -> Self {
        self.push(
            "multipart",
            "ticket_keys",
            table([("id", id.into()), ("secret", secret.into())]),
        )
    }

    /// Appends a receipt key read from a PKCS#8 PEM file (`[[receipts.keys]]`).
    pub fn receipt_key_file(self, kid: &str, path: &std::path::Path) -> Self {
        self.push(
            "receipts",
            "keys",
            table([
                ("kid", kid.into()),
                ("private_key_file", path.to_string_lossy().as_ref().into()),
            ]),
        )
    }

    /// The TOML text.
    pub fn text(&self) -> String {
        // A table of strings, numbers, booleans, arrays and tables always serializes.
        toml::to_string(&self.root).unwrap_or_default()
    }

    /// The settings of [`ConfigBuilder::text`], validated as [`Settings::from_toml`] does.
    pub fn settings(&self) -> Result<Settings, ConfigError> {
        Settings::from_toml(&self.text())
    }

    /// The table of the dotted `path`, created (with its parents) when missing; a key that
    /// held another value becomes a table.
    fn section(&mut self, path: &str) -> &mut Table {
        path.split('.').fold(&mut self.root, |table, name| {
            let entry = table
                .entry(name.to_owned())
                .or_insert_with(|| Value::Table(Table::new()));
            if !entry.is_table() {
                *entry = Value::Table(Table::new());
            }
            match entry {
                Value::Table(inner) => inner,
                _ => unreachable!("made a table above"),
            }
        })
    }
}

/// A TOML table of `entries`.
fn table<const N: usize>(entries: [(&str, Value); N]) -> Table {
    entries
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect()
}

/// Lowercase hex SHA-256 of `bytes`: how `[[auth.api_keys]] sha256` is written
/// (`printf %s "$KEY" | sha256sum`).
pub fn sha256_hex(bytes: impl AsRef<[u8]>) -> String {
    hex::encode(Sha256::digest(bytes.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_quoted_and_sections_nested() {
        let text = ConfigBuilder::new()
            .set("server", "public_url", "http://a\"b")
            .set("s3.credentials", "source", "static")
            .ticket_key("k1", "s")
            .ticket_key("k2", "t")
            .text();
        let parsed: Table = text.parse().expect("valid TOML");
        assert_eq!(parsed["server"]["public_url"].as_str(), Some("http://a\"b"));
        assert_eq!(
            parsed["s3"]["credentials"]["source"].as_str(),
            Some("static")
        );
        let keys = parsed["multipart"]["ticket_keys"]
            .as_array()
            .expect("array");
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[1]["id"].as_str(), Some("k2"));
    }

    #[test]
    fn api_keys_are_configured_by_digest() {
        let text = ConfigBuilder::new()
            .api_key("secret-key", "svc", &["upload"], true)
            .text();
        assert!(!text.contains("secret-key"), "{text}");
        assert!(text.contains(&sha256_hex("secret-key")), "{text}");
        assert!(text.contains("revoked = true"), "{text}");
    }

    #[test]
    fn sha256_hex_is_the_known_digest() {
        assert_eq!(
            sha256_hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
