//! What every handler shares. Built once at startup; nothing in it changes per request except
//! the credential and signing-key caches (and the drain flag, once, at shutdown).

use crate::auth::Authenticator;
use crate::multipart::TicketKeys;
use crate::policy::ProfileRegistry;
use crate::s3::CredentialSource;
use crate::s3::S3Client;
use crate::sigv4::Signer;

/// Shared application state.
pub struct AppState {
    /// What the store enforces; grants adapt to it (see [`crate::backend`]).
    pub backend: crate::backend::Backend,
    /// Signs grants.
    pub signer: Signer,
    /// The broker's own AWS credentials.
    pub credentials: CredentialSource,
    /// For listing (and multipart) calls.
    pub s3: S3Client,
    /// Authenticates callers.
    pub authenticator: Authenticator,
    /// Upload profiles.
    pub profiles: ProfileRegistry,
    /// Seal and open multipart upload tickets.
    pub tickets: std::sync::Arc<TicketKeys>,
    /// Sign upload receipts and publish their keys.
    pub receipts: std::sync::Arc<crate::receipt::ReceiptKeys>,
    /// How long a multipart upload ticket lives.
    pub ticket_ttl: chrono::Duration,
    /// The broker's own URL for URLs that point at it (`[server] public_url`); `None`: each
    /// request's scheme and host.
    pub public_url: Option<String>,
    /// The origins a form grant may redirect to (`POST /v1/forms`, `redirect`): the CORS
    /// origins and the origin of `public_url`.
    pub redirect_origins: Vec<String>,
    /// Prometheus metrics of this instance; `GET /metrics` renders them when
    /// `serve_metrics` is set.
    pub metrics: std::sync::Arc<crate::telemetry::Metrics>,
    /// Whether `GET /metrics` answers (`[server] metrics`).
    pub serve_metrics: bool,
    /// Rates, quotas and revocations (`[limits]`, `[revocation]`).
    pub limits: std::sync::Arc<crate::limits::Limiter>,
    /// How long a request may take to deliver its whole body (`[server] body_timeout_secs`).
    pub body_timeout: std::time::Duration,
    /// Scan tags S3 reported lately (downloads of profiles with `scan`).
    pub scan_tags: super::ScanTags,
    /// Set on SIGTERM or SIGINT: `/readyz` answers 503 and responses close their connection.
    pub drain: super::Drain,
    /// Audit events of grants and verifications (`[audit]`).
    pub audit: super::Audit,
}

impl AppState {
    /// What follows an abort the broker made of the multipart `upload` of `principal` (S3
    /// accepted it): its audit event (`outcome` says why when the broker aborted it on its
    /// own) and its place among the principal's open uploads given back
    /// (`concurrent_multipart`).
    pub(crate) async fn aborted(
        &self,
        principal: &crate::domain::NamespaceSegment,
        profile: &str,
        upload: crate::s3::UploadRef<'_>,
        outcome: Option<&'static str>,
    ) {
        self.audit.abort(principal, profile, upload, outcome);
        self.limits
            .close_upload(principal, profile, upload.key.as_str())
            .await;
    }
}
