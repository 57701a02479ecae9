//! `s3-broker serve`: run the service until SIGTERM or SIGINT, then drain and stop
//! ([`crate::app::shutdown`]).

use super::CliError;
use super::args::ServeArgs;
use crate::app::Application;
use crate::config::Settings;
use crate::telemetry::{LogFormat, init_with_audit};

/// Loads and validates the configuration, then serves until stopped.
pub(super) fn run(args: ServeArgs) -> Result<String, CliError> {
    let settings =
        Settings::load(args.config.as_deref()).map_err(|e| CliError::Usage(e.to_string()))?;
    let audit = settings.audit.destination.open().map_err(|e| {
        CliError::Startup(format!(
            "audit.destination {:?}: {e}",
            settings.audit.destination
        ))
    })?;
    // Kept until `serve` returns: dropping it writes out the queued lines (bounded).
    let _logs = init_with_audit(LogFormat::Json, settings.log_queue_lines, audit);
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(settings)
            .await
            .map_err(|e| CliError::Startup(e.to_string()))?;
        tracing::info!(addr = %app.addr(), "s3-broker is serving");
        app.run_until_signalled().await?;
        Ok(String::new())
    })
}
