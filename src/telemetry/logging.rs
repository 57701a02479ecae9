//! Logging: JSON lines for `serve`, compact text for `dev`. Filter with `RUST_LOG`.
//! Nothing logged carries a token, a secret or a signed URL: the access log has no query
//! string and no headers, and error messages are built to be log-safe.

use tracing_subscriber::EnvFilter;

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line (production).
    Json,
    /// Human-readable lines (development).
    Text,
}

/// Installs the global subscriber once; later calls are ignored.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,aws_config=warn,aws_smithy_runtime=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .with_current_span(false)
            .fmt_fields(super::span_fields::JsonSpanFields)
            .try_init(),
        LogFormat::Text => builder.compact().try_init(),
    };
}
