//! Why a profile, or the set of profiles, could not be loaded.

use std::fmt;
use std::path::PathBuf;

/// A problem with one profile: the key it concerns (when known) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileError {
    /// The TOML key, e.g. `max_size`.
    pub key: Option<String>,
    /// What is wrong, in words an operator can act on.
    pub problem: String,
}

impl ProfileError {
    /// A problem with `key`.
    pub(crate) fn at(key: &str, problem: impl Into<String>) -> Self {
        Self {
            key: Some(key.to_owned()),
            problem: problem.into(),
        }
    }

    /// Turns a TOML parse error into a problem naming the key and the position.
    pub(crate) fn from_toml(error: &toml::de::Error, text: &str) -> Self {
        let message = error.message().trim_end().to_owned();
        let named = ["unknown field `", "missing field `"]
            .iter()
            .find_map(|lead| message.strip_prefix(lead))
            .and_then(|rest| rest.split('`').next())
            .map(str::to_owned);
        let start = error.span().map(|span| span.start.min(text.len()));
        let key = named.or_else(|| {
            let start = start?;
            let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
            let line = text[line_start..].lines().next().unwrap_or_default();
            let (key, _) = line.split_once('=')?;
            let key = key.trim().trim_matches(|c| c == '"' || c == '\'');
            (!key.is_empty() && !key.starts_with('[')).then(|| key.to_owned())
        });
        let problem = match start {
            Some(start) if !text.is_empty() => {
                let line = text[..start].matches('\n').count() + 1;
                format!("{message} (line {line})")
            }
            _ => message,
        };
        Self { key, problem }
    }
}

impl fmt::Display for ProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.key {
            Some(key) => write!(f, "key `{key}`: {}", self.problem),
            None => f.write_str(&self.problem),
        }
    }
}

impl std::error::Error for ProfileError {}

/// Loading the profile directory failed; the service must not start.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The directory or a file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The directory or file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// One profile file is invalid.
    #[error("profile file {path}: {error}")]
    Profile {
        /// The file.
        path: PathBuf,
        /// What is wrong in it.
        error: ProfileError,
    },
    /// The profiles are fine one by one but not together (no default, duplicate names,
    /// overlapping namespaces).
    #[error("profiles in {dir}: {problem}")]
    Registry {
        /// The directory.
        dir: PathBuf,
        /// What is wrong.
        problem: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Spec {
        bucket: String,
        max: Option<u64>,
    }

    fn error_for(text: &str) -> ProfileError {
        let err = toml::from_str::<Spec>(text).unwrap_err();
        ProfileError::from_toml(&err, text)
    }

    #[test]
    fn names_the_key() {
        let e = error_for("bucket = 'b'\nmaxx = 1\n");
        assert_eq!(e.key.as_deref(), Some("maxx"));
        assert!(
            e.problem.contains("unknown field") && e.problem.contains("line 2"),
            "{e}"
        );
        assert_eq!(error_for("max = 1\n").key.as_deref(), Some("bucket"));
        let e = error_for("bucket = 'b'\nmax = 'ten'\n");
        assert_eq!(e.key.as_deref(), Some("max"));
        assert!(e.to_string().starts_with("key `max`: invalid type"), "{e}");
    }
}
