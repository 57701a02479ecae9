//! Check 6: what browsers send to a bucket, and whether its CORS rules let them.
//!
//! S3 answers a preflight (`OPTIONS` with `Access-Control-Request-Method` and
//! `Access-Control-Request-Headers`) with the first rule that matches the origin, the method
//! and **every** requested header; the actual request (which names no headers) gets the
//! `Access-Control-Expose-Headers` of the first rule that matches its origin and method only.
//! So for each origin, this check derives from every profile the requests its browser uploads
//! send (method and the headers their grants may sign or ask for) and requires a rule that
//! matches all of them; and, with multipart profiles, that the first rule matching the origin
//! and `PUT` exposes `ETag`.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/userguide/cors.html>

use super::finding::Finding;
use crate::backend::Backend;
use crate::domain::ChecksumAlgorithm;
use crate::policy::{
    Profile, SSE_C_ALGORITHM_HEADER, SSE_C_KEY_HEADER, SSE_C_KEY_MD5_HEADER, UploadMethod,
};
use crate::s3::CorsRule;
use std::collections::BTreeSet;

/// One kind of request browsers send to a bucket with the grants of a profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct BrowserRequest {
    /// `PUT`, `POST`, `GET` or `DELETE`.
    pub method: &'static str,
    /// The lowercase headers its preflight may name in `Access-Control-Request-Headers`
    /// (`content-length` and `host` are set by the browser and never preflighted; a form
    /// POST sent as `FormData` is a simple request with none).
    pub headers: BTreeSet<String>,
    /// Which clients alone send it, when not every browser upload does.
    pub only_for: Option<&'static str>,
}

/// What browsers send to a bucket with the grants of its profiles.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct BrowserNeeds {
    /// The requests, `PUT` first, then `POST`, `GET` and `DELETE`.
    pub requests: Vec<BrowserRequest>,
    /// Whether multipart uploads need `ETag` exposed (browsers read each part's ETag).
    pub expose_etag: bool,
}

/// Who alone sends the `GET` and `DELETE` of multipart profiles.
const UPPY_6: &str = "Uppy 6 (POST /s3/sign), which lists and aborts uploads from the browser";

impl BrowserNeeds {
    /// Adds what the browser uploads of `profile` send on `backend`:
    ///
    /// - `PUT` for PUT grants (`content-type`, `content-md5`, the `x-amz-checksum-*` the
    ///   backend verifies with `x-amz-sdk-checksum-algorithm`, `if-none-match` for
    ///   no-overwrite profiles where the backend honours it, the encryption headers, SSE-C's
    ///   customer key included, and the profile's `x-amz-meta-*`), and for the parts of
    ///   multipart uploads (the part checksums);
    /// - `POST` for form grants (where the backend has POST Object: no preflighted header)
    ///   and for Uppy 6's CreateMultipartUpload (`content-type`, encryption and metadata);
    /// - `GET` (ListParts) and `DELETE` (AbortMultipartUpload, DeleteObject) for multipart
    ///   profiles, which only Uppy 6 sends.
    pub(super) fn add_profile(&mut self, profile: &Profile, backend: Backend) {
        let put = profile.methods().contains(&UploadMethod::Put);
        let form =
            profile.methods().contains(&UploadMethod::Post) && backend.supports_post_object();
        // SSE-C profiles have no multipart uploads (CreateMultipartUpload would need the key).
        let multipart = profile.allows_multipart() && !profile.uses_customer_key();
        let mut bound: BTreeSet<String> = profile
            .metadata_keys()
            .iter()
            .map(|key| key.header_name())
            .collect();
        match profile.server_side_encryption() {
            Some(sse) if sse.is_customer_key() => bound.extend(
                [
                    SSE_C_ALGORITHM_HEADER,
                    SSE_C_KEY_MD5_HEADER,
                    SSE_C_KEY_HEADER,
                ]
                .map(String::from),
            ),
            Some(sse) => bound.extend(sse.headers().into_iter().map(|(name, _)| name.to_owned())),
            None => {}
        }
        if put || multipart {
            let mut headers = BTreeSet::new();
            if put {
                headers.extend(["content-type", "content-md5"].map(String::from));
                add_checksums(&mut headers, backend.checksums());
                if !profile.allow_overwrite() && backend.conditional_put() {
                    headers.insert("if-none-match".to_owned());
                }
                headers.extend(bound.iter().cloned());
            }
            if multipart {
                add_checksums(&mut headers, backend.part_checksums());
            }
            self.add("PUT", headers, None);
        }
        if form || multipart {
            let mut headers = BTreeSet::new();
            if multipart {
                headers.insert("content-type".to_owned());
                headers.extend(bound);
            }
            self.add("POST", headers, None);
        }
        if multipart {
            self.add("GET", BTreeSet::new(), Some(UPPY_6));
            self.add("DELETE", BTreeSet::new(), Some(UPPY_6));
        }
        self.expose_etag |= multipart;
    }

