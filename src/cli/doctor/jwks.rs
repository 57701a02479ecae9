//! Check 2b: `jwks`: with `[auth] jwks_url`, the issuer's key set answers now. While it does
//! not, `serve` refuses every token signed with a key it has not cached (all of the issuer's
//! tokens, on a fresh start; configured static keys and API keys keep working).

use super::finding::Finding;
use crate::auth::{Authenticator, JwksError};
use crate::config::Settings;
use chrono::Utc;

/// Fetches the key set once, as `serve` does at startup; `None` without a JWKS URL.
pub(super) async fn check_jwks(settings: &Settings) -> Option<Finding> {
    let url = settings.auth.jwks_url.as_deref()?;
    let origin = url_origin(url);
    // The configuration check already built an authenticator from the same section.
    let outcome = match Authenticator::from_config(&settings.auth) {
        Ok(authenticator) => authenticator
            .warm_up(Utc::now())
            .await
            .map(|()| authenticator.jwks_stats().map_or(0, |stats| stats.keys)),
        Err(err) => return Some(Finding::fail("jwks", format!("auth: {err}"))),
    };
    Some(judge_jwks(&origin, outcome))
}

/// The verdict on one fetch of the key set at `origin`: its number of usable keys, or why
/// it failed.
pub(super) fn judge_jwks(origin: &str, outcome: Result<usize, JwksError>) -> Finding {
    match outcome {
        Ok(0) => Finding::fail(
            "jwks",
            format!(
                "{origin} answered a key set without a usable key for the configured \
                 algorithms: tokens signed by the issuer will be refused"
            ),
        ),
        Ok(keys) => Finding::ok("jwks", format!("{keys} usable key(s) from {origin}")),
        Err(err) => Finding::fail(
            "jwks",
            format!(
                "{origin}: {}; tokens are refused until the key set can be fetched",
                without_queries(&err.to_string())
            ),
        ),
    }
}

/// `scheme://host[:port]` of a URL, or a placeholder: enough to name the issuer without its
/// path or query.
fn url_origin(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .map(|u| u.origin().ascii_serialization())
        .filter(|origin| origin != "null")
        .unwrap_or_else(|| "the JWKS URL".to_owned())
}

/// `text` with the query of every URL in it replaced by `?…` (an HTTP client's error names
/// the URL it failed on, whose query could carry a credential).
fn without_queries(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_query = false;
    for c in text.chars() {
        if in_query {
            if c.is_whitespace() || c == ')' {
                in_query = false;
                out.push(c);
            }
        } else if c == '?' {
            in_query = true;
            out.push_str("?…");
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::doctor::finding::Status;

    #[test]
    fn keys_pass_and_an_empty_set_or_a_failed_fetch_fails() {
        let ok = judge_jwks("https://id.example.com", Ok(2));
        assert_eq!(ok.status, Status::Ok);
        assert!(
            ok.message
                .contains("2 usable key(s) from https://id.example.com")
        );
        assert_eq!(
            judge_jwks("https://id.example.com", Ok(0)).status,
            Status::Fail
        );
        let down = judge_jwks("https://id.example.com", Err(JwksError::Status(503)));
        assert_eq!(down.status, Status::Fail);
        assert!(down.message.contains("HTTP 503"), "{}", down.message);
    }

    #[test]
    fn failures_never_show_a_query() {
        let failed = judge_jwks(
            "https://id.example.com",
            Err(JwksError::Request(
                "error sending request for url (https://id.example.com/jwks?token=s3cr3t): \
                 connection refused"
                    .into(),
            )),
        );
        assert!(!failed.message.contains("s3cr3t"), "{}", failed.message);
        assert!(failed.message.contains("/jwks?…): connection refused"));
    }

    #[test]
    fn the_origin_names_scheme_host_and_port_only() {
        assert_eq!(
            url_origin("https://id.example.com:8443/.well-known/jwks.json?k=v"),
            "https://id.example.com:8443"
        );
        assert_eq!(url_origin("not a url"), "the JWKS URL");
    }
}
