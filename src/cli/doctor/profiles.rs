//! Check 2: the profiles load and the configured backend can enforce them.

use super::finding::Finding;
use super::redact::one_line_redacted;
use crate::app::{StartupError, load_profiles};
use crate::config::Settings;
use crate::policy::ProfileRegistry;

/// Check 2: the profiles load (with the options `serve` uses) and the backend can enforce
/// each of them ([`crate::policy::Profile::check_backend`]).
pub(super) fn check_profiles(settings: &Settings) -> (Finding, Option<ProfileRegistry>) {
    let profiles = match load_profiles(settings) {
        Ok(profiles) => profiles,
        Err(err @ StartupError::Backend(_)) => {
            return (Finding::fail("profiles", err.to_string()), None);
        }
        Err(err) => {
            return (
                Finding::fail("profiles", one_line_redacted(&err.to_string())),
                None,
            );
        }
    };
    let names: Vec<&str> = profiles.profiles().map(|p| p.name()).collect();
    let finding = Finding::ok(
        "profiles",
        format!(
            "{} loaded from {} ({}); backend {} can enforce them",
            names.len(),
            settings.policies_dir.display(),
            names.join(", "),
            settings.s3.backend
        ),
    );
    (finding, Some(profiles))
}
