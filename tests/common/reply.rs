//! The broker's answer as both HTTP test layers see it (the in-process `api` binary and the
//! end-to-end `e2e` binary), with the assertions every test makes of a grant or a problem
//! document. Each binary includes this file with `#[path]` and builds `ApiReply` from its
//! own client's response.

use chrono::{DateTime, Utc};
use serde_json::Value;

/// The broker's answer.
#[derive(Debug)]
pub(crate) struct ApiReply {
    /// What was sent, for messages.
    pub request: String,
    /// The status.
    pub status: u16,
    /// The headers, names in lowercase.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl ApiReply {
    /// A header as text (the first, when repeated).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The body as text, cut for messages.
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body)
            .chars()
            .take(800)
            .collect()
    }

    /// The body as JSON (panics with the body when it is not).
    #[track_caller]
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{}: the body is not JSON ({e}): {}",
                self.request,
                self.text()
            )
        })
    }

    /// Asserts the status.
    #[track_caller]
    pub(crate) fn assert_status(&self, status: u16, what: &str) -> &Self {
        assert_eq!(
            self.status,
            status,
            "{what}: expected {status} for {}, got {} with {:?}\n{}",
            self.request,
            self.status,
            self.headers,
            self.text()
        );
        self
    }

    /// Asserts a 200 JSON grant (`Cache-Control: no-store`, a `url`, `expires_at` after
    /// `server_time`) and returns it.
    #[track_caller]
    pub(crate) fn grant(&self, what: &str) -> Grant {
        self.assert_status(200, what);
        assert_eq!(
            self.header("cache-control"),
            Some("no-store"),
            "{what}: a grant is a bearer secret and must not be cached"
        );
        assert!(
            self.header("content-type")
                .is_some_and(|t| t.starts_with("application/json")),
            "{what}: content type {:?}",
            self.header("content-type")
        );
        let json = self.json();
        let time = |name: &str| -> DateTime<Utc> {
            json[name]
                .as_str()
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .unwrap_or_else(|| panic!("{what}: `{name}` is not an RFC 3339 time in {json}"))
                .with_timezone(&Utc)
        };
        let server_time = time("server_time");
        let expires_at = time("expires_at");
        let skew = (server_time - Utc::now()).num_seconds().abs();
        assert!(
            skew <= 5,
            "{what}: server_time {server_time} is {skew} s off"
        );
        assert!(
            expires_at > server_time,
            "{what}: expires_at {expires_at} is not after server_time {server_time}"
        );
        assert!(
            json["url"].as_str().is_some_and(|u| u.starts_with("http")),
            "{what}: no url in {json}"
        );
        Grant {
            json,
            server_time,
            expires_at,
        }
    }

    /// Asserts an RFC 9457 problem with `status` and `code` and returns its body.
    #[track_caller]
    pub(crate) fn problem(&self, status: u16, code: &str, what: &str) -> Value {
        if std::env::var_os("E2E_SHOW_REJECTIONS").is_some() {
            eprintln!("refused: {what}: {} {}", self.status, self.text());
        }
        self.assert_status(status, what);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{what}: errors are application/problem+json"
        );
        let json = self.json();
        assert_eq!(json["code"], code, "{what}: code in {json}");
        assert_eq!(json["status"], status, "{what}: status member in {json}");
        assert!(
            json["title"].is_string() && json["detail"].is_string() && json["type"].is_string(),
            "{what}: RFC 9457 members missing in {json}"
        );
        assert!(
            json.get("url").is_none() && !self.text().contains("X-Amz-Signature"),
            "{what}: an error must not carry a grant: {json}"
        );
        json
    }

    /// Asserts a 401 with `code`, a `WWW-Authenticate: Bearer ...` challenge and no grant.
    #[track_caller]
    pub(crate) fn unauthorized(&self, code: &str, what: &str) -> Value {
        let json = self.problem(401, code, what);
        let challenge = self.header("www-authenticate").unwrap_or_default();
        assert!(
            challenge.starts_with("Bearer "),
            "{what}: WWW-Authenticate {challenge:?} is not a Bearer challenge"
        );
        if code != "missing_credentials" {
            assert!(
                challenge.contains("error="),
                "{what}: a refused credential's challenge names the error: {challenge:?}"
            );
        }
        json
    }
}

/// A grant as answered.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    /// The body.
    pub json: Value,
    /// Its `server_time`.
    pub server_time: DateTime<Utc>,
    /// Its `expires_at`.
    pub expires_at: DateTime<Utc>,
}

impl Grant {
    /// A string member.
    #[track_caller]
    pub(crate) fn str(&self, name: &str) -> &str {
        self.json[name]
            .as_str()
            .unwrap_or_else(|| panic!("no string `{name}` in {}", self.json))
    }

    /// The key.
    pub(crate) fn key(&self) -> &str {
        self.str("key")
    }

    /// The lifetime, `expires_at - server_time`, rounded up to whole seconds: the signing
    /// time is `server_time` truncated to the second, so this is the signed lifetime.
    pub(crate) fn lifetime_secs(&self) -> i64 {
        let millis = (self.expires_at - self.server_time).num_milliseconds();
        (millis + 999).div_euclid(1000)
    }
}
