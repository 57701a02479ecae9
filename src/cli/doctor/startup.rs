//! Check 8: the warnings `serve` logs at startup (`ticket-keys`, `public-url`), with the same
//! text ([`crate::app::StartupWarning`]).

use super::finding::Finding;
use crate::app::{NO_PUBLIC_URL, NO_TICKET_KEYS};

/// Check 8: `[multipart] ticket_keys`, which every replica must share (the startup warning
/// of `serve`).
pub(super) fn judge_ticket_keys(configured: bool, multipart: bool) -> Finding {
    match (configured, multipart) {
        (true, _) => Finding::ok("ticket-keys", "configured"),
        (false, false) => Finding::ok(
            "ticket-keys",
            "not configured, and no profile allows multipart uploads",
        ),
        (false, true) => Finding::warn(NO_TICKET_KEYS.check, NO_TICKET_KEYS.text),
    }
}

/// Check 8: `[server] public_url`, the base of Uppy 6's completion URLs (the startup warning
/// of `serve`).
pub(super) fn judge_public_url(public_url: Option<&str>, multipart: bool) -> Finding {
    match (public_url, multipart) {
        (Some(url), _) => Finding::ok("public-url", url.to_owned()),
        (None, false) => Finding::ok(
            "public-url",
            "not set, and no profile allows multipart uploads (Uppy 6 completion URLs)",
        ),
        (None, true) => Finding::warn(NO_PUBLIC_URL.check, NO_PUBLIC_URL.text),
    }
}

#[cfg(test)]
mod tests {
    use super::super::finding::Status;
    use super::*;

    #[test]
    fn startup_warnings_are_mirrored() {
        assert_eq!(judge_ticket_keys(false, true).status, Status::Warn);
        assert_eq!(judge_ticket_keys(false, false).status, Status::Ok);
        assert_eq!(judge_ticket_keys(true, true).status, Status::Ok);
        assert_eq!(judge_public_url(None, true).status, Status::Warn);
        assert_eq!(judge_public_url(None, false).status, Status::Ok);
        assert_eq!(
            judge_public_url(Some("https://u.example.com"), true).status,
            Status::Ok
        );
    }
}
