//! The revocation file, for deployments without a shared store: JSON ([`Revocations`]) read at
//! startup and polled every `poll_secs`, like a JWKS. A file that cannot be read or parsed
//! keeps the last good list (and says so in the log); a missing file is an empty list.

use super::Revocations;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

/// `[revocation]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RevocationConfig {
    /// The revocation file (none: revocations live in the shared store only).
    pub file: Option<PathBuf>,
    /// How often the file is read again, in seconds.
    pub poll_secs: u64,
}

impl Default for RevocationConfig {
    fn default() -> Self {
        Self {
            file: None,
            poll_secs: 10,
        }
    }
}

/// `[revocation]`, validated.
#[derive(Debug, Clone)]
pub struct RevocationSettings {
    /// The file, if any.
    pub file: Option<PathBuf>,
    /// Its polling period.
    pub poll: Duration,
}

impl RevocationConfig {
    /// Checks the section; the error names the key.
    pub fn validate(self) -> Result<RevocationSettings, (String, String)> {
        if !(1..=3600).contains(&self.poll_secs) {
            return Err((
                "revocation.poll_secs".into(),
                "between 1 and 3600".to_owned(),
            ));
        }
        Ok(RevocationSettings {
            file: self.file,
            poll: Duration::from_secs(self.poll_secs),
        })
    }
}

/// The current list read from the file, shared by every worker.
#[derive(Debug)]
pub struct RevocationFile {
    path: PathBuf,
    current: RwLock<(Arc<Revocations>, Option<SystemTime>)>,
}

impl RevocationFile {
    /// Reads `path` once (a missing file is an empty list; an unreadable one is an error).
    pub fn open(path: PathBuf) -> Result<Self, String> {
        let (list, modified) = read(&path)?;
        Ok(Self {
            path,
            current: RwLock::new((Arc::new(list), modified)),
        })
    }

    /// The current list.
    pub fn current(&self) -> Arc<Revocations> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .0
            .clone()
    }

    /// Reads the file again if it changed; a bad file keeps the last good list.
    pub fn refresh(&self) {
        let modified = std::fs::metadata(&self.path)
            .and_then(|m| m.modified())
            .ok();
        let known = self
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .1;
        if modified.is_some() && modified == known {
            return;
        }
        match read(&self.path) {
            Ok((list, modified)) => {
                *self.current.write().unwrap_or_else(PoisonError::into_inner) =
                    (Arc::new(list), modified);
            }
            Err(problem) => {
                tracing::warn!(%problem, "revocation file unreadable: keeping the last good list");
            }
        }
    }

    /// Polls the file every `period` on the current tokio runtime, for the life of the
    /// process.
    pub fn spawn_polling(self: &Arc<Self>, period: Duration) {
        let file = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(file) = file.upgrade() else { return };
                file.refresh();
            }
        });
    }
}

fn read(path: &Path) -> Result<(Revocations, Option<SystemTime>), String> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
            let list =
                serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
            Ok((list, modified))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok((Revocations::default(), None)),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Adds a revocation to the file at `path` (created if missing), replacing it atomically
/// (written beside it, then renamed).
pub fn write_file(
    path: &Path,
    segments: &[String],
    all: bool,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), String> {
    let (mut list, _) = read(path)?;
    if all {
        list.revoke(None, at);
    }
    for segment in segments {
        list.revoke(Some(segment), at);
    }
    let text = serde_json::to_string_pretty(&list).map_err(|e| e.to_string())?;
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text + "\n").map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_revocations_are_read_back_and_bad_files_keep_the_last_list() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("revoked.json");
        let file = RevocationFile::open(path.clone()).unwrap();
        assert!(!file.current().refuses("alice", Some(1)));
        let at = chrono::DateTime::from_timestamp(1000, 0).unwrap();
        write_file(&path, &["alice".into()], false, at).unwrap();
        // mtime granularity: force a re-read.
        file.current.write().unwrap().1 = None;
        file.refresh();
        assert!(file.current().refuses("alice", Some(999)));
        assert!(!file.current().refuses("bob", Some(999)));
        std::fs::write(&path, "not json").unwrap();
        file.current.write().unwrap().1 = None;
        file.refresh();
        assert!(
            file.current().refuses("alice", Some(999)),
            "last good list kept"
        );
    }
}
