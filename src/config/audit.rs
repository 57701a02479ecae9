//! `[audit]`: where audit events go and the key of their principal digests.

use super::{ConfigError, invalid};
use crate::multipart::MIN_SECRET_LEN;
use crate::telemetry::{AuditDestination, PrincipalDigestKey};
use serde::Deserialize;
use std::sync::Arc;

/// The section as written.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawAudit {
    destination: Option<String>,
    principal_key: Option<String>,
}

impl std::fmt::Debug for RawAudit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawAudit")
            .field("destination", &self.destination)
            .finish_non_exhaustive()
    }
}

/// `[audit]`, validated.
#[derive(Debug, Clone, Default)]
pub struct AuditSection {
    /// Where audit events go (default: stderr, with the other lines).
    pub destination: AuditDestination,
    /// The key of principal digests; `None`: one random key per process.
    pub principal_key: Option<Arc<PrincipalDigestKey>>,
}

/// Validates `[audit]`.
pub(super) fn validate_audit(raw: RawAudit) -> Result<AuditSection, ConfigError> {
    let destination = match raw.destination.as_deref() {
        None => AuditDestination::default(),
        Some(text) => AuditDestination::parse(text).map_err(|e| invalid("audit.destination", e))?,
    };
    let principal_key = match raw.principal_key {
        None => None,
        Some(secret) if secret.len() < MIN_SECRET_LEN => {
            return Err(invalid(
                "audit.principal_key",
                format!("at least {MIN_SECRET_LEN} bytes"),
            ));
        }
        Some(secret) => Some(Arc::new(PrincipalDigestKey::new(secret.as_bytes()))),
    };
    Ok(AuditSection {
        destination,
        principal_key,
    })
}
