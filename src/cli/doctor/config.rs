//! Check 1: the configuration loads and validates, `[auth]` included.

use super::finding::Finding;
use super::redact::one_line_redacted;
use crate::auth::Authenticator;
use crate::config::Settings;
use std::path::Path;

/// Check 1: the configuration loads and validates, `[auth]` included (as `serve` does before
/// it binds). A failure is one line, with quoted values and source excerpts left out.
pub(super) fn check_config(path: Option<&Path>) -> (Finding, Option<Settings>) {
    let shown = path.map_or_else(
        || "the environment (S3_BROKER__*)".to_owned(),
        |p| p.display().to_string(),
    );
    let settings = match Settings::load(path) {
        Ok(settings) => settings,
        Err(err) => {
            let message = err.to_string();
            let message = message.strip_prefix("configuration: ").unwrap_or(&message);
            return (Finding::fail("config", one_line_redacted(message)), None);
        }
    };
    if let Err(err) = Authenticator::from_config(&settings.auth) {
        return (
            Finding::fail("config", one_line_redacted(&format!("auth: {err}"))),
            None,
        );
    }
    let finding = Finding::ok(
        "config",
        format!(
            "{shown} is valid (region {}, backend {})",
            settings.s3.region.as_str(),
            settings.s3.backend
        ),
    );
    (finding, Some(settings))
}