    /// Adds a request unless one of the same method asks for all its headers already (a rule
    /// that allows that one allows this one), dropping those it covers.
    fn add(
        &mut self,
        method: &'static str,
        headers: BTreeSet<String>,
        only_for: Option<&'static str>,
    ) {
        let same = |r: &BrowserRequest| r.method == method && r.only_for == only_for;
        if self
            .requests
            .iter()
            .any(|r| same(r) && r.headers.is_superset(&headers))
        {
            return;
        }
        self.requests
            .retain(|r| !(same(r) && r.headers.is_subset(&headers)));
        self.requests.push(BrowserRequest {
            method,
            headers,
            only_for,
        });
        let order = |m: &str| {
            ["PUT", "POST", "GET", "DELETE"]
                .iter()
                .position(|o| *o == m)
        };
        self.requests.sort_by_key(|r| order(r.method));
    }

    /// The methods, each once, in order.
    pub(super) fn methods(&self) -> Vec<&'static str> {
        let mut methods: Vec<&'static str> = self.requests.iter().map(|r| r.method).collect();
        methods.dedup();
        methods
    }
}

/// Adds `x-amz-checksum-<algorithm>` for `algorithms`, and `x-amz-sdk-checksum-algorithm`.
fn add_checksums(headers: &mut BTreeSet<String>, algorithms: &[ChecksumAlgorithm]) {
    headers.extend(algorithms.iter().map(|a| a.header_name().to_owned()));
    if !algorithms.is_empty() {
        headers.insert(ChecksumAlgorithm::ALGORITHM_HEADER.to_owned());
    }
}

