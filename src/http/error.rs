//! The one error type of the HTTP layer: a [`Code`] and a human explanation, answered as an
//! RFC 9457 `application/problem+json` body with the code's status and headers. Messages
//! never contain tokens, secrets or signed URLs.

use super::Code;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use std::fmt;

/// An error answered to a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    code: Code,
    /// The code's status, except for the generic codes of [`ApiError::for_status`].
    status: StatusCode,
    detail: String,
    /// `Allow` on 405.
    allow: Option<&'static str>,
    /// Headers of this answer beyond the code's (`Retry-After` and `RateLimit` of a 429);
    /// they replace the code's own.
    headers: Vec<(header::HeaderName, HeaderValue)>,
}

/// The code of an error response, kept in the response's extensions so the metrics middleware
/// can count it (`s3_broker_problems_total`) and the Companion middleware can reshape it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProblemCode(pub Code);

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
    /// An error with a code (which decides the status) and a human explanation.
    pub fn new(code: Code, detail: impl Into<String>) -> Self {
        Self {
            code,
            status: code.status(),
            detail: detail.into(),
            allow: None,
            headers: Vec::new(),
        }
    }

    /// 405 naming the allowed methods in `Allow` (RFC 9110 §15.5.6).
    pub fn method_not_allowed(allow: &'static str) -> Self {
        Self {
            allow: Some(allow),
            ..Self::new(
                Code::MethodNotAllowed,
                format!("this resource supports {allow} only"),
            )
        }
    }

    /// An error status raised outside the handlers (by middleware or actix-web itself), with
    /// the generic code of [`Code::for_status`]; the status is kept as it was.
    pub fn for_status(status: StatusCode) -> Self {
        Self {
            status,
            ..Self::new(
                Code::for_status(status),
                status.canonical_reason().unwrap_or("error"),
            )
        }
    }

    /// This answer with one more header (replacing the code's own of that name).
    pub fn with_header(mut self, name: header::HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// 500 without details (they go to the log).
    pub fn internal() -> Self {
        Self::new(Code::Internal, "an internal error occurred")
    }

    /// The stable code.
    pub fn code(&self) -> Code {
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
        let problem = Problem {
            kind: format!("urn:s3-broker:problem:{}", self.code),
            title: self.code.title(),
            status: self.status.as_u16(),
            detail: &self.detail,
            code: self.code.as_str(),
        };
        let mut response = HttpResponse::build(self.status);
        response
            .content_type("application/problem+json")
            .insert_header((header::CACHE_CONTROL, "no-store"));
        if let Some(challenge) = self.code.challenge() {
            response.insert_header((
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            ));
        }
        if let Some(allow) = self.allow {
            response.insert_header((header::ALLOW, allow));
        }
        if let Some(secs) = self.code.retry_after() {
            response.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        for (name, value) in &self.headers {
            response.insert_header((name.clone(), value.clone()));
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
        let response = ApiError::new(Code::InvalidToken, "the token has expired").error_response();
        assert_eq!(response.status(), 401);
        assert_eq!(
            response.headers().get(header::CONTENT_TYPE).unwrap(),
            "application/problem+json"
        );
        assert_eq!(
            response.headers().get(header::WWW_AUTHENTICATE).unwrap(),
            "Bearer realm=\"s3-broker\", error=\"invalid_token\""
        );
        assert_eq!(
            response.extensions().get::<ProblemCode>(),
            Some(&ProblemCode(Code::InvalidToken))
        );
        let body: serde_json::Value =
            serde_json::from_slice(&to_bytes(response.into_body()).await.unwrap()).unwrap();
        assert_eq!(body["code"], "invalid_token");
        assert_eq!(body["status"], 401);
        assert_eq!(body["title"], "Invalid token");
        assert_eq!(body["type"], "urn:s3-broker:problem:invalid_token");
        let busy = ApiError::new(Code::S3Unavailable, "S3 timed out").error_response();
        assert_eq!(busy.status(), 503);
        assert_eq!(busy.headers().get(header::RETRY_AFTER).unwrap(), "5");
        let wrong_verb = ApiError::method_not_allowed("GET, POST").error_response();
        assert_eq!(
            wrong_verb.headers().get(header::ALLOW).unwrap(),
            "GET, POST"
        );
    }

    #[actix_web::test]
    async fn errors_from_outside_keep_their_status() {
        let response = ApiError::for_status(StatusCode::GATEWAY_TIMEOUT).error_response();
        assert_eq!(response.status(), 504);
        let body: serde_json::Value =
            serde_json::from_slice(&to_bytes(response.into_body()).await.unwrap()).unwrap();
        assert_eq!(body["code"], "internal");
        assert_eq!(body["title"], "Internal error");
        assert_eq!(body["detail"], "Gateway Timeout");
    }
}
