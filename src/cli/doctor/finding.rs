//! What the doctor prints: a [`Finding`] (status, check, explanation) per line, and the
//! [`Reporter`] that writes each as it is made and sums them up at the end.

use super::DoctorError;
use std::fmt;
use std::io::Write;

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Status {
    /// Nothing to do.
    Ok,
    /// Works, but something should be fixed or looked at.
    Warn,
    /// Will not work: fix before deploying.
    Fail,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Warn => "warn",
            Self::Fail => "FAIL",
        }
    }
}

/// One printed line: a status, the check's name and an explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Finding {
    /// The outcome.
    pub status: Status,
    /// The check, e.g. `bucket uploads`.
    pub check: String,
    /// What was found and, unless `ok`, what to do.
    pub message: String,
}

impl Finding {
    fn new(status: Status, check: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status,
            check: check.into(),
            message: message.into(),
        }
    }

    pub(super) fn ok(check: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Status::Ok, check, message)
    }

    pub(super) fn warn(check: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Status::Warn, check, message)
    }

    pub(super) fn fail(check: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Status::Fail, check, message)
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:<4} {}: {}",
            self.status.label(),
            self.check,
            self.message
        )
    }
}

/// Writes each finding as it is made, and counts them.
pub(super) struct Reporter<'a> {
    pub(super) out: &'a mut dyn Write,
    pub(super) failed: usize,
    pub(super) warned: usize,
    pub(super) passed: usize,
}

impl Reporter<'_> {
    pub(super) fn report(&mut self, finding: Finding) -> Result<(), DoctorError> {
        match finding.status {
            Status::Ok => self.passed += 1,
            Status::Warn => self.warned += 1,
            Status::Fail => self.failed += 1,
        }
        writeln!(self.out, "{finding}")
            .and_then(|()| self.out.flush())
            .map_err(DoctorError::Output)
    }

    pub(super) fn summary(&self) -> String {
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        format!(
            "doctor: {} passed, {}, {}",
            self.passed,
            plural(self.warned, "warning"),
            if self.failed == 0 {
                "nothing failed".to_owned()
            } else {
                format!("{} failed", self.failed)
            }
        )
    }
}