/// Check 6: whether `rules` let each of `origins` send every request of `needs` (S3 using,
/// for a preflight, the first rule that matches origin, method and every requested header)
/// and, for multipart, expose `ETag` on PUT answers (S3 using, for the actual request, the
/// first rule that matches origin and method).
///
/// See <https://docs.aws.amazon.com/AmazonS3/latest/userguide/cors.html>
pub(super) fn judge_cors(
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
    let mut note = |problem: String| {
        if !problems.contains(&problem) {
            problems.push(problem);
        }
    };
    for origin in origins {
        for request in &needs.requests {
            let method = request.method;
            let mut candidates = rules.iter().filter(|r| matches_request(r, origin, method));
            let Some(first) = candidates.clone().next() else {
                note(format!(
                    "no rule allows {method} from {origin}{}",
                    needed_by(request)
                ));
                continue;
            };
            if candidates.any(|r| request.headers.iter().all(|h| allows_header(r, h))) {
                continue;
            }
            let lacking: Vec<&str> = request
                .headers
                .iter()
                .filter(|h| !allows_header(first, h))
                .map(String::as_str)
                .collect();
            note(format!(
                "the first rule for {method} from {origin} does not allow the {} {}, and no \
                 later rule allows every header its preflight may ask for{}",
                if lacking.len() == 1 {
                    "header"
                } else {
                    "headers"
                },
                lacking.join(", "),
                needed_by(request)
            ));
        }
        // The actual PUT names no headers: its answer exposes what the first rule for
        // origin and method exposes, whichever rule passed the preflight.
        let put = rules.iter().find(|r| matches_request(r, origin, "PUT"));
        if let Some(rule) = put.filter(|_| needs.expose_etag)
            && !rule
                .expose_headers
                .iter()
                .any(|h| h.eq_ignore_ascii_case("etag"))
        {
            note(format!(
                "the first rule for PUT from {origin} does not expose ETag, which multipart \
                 uploads (Uppy) must read"
            ));
        }
    }
    if problems.is_empty() {
        Finding::ok(
            check,
            format!(
                "{} allowed from {}{}",
                and_list(&needs.methods()),
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

/// Whether `rule` matches a request's origin and method (case-insensitive method).
fn matches_request(rule: &CorsRule, origin: &str, method: &str) -> bool {
    rule.allowed_origins.iter().any(|o| wildcard(o, origin))
        && rule
            .allowed_methods
            .iter()
            .any(|m| m.eq_ignore_ascii_case(method))
}

/// Whether `rule` allows the lowercase `header` (header patterns are case-insensitive).
fn allows_header(rule: &CorsRule, header: &str) -> bool {
    rule.allowed_headers
        .iter()
        .any(|h| wildcard(&h.to_ascii_lowercase(), header))
}

/// ` (needed by ...)` for requests only some clients send.
fn needed_by(request: &BrowserRequest) -> String {
    request
        .only_for
        .map(|who| format!(" (needed by {who})"))
        .unwrap_or_default()
}

/// `a`, `a and b`, `a, b and c`.
fn and_list(items: &[&str]) -> String {
    match items.split_last() {
        None => String::new(),
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
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
    use crate::domain::BucketName;

    fn rule(origins: &[&str], methods: &[&str], headers: &[&str], expose: &[&str]) -> CorsRule {
        let owned = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect();
        CorsRule {
            allowed_origins: owned(origins),
            allowed_methods: owned(methods),
            allowed_headers: owned(headers),
            expose_headers: owned(expose),
        }
    }

    /// A profile with `methods` and the extra profile lines `extra`.
    fn profile(methods: &str, extra: &str) -> Profile {
        let text = format!(
            "key_template = \"users/{{principal}}/{{uuid}}/{{filename}}\"\n\
             content_types = [\"image/*\"]\nmax_size = \"1 MiB\"\nmethods = {methods}\n{extra}"
        );
        Profile::from_toml("p", &text, Some(&BucketName::new("uploads").unwrap())).unwrap()
    }

    fn needs_of(profiles: &[Profile], backend: Backend) -> BrowserNeeds {
        let mut needs = BrowserNeeds::default();
        for p in profiles {
            needs.add_profile(p, backend);
        }
        needs
    }

    fn needs(multipart: bool) -> BrowserNeeds {
        let extra = if multipart { "multipart = true" } else { "" };
        needs_of(&[profile("[\"PUT\", \"POST\"]", extra)], Backend::Aws)
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
            "ok   cors b: PUT, POST, GET and DELETE allowed from https://app.example.com, \
             ETag exposed"
        );
        // Every header any profile can make a browser send: encryption (SSE-C's customer
        // headers included), metadata, checksums, no-overwrite.
        let demanding = [
            profile(
                "[\"PUT\", \"POST\"]",
                "server_side_encryption = \"SSE-C\"\nmetadata_keys = [\"title\"]",
            ),
            profile(
                "[\"PUT\"]",
                "multipart = true\nserver_side_encryption = \"aws:kms\"\n\
                 kms_key_id = \"alias/uploads\"\nmetadata_keys = [\"camera-model\"]",
            ),
        ];
        for backend in Backend::ALL {
            let needs = needs_of(&demanding, backend);
            let finding = judge_cors("b", &[recommended()], &[APP.to_owned()], &needs);
            assert_eq!(finding.status, Status::Ok, "{backend:?}: {finding}");
        }
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

        let no_headers = rule(&[APP], &["PUT", "POST", "GET", "DELETE"], &[], &["ETag"]);
        let finding = judge_cors("b", &[no_headers], &origins, &needs(true));
        assert!(
            finding.message.contains(
                "the first rule for PUT from https://app.example.com does not allow \
                           the headers content-md5, content-type, if-none-match, \
                           x-amz-checksum-crc32,"
            ),
            "{finding}"
        );
        // Uppy 6's create request: the form grant alone needs no header.
        assert!(
            finding.message.contains(
                "for POST from https://app.example.com does not allow the \
                                      header content-type,"
            ),
            "{finding}"
        );
        assert!(
            judge_cors(
                "b",
                &[rule(&[APP], &["PUT", "POST"], &[], &[])],
                &origins,
                &{ needs_of(&[profile("[\"POST\"]", "")], Backend::Aws) }
            )
            .status
                == Status::Ok
        );
    }

    #[test]
    fn every_header_a_profile_signs_must_be_allowed_by_one_rule() {
        let origins = [APP.to_owned()];
        let common = [
            "content-type",
            "content-md5",
            "if-none-match",
            "x-amz-checksum-*",
            "x-amz-sdk-checksum-algorithm",
        ];
        let sse_c = needs_of(
            &[profile("[\"PUT\"]", "server_side_encryption = \"SSE-C\"")],
            Backend::Aws,
        );
        let without_customer_headers = rule(&[APP], &["PUT"], &common, &[]);
        let finding = judge_cors("b", &[without_customer_headers], &origins, &sse_c);
        assert_eq!(finding.status, Status::Warn, "{finding}");
        assert!(
            finding.message.contains(
                "x-amz-server-side-encryption-customer-algorithm, \
                 x-amz-server-side-encryption-customer-key, \
                 x-amz-server-side-encryption-customer-key-md5"
            ),
            "{finding}"
        );
        // The first rule matching origin and method lacks a header, the second allows all:
        // S3 skips the first for the preflight.
        let narrow = rule(&[APP], &["PUT"], &["content-type"], &[]);
        let mut with_customer = common.to_vec();
        with_customer.push("x-amz-server-side-encryption-customer-*");
        let wide = rule(&[APP], &["PUT"], &with_customer, &[]);
        let finding = judge_cors("b", &[narrow.clone(), wide], &origins, &sse_c);
        assert_eq!(finding.status, Status::Ok, "{finding}");
        // Metadata and KMS headers, one profile at a time.
        let kms_meta = needs_of(
            &[profile(
                "[\"PUT\"]",
                "allow_overwrite = true\nserver_side_encryption = \"aws:kms\"\n\
                 kms_key_id = \"k\"\nmetadata_keys = [\"title\"]",
            )],
            Backend::Ceph,
        );
        assert_eq!(
            kms_meta.requests[0].headers.iter().collect::<Vec<_>>(),
            [
                "content-md5",
                "content-type",
                "x-amz-meta-title",
                "x-amz-server-side-encryption",
                "x-amz-server-side-encryption-aws-kms-key-id"
            ],
            "Ceph verifies no flexible checksum; overwriting profiles send no if-none-match"
        );
        let finding = judge_cors(
            "b",
            &[rule(
                &[APP],
                &["PUT"],
                &["content-*", "x-amz-server-side-*"],
                &[],
            )],
            &origins,
            &kms_meta,
        );
        assert!(
            finding
                .message
                .contains("does not allow the header x-amz-meta-title,"),
            "{finding}"
        );
    }

    #[test]
    fn cors_uses_the_first_matching_rule_and_wildcards() {
        let origins = ["https://a.example.com".to_owned()];
        let all = ["PUT", "POST", "GET", "DELETE"];
        // The actual PUT names no headers: S3 answers it with the first rule matching origin
        // and method, so that rule's missing ETag counts even if a later rule exposes it.
        let first = rule(&["https://*.example.com"], &all, &["*"], &[]);
        let second = rule(&["*"], &all, &["*"], &["ETag"]);
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
        // R1 passes no preflight (no headers allowed), R2 does; but the PUT itself gets R1's
        // answer, which does not expose ETag.
        let r1 = rule(&["*"], &["PUT"], &[], &[]);
        let r2 = rule(&["*"], &all, &["*"], &["ETag"]);
        let finding = judge_cors("b", &[r1, r2], &origins, &needs(true));
        assert_eq!(finding.status, Status::Warn, "{finding}");
        assert!(
            finding
                .message
                .contains("the first rule for PUT from https://a.example.com does not expose ETag"),
            "{finding}"
        );
        // Methods and header names are case-insensitive; an origin wildcard is one pattern.
        let lower = rule(
            &["https://*.example.com"],
            &["put", "post", "get", "delete"],
            &["Content-*", "If-None-Match", "X-Amz-*"],
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
    fn uppy_6_get_and_delete_are_warned_about_by_name() {
        let origins = [APP.to_owned()];
        let upload_only = rule(&[APP], &["PUT", "POST"], &["*"], &["ETag"]);
        let finding = judge_cors("b", &[upload_only], &origins, &needs(true));
        assert_eq!(finding.status, Status::Warn, "{finding}");
        for method in ["GET", "DELETE"] {
            assert!(
                finding.message.contains(&format!(
                    "no rule allows {method} from https://app.example.com (needed by Uppy 6"
                )),
                "{finding}"
            );
        }
        // Without multipart, no GET or DELETE.
        let finding = judge_cors(
            "b",
            &[rule(&[APP], &["PUT", "POST"], &["*"], &[])],
            &origins,
            &needs(false),
        );
        assert_eq!(finding.status, Status::Ok, "{finding}");
    }

    #[test]
    fn browser_needs_follow_the_profiles_and_backend() {
        let both = profile("[\"PUT\", \"POST\"]", "");
        let needs = needs_of(std::slice::from_ref(&both), Backend::R2);
        assert_eq!(needs.methods(), ["PUT"], "R2 has no POST Object");
        let needs = needs_of(&[both, profile("[\"POST\"]", "")], Backend::Aws);
        assert_eq!(needs.methods(), ["PUT", "POST"]);
        assert!(!needs.expose_etag);
        assert!(
            needs.requests[1].headers.is_empty(),
            "FormData needs no preflight"
        );
        let multipart = needs_of(&[profile("[\"PUT\"]", "multipart = true")], Backend::Gcs);
        assert_eq!(
            multipart.methods(),
            ["PUT", "POST", "GET", "DELETE"],
            "Uppy 6 POSTs create/complete, GETs ListParts, DELETEs aborts"
        );
        assert!(multipart.expose_etag);
        assert!(
            !multipart.requests[0].headers.contains("if-none-match"),
            "GCS has no conditional PUT"
        );
        // The same request from two profiles is asked once; a wider one replaces it.
        let needs = needs_of(
            &[
                profile("[\"PUT\"]", ""),
                profile("[\"PUT\"]", "metadata_keys = [\"title\"]"),
                profile("[\"PUT\"]", ""),
            ],
            Backend::Aws,
        );
        assert_eq!(needs.requests.len(), 1);
        assert!(needs.requests[0].headers.contains("x-amz-meta-title"));
    }
}
