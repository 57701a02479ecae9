//! `s3-broker revoke`: a "not before" time for a principal's credentials (or everyone's),
//! written to the shared limits store and to the revocation file, whichever are configured.
//! A subject names both a token subject (under the configured issuer) and an API key
//! principal.

use super::CliError;
use super::args::RevokeArgs;
use crate::config::Settings;
use crate::domain::NamespaceSegment;
use crate::limits::{Limiter, StoreSetting};
use crate::revocation::write_file;
use crate::telemetry::LimitCounters;

/// Writes the revocation; prints what was revoked and where.
pub(super) fn run(args: RevokeArgs) -> Result<String, CliError> {
    let settings =
        Settings::load(args.config.as_deref()).map_err(|e| CliError::Usage(e.to_string()))?;
    let shared = matches!(settings.limits.store, StoreSetting::Redis(_));
    if !shared && settings.revocation.file.is_none() {
        return Err(CliError::Usage(
            "nowhere to write: set [limits] store = \"redis://...\" or [revocation] file".into(),
        ));
    }
    let segments: Vec<NamespaceSegment> = args
        .sub
        .iter()
        .flat_map(|sub| {
            [
                NamespaceSegment::for_subject(Some(&settings.auth.issuer), sub),
                NamespaceSegment::for_api_key(sub),
            ]
        })
        .collect();
    // Whole seconds, rounded up: whatever was issued in this second is refused too.
    let at =
        chrono::DateTime::from_timestamp(chrono::Utc::now().timestamp() + 1, 0).unwrap_or_default();
    let mut written = Vec::new();
    if shared {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async {
            let limiter = Limiter::new(&settings.limits, None, LimitCounters::detached())
                .map_err(CliError::Usage)?;
            let fail = |e: String| CliError::Startup(format!("limits store: {e}"));
            if args.all {
                limiter.revoke(None, at).await.map_err(fail)?;
            }
            for segment in &segments {
                limiter.revoke(Some(segment), at).await.map_err(fail)?;
            }
            Ok::<_, CliError>(())
        })?;
        written.push("the limits store".to_owned());
    }
    if let Some(file) = &settings.revocation.file {
        let names: Vec<String> = segments.iter().map(|s| s.as_str().to_owned()).collect();
        write_file(file, &names, args.all, at).map_err(CliError::Usage)?;
        written.push(file.display().to_string());
    }
    let whom = if args.all {
        "everything".to_owned()
    } else {
        args.sub.join(", ")
    };
    Ok(format!(
        "revoked {whom} issued before {} in {}\n",
        at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        written.join(" and ")
    ))
}
