//! The example AWS documents in `policies/*.json` parse, have the shape AWS expects, the
//! bucket policy denies what doc/security.md says it denies, and the bucket CORS and lifecycle
//! rules allow and clean up what doc/deployment.md says.

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn policies_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("policies")
}

fn json_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(policies_dir())
        .expect("policies/ is readable")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    files
}

fn load(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?} is not JSON: {e}"))
}

fn strings(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

#[test]
fn every_json_file_parses_and_policies_are_well_formed() {
    let files = json_files();
    let names: BTreeSet<String> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for expected in [
        "bucket-cors.json",
        "bucket-lifecycle.json",
        "bucket-policy.json",
        "iam-policy.json",
    ] {
        assert!(names.contains(expected), "policies/{expected} is missing");
    }
    for path in &files {
        let doc = load(path);
        let Some(statements) = doc.get("Statement") else {
            continue; // e.g. the CORS and lifecycle configurations
        };
        assert_eq!(doc["Version"], "2012-10-17", "{path:?}");
        let statements = statements.as_array().expect("Statement is an array");
        let mut sids = BTreeSet::new();
        for s in statements {
            let sid = s["Sid"].as_str().expect("every statement has a Sid");
            assert!(sid.bytes().all(|b| b.is_ascii_alphanumeric()), "{sid}");
            assert!(sids.insert(sid), "{path:?}: duplicate Sid {sid}");
            assert!(
                matches!(s["Effect"].as_str(), Some("Allow" | "Deny")),
                "{sid}"
            );
            assert!(!strings(&s["Action"]).is_empty(), "{sid}: no Action");
            for resource in strings(&s["Resource"]) {
                assert!(resource.starts_with("arn:aws:s3:::my-uploads"), "{sid}");
            }
        }
    }
}

/// The statement whose condition tests `key` with `operator`, and that statement's value.
fn denial<'a>(policy: &'a Value, operator: &str, key: &str) -> (&'a Value, &'a Value) {
    policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|s| {
            let value = s["Condition"].get(operator)?.get(key)?;
            Some((s, value))
        })
        .unwrap_or_else(|| panic!("no statement with {operator} on {key}"))
}

#[test]
fn the_bucket_policy_denies_what_the_docs_say() {
    let policy = load(&policies_dir().join("bucket-policy.json"));
    for s in policy["Statement"].as_array().unwrap() {
        assert_eq!(
            s["Effect"], "Deny",
            "a bucket policy of guard rails only denies"
        );
        assert_eq!(s["Principal"], "*", "{}", s["Sid"]);
    }
    let everything = |s: &Value| {
        assert_eq!(s["Action"], "s3:*", "{}", s["Sid"]);
        let resources = strings(&s["Resource"]);
        assert!(resources.contains(&"arn:aws:s3:::my-uploads"));
        assert!(resources.contains(&"arn:aws:s3:::my-uploads/*"));
    };
    let (s, value) = denial(&policy, "Bool", "aws:SecureTransport");
    assert_eq!(value, "false");
    everything(s);
    let (s, value) = denial(&policy, "StringEquals", "s3:signatureversion");
    assert_eq!(value, "AWS");
    everything(s);
    let (s, value) = denial(&policy, "NumericGreaterThan", "s3:signatureAge");
    // Milliseconds: the longest grant the shipped profiles sign (max_expiry_secs = 3600).
    assert_eq!(value, "3600000");
    everything(s);
    let (s, value) = denial(&policy, "Null", "s3:x-amz-server-side-encryption");
    assert_eq!(value, "true");
    assert_eq!(s["Action"], "s3:PutObject");
    let (s, value) = denial(
        &policy,
        "StringNotEqualsIfExists",
        "s3:x-amz-server-side-encryption",
    );
    assert!(["AES256", "aws:kms", "aws:kms:dsse"].contains(&value.as_str().unwrap()));
    assert_eq!(s["Action"], "s3:PutObject");
}

#[test]
fn the_bucket_cors_lets_browsers_upload_in_parts() {
    let cors = load(&policies_dir().join("bucket-cors.json"));
    let rules = cors["CORSRules"].as_array().expect("CORSRules");
    assert_eq!(rules.len(), 1);
    let rule = &rules[0];
    let methods = strings(&rule["AllowedMethods"]);
    // PUT: single uploads and parts; POST: forms, and CreateMultipartUpload and
    // CompleteMultipartUpload signed for Uppy 6; GET: downloads and ListParts; DELETE:
    // AbortMultipartUpload signed for Uppy 6.
    for method in ["PUT", "POST", "GET", "DELETE"] {
        assert!(methods.contains(&method), "AllowedMethods lacks {method}");
    }
    let headers = strings(&rule["AllowedHeaders"]);
    for header in [
        "content-type",
        "content-md5",
        "if-none-match",
        "x-amz-checksum-*",
        "x-amz-sdk-checksum-algorithm",
        "x-amz-server-side-encryption",
        "x-amz-server-side-encryption-aws-kms-key-id",
        // SSE-C: the algorithm and key MD5 the grants sign, and the key the client adds.
        "x-amz-server-side-encryption-customer-algorithm",
        "x-amz-server-side-encryption-customer-key",
        "x-amz-server-side-encryption-customer-key-md5",
        "x-amz-meta-*",
    ] {
        assert!(headers.contains(&header), "AllowedHeaders lacks {header}");
    }
    for header in &headers {
        assert!(
            header.matches('*').count() <= 1,
            "{header}: one wildcard at most"
        );
    }
    let exposed = strings(&rule["ExposeHeaders"]);
    // A browser reads each part's ETag to complete the upload.
    assert!(exposed.contains(&"ETag"));
    assert!(exposed.contains(&"Location"));
}

#[test]
fn the_lifecycle_rule_aborts_incomplete_multipart_uploads() {
    let lifecycle = load(&policies_dir().join("bucket-lifecycle.json"));
    let rules = lifecycle["Rules"].as_array().expect("Rules");
    let rule = rules
        .iter()
        .find(|r| r.get("AbortIncompleteMultipartUpload").is_some())
        .expect("a rule aborting incomplete multipart uploads");
    assert_eq!(rule["Status"], "Enabled");
    assert_eq!(
        rule["Filter"]["Prefix"], "",
        "the rule covers the whole bucket"
    );
    let days = rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"]
        .as_u64()
        .expect("DaysAfterInitiation");
    // Never before the longest ticket lifetime (multipart.ticket_ttl_secs <= 7 days) ends.
    assert!(days >= 7, "{days} days");
}
