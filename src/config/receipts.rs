//! `[receipts]`: the issuer and the Ed25519 keys of upload receipts.

use super::{ConfigError, invalid};
use crate::receipt::{ReceiptKeyId, ReceiptKeySpec, ReceiptKeys};
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::Arc;

/// The section as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawReceipts {
    issuer: Option<String>,
    keys: Vec<RawReceiptKey>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReceiptKey {
    kid: String,
    private_key_file: Option<PathBuf>,
    private_key: Option<String>,
    public_key: Option<String>,
}

impl std::fmt::Debug for RawReceiptKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawReceiptKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// `[receipts]`, validated.
#[derive(Debug, Clone)]
pub struct ReceiptsSection {
    /// The `iss` of receipts: `receipts.issuer`, else `server.public_url`, else `s3-broker`.
    pub issuer: String,
    /// The configured keys (the first signs, all are published); `None`: one random key per
    /// process.
    pub keys: Option<Arc<ReceiptKeys>>,
}

/// Validates `[receipts]`; `public_url` is the default issuer.
pub(super) fn validate_receipts(
    raw: RawReceipts,
    public_url: Option<&str>,
) -> Result<ReceiptsSection, ConfigError> {
    let issuer = raw
        .issuer
        .or_else(|| public_url.map(str::to_owned))
        .unwrap_or_else(|| "s3-broker".to_owned());
    if raw.keys.is_empty() {
        return Ok(ReceiptsSection { issuer, keys: None });
    }
    let mut keys = Vec::with_capacity(raw.keys.len());
    for (i, key) in raw.keys.into_iter().enumerate() {
        let at = |field: &str| format!("receipts.keys[{i}].{field}");
        let kid = ReceiptKeyId::new(&key.kid).map_err(|e| invalid(&at("kid"), e))?;
        let spec = match (key.private_key_file, key.private_key, key.public_key) {
            (Some(path), None, None) => {
                ReceiptKeySpec::Private(std::fs::read_to_string(&path).map_err(|e| {
                    invalid(&at("private_key_file"), format!("{}: {e}", path.display()))
                })?)
            }
            (None, Some(pem), None) => ReceiptKeySpec::Private(pem),
            (None, None, Some(x)) => ReceiptKeySpec::Public(x),
            _ => {
                return Err(invalid(
                    &at("kid"),
                    "set exactly one of private_key_file, private_key, public_key",
                ));
            }
        };
        keys.push((kid, spec));
    }
    let keys = ReceiptKeys::new(&issuer, keys).map_err(|e| invalid("receipts.keys", e))?;
    Ok(ReceiptsSection {
        issuer,
        keys: Some(Arc::new(keys)),
    })
}
