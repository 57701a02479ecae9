//! Check 6: what browsers send to a bucket, and whether its CORS rules let them.

use super::finding::Finding;
use crate::backend::Backend;
use crate::policy::UploadMethod;
use crate::s3::CorsRule;

/// What browsers send to a bucket with the grants of its profiles.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BrowserNeeds {
    /// Methods (`PUT`, `POST`).
    pub methods: Vec<&'static str>,
    /// Whether multipart uploads need `ETag` exposed (browsers read each part's ETag).
    pub expose_etag: bool,
}

impl BrowserNeeds {
    /// Adds a profile: `PUT` for PUT grants and parts, `POST` for form grants (where the
    /// backend has POST Object) and for Uppy 6's create and complete requests.
    pub fn add_profile(&mut self, methods: &[UploadMethod], multipart: bool, backend: Backend) {
        let mut add = |method| {
            if !self.methods.contains(&method) {
                self.methods.push(method);
            }
        };
        if methods.contains(&UploadMethod::Put) || multipart {
            add("PUT");
        }
        if (methods.contains(&UploadMethod::Post) && backend.supports_post_object()) || multipart {
            add("POST");
        }
        self.methods.sort_unstable_by_key(|m| (*m != "PUT", *m));
        self.expose_etag |= multipart;
    }
}

/// The header every upload grant signs, so every preflight asks for it.
const PREFLIGHT_HEADER: &str = "content-type";

/// Check 6: whether `rules` let each of `origins` send `needs` (method and `content-type`,
/// S3 using the first rule that matches origin, method and headers) and, for multipart,
/// expose `ETag` on PUT answers.
///
/// See <https://docs.aws.amazon.com/AmazonS3/latest/userguide/cors.html>
pub fn judge_cors(
    bucket: &str,
    rules: &[CorsRule],
    origins: &[String],
    needs: &BrowserNeeds,
) -> Finding {
    let check = format!("cors {bucket}");
    let fix = "apply policies/bucket-cors.json with your origins (aws s3api put-bucket-cors)";
    if rules.is_empty() {
        return Finding::warn(
            check,
            format!(
                "the bucket has no CORS rules, so browsers at {} cannot send uploads to it: {fix}",
                origins.join(", ")
            ),
        );
    }
    let mut problems: Vec<String> = Vec::new();
    for origin in origins {
        for method in &needs.methods {
            let for_origin = |rule: &&CorsRule| {
                rule.allowed_origins.iter().any(|o| wildcard(o, origin))
                    && rule
                        .allowed_methods
                        .iter()
                        .any(|m| m.eq_ignore_ascii_case(method))
            };
            let matched = rules.iter().filter(for_origin).find(|rule| {
                rule.allowed_headers
                    .iter()
                    .any(|h| wildcard(&h.to_ascii_lowercase(), PREFLIGHT_HEADER))
            });
            match matched {
                None if rules.iter().any(|r| for_origin(&r)) => problems.push(format!(
                    "the rule for {method} from {origin} does not allow the {PREFLIGHT_HEADER} header"
                )),
                None => problems.push(format!("no rule allows {method} from {origin}")),
                Some(rule)
                    if *method == "PUT"
                        && needs.expose_etag
                        && !rule
                            .expose_headers
                            .iter()
                            .any(|h| h.eq_ignore_ascii_case("etag")) =>
                {
                    problems.push(format!(
                        "the rule for PUT from {origin} does not expose ETag, which multipart \
                         uploads (Uppy) must read"
                    ));
                }
                Some(_) => {}
            }
        }
    }
    if problems.is_empty() {
        Finding::ok(
            check,
            format!(
                "{} allowed from {}{}",
                needs.methods.join(" and "),
                origins.join(", "),
                if needs.expose_etag {
                    ", ETag exposed"
                } else {
                    ""
                }
            ),
        )
    } else {
        Finding::warn(check, format!("{}: {fix}", problems.join("; ")))
    }
}

