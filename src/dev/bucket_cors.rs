//! The embedded store's CORS: the rules of the shipped `policies/bucket-cors.json`, evaluated as
//! S3 evaluates a bucket's CORS configuration, with the origins of `s3-broker dev` added to each
//! rule. A page of any other origin is refused, as it would be by a bucket configured with that
//! file, so a header or origin the file forgets shows up in `dev` and not first in production.
//!
//! S3's rules (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/cors.html>, "How does
//! Amazon S3 evaluate the CORS configuration on a bucket?"): the first rule whose
//! `AllowedOrigins` matches the `Origin`, whose `AllowedMethods` holds the method (of the
//! preflight's `Access-Control-Request-Method`), and whose `AllowedHeaders` match every header of
//! the preflight's `Access-Control-Request-Headers` applies; each pattern may hold one `*`.
//! A preflight no rule allows is 403; an actual request no rule allows is served without CORS
//! headers, so the browser keeps the answer from the page.

use serde::Deserialize;

/// The shipped bucket CORS configuration.
const SHIPPED: &str = include_str!("../../policies/bucket-cors.json");

/// The `CORSConfiguration` of a bucket, as `aws s3api put-bucket-cors` takes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct BucketCors {
    #[serde(rename = "CORSRules")]
    rules: Vec<CorsRule>,
}

/// One `CORSRule`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CorsRule {
    allowed_origins: Vec<String>,
    allowed_methods: Vec<String>,
    #[serde(default)]
    allowed_headers: Vec<String>,
    #[serde(default)]
    expose_headers: Vec<String>,
    max_age_seconds: Option<u32>,
}

/// The headers of an answer the rules allow.
pub(super) type CorsHeaders = Vec<(&'static str, String)>;

/// Whether `value` matches `pattern`, which may hold one `*` standing for any text.
fn matches(pattern: &str, value: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == value,
        Some((start, end)) => {
            value.len() >= start.len() + end.len()
                && value.starts_with(start)
                && value.ends_with(end)
        }
    }
}

impl BucketCors {
    /// The rules of `policies/bucket-cors.json` with `origins` added to every rule.
    pub(super) fn shipped_with(origins: &[String]) -> Self {
        let mut cors: Self =
            serde_json::from_str(SHIPPED).expect("policies/bucket-cors.json is valid (tested)");
        for rule in &mut cors.rules {
            rule.allowed_origins.extend(origins.iter().cloned());
        }
        cors
    }

    /// The first rule that allows `origin` to send `method` with `headers` (lowercase names).
    fn rule(&self, origin: &str, method: &str, headers: &[String]) -> Option<&CorsRule> {
        self.rules.iter().find(|rule| {
            rule.allowed_origins.iter().any(|o| matches(o, origin))
                && rule.allowed_methods.iter().any(|m| m == method)
                && headers.iter().all(|header| {
                    rule.allowed_headers
                        .iter()
                        .any(|allowed| matches(&allowed.to_ascii_lowercase(), header))
                })
        })
    }

    /// The answer to a preflight from `origin` for `method` with `headers` (the names of
    /// `Access-Control-Request-Headers`, lowercase): its headers, or `None` when no rule allows
    /// it (S3 answers 403).
    pub(super) fn preflight(
        &self,
        origin: &str,
        method: &str,
        headers: &[String],
    ) -> Option<CorsHeaders> {
        let rule = self.rule(origin, method, headers)?;
        let mut answer = allow_origin(rule, origin);
        answer.push((
            "access-control-allow-methods",
            rule.allowed_methods.join(", "),
        ));
        if !headers.is_empty() {
            answer.push(("access-control-allow-headers", headers.join(", ")));
        }
        if let Some(age) = rule.max_age_seconds {
            answer.push(("access-control-max-age", age.to_string()));
        }
        Some(answer)
    }

    /// The CORS headers of an actual request from `origin` with `method`, or `None` when no
    /// rule allows it (the answer then carries none).
    pub(super) fn actual(&self, origin: &str, method: &str) -> Option<CorsHeaders> {
        let rule = self.rule(origin, method, &[])?;
        let mut answer = allow_origin(rule, origin);
        answer.push((
            "access-control-allow-methods",
            rule.allowed_methods.join(", "),
        ));
        if !rule.expose_headers.is_empty() {
            answer.push((
                "access-control-expose-headers",
                rule.expose_headers.join(", "),
            ));
        }
        Some(answer)
    }
}

/// `Access-Control-Allow-Origin` as S3 sends it: `*` for a rule that allows any origin, else the
/// origin itself with `Access-Control-Allow-Credentials: true`.
fn allow_origin(rule: &CorsRule, origin: &str) -> CorsHeaders {
    if rule.allowed_origins.iter().any(|o| o == "*") {
        vec![("access-control-allow-origin", "*".to_owned())]
    } else {
        vec![
            ("access-control-allow-origin", origin.to_owned()),
            ("access-control-allow-credentials", "true".to_owned()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "http://127.0.0.1:5173";

    fn cors() -> BucketCors {
        BucketCors::shipped_with(&[PAGE.to_owned()])
    }

    fn names(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    fn header<'a>(answer: &'a CorsHeaders, name: &str) -> Option<&'a str> {
        answer
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn the_shipped_rules_allow_the_grants_headers_from_a_listed_origin() {
        let answer = cors()
            .preflight(
                PAGE,
                "PUT",
                &names(&["content-type", "if-none-match", "x-amz-checksum-sha256"]),
            )
            .expect("allowed");
        assert_eq!(header(&answer, "access-control-allow-origin"), Some(PAGE));
        assert_eq!(header(&answer, "access-control-max-age"), Some("3000"));
        assert_eq!(
            header(&answer, "access-control-allow-headers"),
            Some("content-type, if-none-match, x-amz-checksum-sha256")
        );
        let actual = cors().actual(PAGE, "PUT").expect("allowed");
        assert_eq!(
            header(&actual, "access-control-expose-headers"),
            Some("ETag, Location")
        );
    }

    #[test]
    fn other_origins_methods_and_headers_are_refused() {
        let cors = cors();
        assert!(cors.preflight("http://evil.example", "PUT", &[]).is_none());
        assert!(cors.actual("http://evil.example", "GET").is_none());
        assert!(cors.preflight(PAGE, "PATCH", &[]).is_none());
        assert!(
            cors.preflight(PAGE, "PUT", &names(&["x-requested-with"]))
                .is_none()
        );
        assert!(
            cors.preflight(PAGE, "PUT", &names(&["x-amz-acl"]))
                .is_none(),
            "x-amz-* is not allowed, only x-amz-meta-* and x-amz-checksum-*"
        );
        assert!(
            cors.preflight(PAGE, "PUT", &names(&["x-amz-meta-title"]))
                .is_some()
        );
    }

    #[test]
    fn patterns_hold_one_wildcard() {
        assert!(matches("x-amz-meta-*", "x-amz-meta-a"));
        assert!(matches("http://*.example.com", "http://a.example.com"));
        assert!(!matches("http://*.example.com", "http://example.com"));
        assert!(matches("*", "anything"));
        assert!(!matches("content-type", "content-typex"));
    }
}
