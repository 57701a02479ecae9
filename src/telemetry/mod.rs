//! What the service tells its operators: logs ([`logging`], through the bounded queue of
//! [`log_queue`], with the [`access_log`] and the [`audit`] events), Prometheus metrics
//! ([`metrics`]) and request ids ([`request_id`], named in the request's log lines through
//! [`request_scope`]). None of them ever carries a token, a
//! secret or a signed URL; only audit events name object keys.

pub mod access_log;
pub mod audit;
#[cfg(test)]
mod captured;
mod json;
mod limits;
mod line_sink;
pub mod log_queue;
pub mod logging;
pub mod metrics;
pub mod request_id;
pub mod request_scope;
pub mod span_fields;
mod text;

pub use access_log::AccessRecord;
pub use audit::{AuditDestination, AuditEvent, AuditRecord, AuditTexts, PrincipalDigestKey};
pub use json::JsonLines;
pub(crate) use json::{needs_escape, push_json_str, timestamp_secs_bytes};
pub use limits::LimitCounters;
pub use log_queue::{DEFAULT_QUEUE_LINES, LogFormat, LogGuard};
pub use logging::{init, init_with_audit};
pub use metrics::{Metrics, S3Calls};
pub use request_id::RequestId;
