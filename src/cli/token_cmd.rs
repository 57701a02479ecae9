//! `s3-broker token`: mint a development token for the configured HS secret.

use super::CliError;
use super::args::TokenArgs;
use crate::auth::Authenticator;
use crate::config::Settings;
use crate::domain::Scopes;
use std::path::PathBuf;

/// Prints one token and a newline.
pub(super) fn run(args: TokenArgs) -> Result<String, CliError> {
    let path = args
        .config
        .unwrap_or_else(|| PathBuf::from(crate::dev::DEFAULT_DIR).join("config.toml"));
    if !path.is_file() {
        return Err(CliError::Usage(format!(
            "{} not found: pass --config FILE, or start 's3-broker dev' first",
            path.display()
        )));
    }
    let settings = Settings::load(Some(&path)).map_err(|e| CliError::Usage(e.to_string()))?;
    let authenticator =
        Authenticator::from_config(&settings.auth).map_err(|e| CliError::Usage(e.to_string()))?;
    let scopes = if args.scopes.is_empty() {
        Scopes::all()
    } else {
        args.scopes.into_iter().collect()
    };
    let token = authenticator
        .mint_dev_token(
            &args.sub,
            scopes,
            args.ttl.as_duration(),
            chrono::Utc::now(),
        )
        .map_err(|e| CliError::Usage(e.to_string()))?;
    Ok(format!("{token}\n"))
}
