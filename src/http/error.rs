//! The one error type of the HTTP layer, mapped in one place to a status, a stable `code` and
//! an RFC 9457 `application/problem+json` body. Messages never contain tokens, secrets or
//! signed URLs.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use std::fmt;

/// An error answered to a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    detail: String,
    /// `WWW-Authenticate` challenge for 401/403 from authentication.
    challenge: Option<&'static str>,
    /// Seconds for `Retry-After` on 503.
    retry_after: Option<u32>,
    /// `Allow` on 405.
    allow: Option<&'static str>,
}

/// The stable code of an error response, kept in the response's extensions so the metrics
/// middleware can count it (`s3_broker_problems_total`) whatever shape the body takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProblemCode(pub &'static str);

/// The problem document (RFC 9457 §3) plus the stable `code` extension member.
#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: &'a str,
    code: &'a str,
}

impl ApiError {
    /// An error with a status, a stable code and a human explanation.
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            challenge: None,
            retry_after: None,
            allow: None,
        }
    }

    /// 405 naming the allowed methods in `Allow` (RFC 9110 §15.5.6).
    pub fn method_not_allowed(allow: &'static str) -> Self {
        Self {
            allow: Some(allow),
            ..Self::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("this resource supports {allow} only"),
            )
        }
    }

    /// 400 with a code.
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    /// 401 without credentials: `WWW-Authenticate: Bearer` (RFC 6750 §3: no error code).
    pub fn missing_credentials() -> Self {
        Self {
            challenge: Some("Bearer realm=\"s3-broker\""),
            ..Self::new(
                StatusCode::UNAUTHORIZED,
                "missing_credentials",
                "send 'Authorization: Bearer <token>' or 'X-Api-Key: <key>'",
            )
        }
    }

    /// 401 for a bad token or key: `WWW-Authenticate: Bearer error="invalid_token"`.
    pub fn invalid_credentials(detail: impl Into<String>) -> Self {
        Self {
            challenge: Some("Bearer realm=\"s3-broker\", error=\"invalid_token\""),
            ..Self::new(StatusCode::UNAUTHORIZED, "invalid_token", detail)
        }
    }

    /// Adds a `WWW-Authenticate` challenge.
    pub fn with_challenge(mut self, challenge: &'static str) -> Self {
        self.challenge = Some(challenge);
        self
    }

    /// 403 for a missing scope (RFC 6750 §3.1 `insufficient_scope`).
    pub fn insufficient_scope(scope: &str) -> Self {
        Self {
            challenge: Some("Bearer realm=\"s3-broker\", error=\"insufficient_scope\""),
            ..Self::new(
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                format!("this requires the '{scope}' scope"),
            )
        }
    }

    /// 503 with `Retry-After`.
    pub fn unavailable(code: &'static str, detail: impl Into<String>, retry_after: u32) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(StatusCode::SERVICE_UNAVAILABLE, code, detail)
        }
    }

    /// 500 without details (they go to the log).
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "an internal error occurred",
        )
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The human explanation.
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.detail)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let title = self.status.canonical_reason().unwrap_or("Error");
        let problem = Problem {
            kind: format!("urn:s3-broker:problem:{}", self.code),
            title,
            status: self.status.as_u16(),
            detail: &self.detail,
            code: self.code,
        };
        let mut response = HttpResponse::build(self.status);
        response
            .content_type("application/problem+json")
            .insert_header((header::CACHE_CONTROL, "no-store"));
        if let Some(challenge) = self.challenge {
            response.insert_header((
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            ));
        }
        if let Some(allow) = self.allow {
            response.insert_header((header::ALLOW, allow));
        }
        if let Some(secs) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        let mut response = response.json(problem);
        response.extensions_mut().insert(ProblemCode(self.code));
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;

    #[actix_web::test]
    async fn renders_problem_json_with_headers() {
        let response = ApiError::invalid_credentials("the token has expired").error_response();
        assert_eq!(response.status(), 401);
        assert_eq!(
            response.headers().get(header::CONTENT_TYPE).unwrap(),
            "application/problem+json"
        );
        assert_eq!(
            response.headers().get(header::WWW_AUTHENTICATE).unwrap(),
            "Bearer realm=\"s3-broker\", error=\"invalid_token\""
        );
        let body: serde_json::Value =
            serde_json::from_slice(&to_bytes(response.into_body()).await.unwrap()).unwrap();
        assert_eq!(body["code"], "invalid_token");
        assert_eq!(body["status"], 401);
        assert_eq!(body["type"], "urn:s3-broker:problem:invalid_token");
        let busy = ApiError::unavailable("s3_unavailable", "S3 timed out", 5).error_response();
        assert_eq!(busy.headers().get(header::RETRY_AFTER).unwrap(), "5");
    }
}
