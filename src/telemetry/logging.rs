//! Logging: JSON lines for `serve` ([`super::json`]), compact text for `dev`
//! ([`super::text`]), each line of a request naming its id ([`super::request_scope`]).
//! Filter with `RUST_LOG`.
//! Nothing logged carries a token, a secret or a signed URL: the access log has no query
//! string and no headers, and error messages are built to be log-safe. Nothing logged
//! carries a source path of the build machine either: no `file`/`line` fields, and a panic
//! names its location relative to its crate ([`portable_location`]).
//!
//! Every line goes through the bounded queue of [`super::log_queue`]: logging never blocks a
//! request and never fails one.

use super::json::JsonLines;
use super::log_queue::{self, LogFormat, LogGuard, QueueWriter};
use super::span_fields::JsonSpanFields;
use super::text::TextLines;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber and the log queue of `queue_lines` lines, once; later
/// calls return `None`. Keep the guard for the life of the process: dropping it writes out
/// what is queued (waiting a bounded time).
pub fn init(format: LogFormat, queue_lines: usize) -> Option<LogGuard> {
    init_with_audit(format, queue_lines, None)
}

/// As [`init`], with audit events ([`super::audit`]) written to `audit` when given (else to
/// stderr with the rest).
pub fn init_with_audit(
    format: LogFormat,
    queue_lines: usize,
    audit: Option<Box<dyn std::io::Write + Send>>,
) -> Option<LogGuard> {
    let guard = log_queue::install(format, queue_lines, audit)?;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,aws_config=warn,aws_smithy_runtime=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(QueueWriter)
        .log_internal_errors(false);
    let _ = match format {
        LogFormat::Json => builder
            .fmt_fields(JsonSpanFields)
            .event_format(JsonLines)
            .try_init(),
        LogFormat::Text => builder
            .with_ansi(false)
            .event_format(TextLines::compact())
            .try_init(),
    };
    super::access_log::decide_wanted();
    super::audit::decide_wanted();
    std::panic::set_hook(Box::new(log_panic));
    Some(guard)
}

/// The panic hook of `serve` and `dev`: one ERROR line through the queue (a panicking thread
/// must not block on stderr either), with the location relative to its crate.
fn log_panic(info: &std::panic::PanicHookInfo<'_>) {
    let payload = info.payload();
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    let location = info
        .location()
        .map(|l| format!("{}:{}", portable_location(l.file()), l.line()))
        .unwrap_or_default();
    let thread = std::thread::current();
    tracing::error!(
        target: "s3_broker::panic",
        thread = thread.name().unwrap_or("unnamed"),
        location,
        panic = message,
        "a thread panicked"
    );
}

/// A source file named without the build machine's directories: relative paths (this crate's
/// `src/...`) as they are, a dependency's from its crate directory on
/// (`actix-http-3.9.0/src/h1/dispatcher.rs`), anything else by its file name.
pub fn portable_location(file: &str) -> &str {
    if !file.starts_with('/') && !file.contains(":\\") {
        return file;
    }
    let file_name = file.rsplit(['/', '\\']).next().unwrap_or(file);
    match file.rfind("/src/") {
        Some(src) => {
            let crate_dir = file[..src].rfind('/').map_or(0, |i| i + 1);
            &file[crate_dir..]
        }
        None => file_name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_lose_the_build_machines_directories() {
        assert_eq!(portable_location("src/http/grant.rs"), "src/http/grant.rs");
        assert_eq!(
            portable_location(
                "/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/actix-http-3.9.0/src/h1/dispatcher.rs"
            ),
            "actix-http-3.9.0/src/h1/dispatcher.rs"
        );
        assert_eq!(
            portable_location("/rustc/abc/library/core/src/option.rs"),
            "core/src/option.rs"
        );
        assert_eq!(portable_location("/home/me/build.rs"), "build.rs");
    }
}