/// Matches `value` against a CORS pattern with `*` wildcards (S3 allows one per pattern).
fn wildcard(pattern: &str, value: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = value.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::super::finding::Status;
    use super::*;

    fn rule(origins: &[&str], methods: &[&str], headers: &[&str], expose: &[&str]) -> CorsRule {
        let owned = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect();
        CorsRule {
            allowed_origins: owned(origins),
            allowed_methods: owned(methods),
            allowed_headers: owned(headers),
            expose_headers: owned(expose),
        }
    }

    fn needs(multipart: bool) -> BrowserNeeds {
        let mut needs = BrowserNeeds::default();
        needs.add_profile(
            &[UploadMethod::Put, UploadMethod::Post],
            multipart,
            Backend::Aws,
        );
        needs
    }

    const APP: &str = "https://app.example.com";

    /// The rule of policies/bucket-cors.json, read from the file.
    fn recommended() -> CorsRule {
        let json: serde_json::Value =
            serde_json::from_str(include_str!("../../../policies/bucket-cors.json")).unwrap();
        let list = |field: &str| -> Vec<String> {
            json["CORSRules"][0][field]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect()
        };
        CorsRule {
            allowed_origins: list("AllowedOrigins"),
            allowed_methods: list("AllowedMethods"),
            allowed_headers: list("AllowedHeaders"),
            expose_headers: list("ExposeHeaders"),
        }
    }

    #[test]
    fn the_recommended_cors_rule_passes() {
        let finding = judge_cors("b", &[recommended()], &[APP.to_owned()], &needs(true));
        assert_eq!(finding.status, Status::Ok, "{finding}");
        assert_eq!(
            finding.to_string(),
            "ok   cors b: PUT and POST allowed from https://app.example.com, ETag exposed"
        );
        // ...but not for another origin.
        let other = judge_cors(
            "b",
            &[recommended()],
            &["https://other.example.com".to_owned()],
            &needs(true),
        );
        assert_eq!(other.status, Status::Warn);
        assert!(
            other
                .message
                .contains("no rule allows PUT from https://other.example.com"),
            "{other}"
        );
    }

    #[test]
    fn cors_problems_are_named() {
        let origins = [APP.to_owned()];
        let none = judge_cors("b", &[], &origins, &needs(false));
        assert_eq!(none.status, Status::Warn);
        assert!(none.message.contains("no CORS rules"), "{none}");
        assert!(none.message.contains("policies/bucket-cors.json"), "{none}");

        let put_only = rule(&[APP], &["PUT"], &["*"], &["ETag"]);
        let finding = judge_cors("b", &[put_only], &origins, &needs(true));
        assert_eq!(finding.status, Status::Warn);
        assert!(
            finding.message.contains("no rule allows POST from"),
            "{finding}"
        );
        assert!(!finding.message.contains("PUT from"), "{finding}");

        let no_etag = rule(&["*"], &["PUT", "POST"], &["*"], &["Location"]);
        let finding = judge_cors("b", std::slice::from_ref(&no_etag), &origins, &needs(true));
        assert!(
            finding.message.contains("does not expose ETag"),
            "{finding}"
        );
        // Without multipart, ETag is not needed.
        let finding = judge_cors("b", &[no_etag], &origins, &needs(false));
        assert_eq!(finding.status, Status::Ok, "{finding}");

        let no_headers = rule(&[APP], &["PUT", "POST"], &[], &["ETag"]);
        let finding = judge_cors("b", &[no_headers], &origins, &needs(true));
        assert!(
            finding
                .message
                .contains("does not allow the content-type header"),
            "{finding}"
        );
    }

    #[test]
    fn cors_uses_the_first_matching_rule_and_wildcards() {
        let origins = ["https://a.example.com".to_owned()];
        // The first rule matching origin, method and headers wins: its missing ETag counts,
        // even if a later rule would expose it.
        let first = rule(&["https://*.example.com"], &["PUT", "POST"], &["*"], &[]);
        let second = rule(&["*"], &["PUT", "POST"], &["*"], &["ETag"]);
        let finding = judge_cors(
            "b",
            &[first.clone(), second.clone()],
            &origins,
            &needs(true),
        );
        assert!(
            finding.message.contains("does not expose ETag"),
            "{finding}"
        );
        let finding = judge_cors("b", &[second, first], &origins, &needs(true));
        assert_eq!(finding.status, Status::Ok, "{finding}");
        // Methods and header names are case-insensitive; an origin wildcard is one pattern.
        let lower = rule(
            &["https://*.example.com"],
            &["put", "post"],
            &["Content-*"],
            &["etag"],
        );
        assert_eq!(
            judge_cors("b", &[lower], &origins, &needs(true)).status,
            Status::Ok
        );
        assert!(wildcard("https://*.example.com", "https://a.example.com"));
        assert!(!wildcard(
            "https://*.example.com",
            "https://example.com.evil"
        ));
        assert!(!wildcard(
            "https://app.example.com",
            "https://app.example.com.evil"
        ));
        assert!(wildcard("*", "anything"));
        assert!(wildcard("x-amz-*", "x-amz-meta-a"));
    }

    #[test]
    fn browser_needs_follow_the_profiles_and_backend() {
        let mut needs = BrowserNeeds::default();
        needs.add_profile(&[UploadMethod::Put, UploadMethod::Post], false, Backend::R2);
        assert_eq!(needs.methods, ["PUT"], "R2 has no POST Object");
        needs.add_profile(&[UploadMethod::Post], false, Backend::Aws);
        assert_eq!(needs.methods, ["PUT", "POST"]);
        assert!(!needs.expose_etag);
        let mut multipart = BrowserNeeds::default();
        multipart.add_profile(&[UploadMethod::Put], true, Backend::Gcs);
        assert_eq!(
            multipart.methods,
            ["PUT", "POST"],
            "Uppy 6 POSTs create/complete"
        );
        assert!(multipart.expose_etag);
    }
}
