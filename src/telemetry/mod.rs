//! What the service tells its operators: logs ([`logging`]), Prometheus metrics ([`metrics`])
//! and request ids ([`request_id`]). None of them ever carries a token, a secret, a signed
//! URL or an object key.

pub mod logging;
pub mod metrics;
pub mod request_id;
pub mod span_fields;

pub use logging::{LogFormat, init};
pub use metrics::{Metrics, S3Calls};
pub use request_id::RequestId;
