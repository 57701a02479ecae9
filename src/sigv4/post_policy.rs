//! POST policy documents: typed conditions and their exact JSON text.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html>

use super::SigningError;
use crate::domain::{BucketName, ContentType, Expiry, ObjectKey};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

/// The largest object a single POST (or PUT) may carry: 5 GiB.
pub const MAX_SINGLE_UPLOAD_BYTES: u64 = 5 * 1024 * 1024 * 1024;

/// Which keys the form may upload to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRule {
    /// Exactly this key.
    Exact(ObjectKey),
    /// Any key starting with this prefix; the form's `key` field is `prefix${filename}`.
    Prefix(String),
}

/// Which `Content-Type` the form may declare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentTypeRule {
    /// Exactly this type.
    Exact(ContentType),
    /// Any type starting with this prefix (e.g. `image/`); the client fills the field in.
    Prefix(String),
}

/// A request for a POST policy.
#[derive(Debug, Clone)]
pub struct PostPolicyRequest {
    /// The bucket.
    pub bucket: BucketName,
    /// Key rule.
    pub key: KeyRule,
    /// Content-Type rule, if any.
    pub content_type: Option<ContentTypeRule>,
    /// Allowed size of the file in bytes, inclusive.
    pub size: Option<(u64, u64)>,
    /// Further fields that must have exactly these values (acl, x-amz-meta-*, checksum, SSE...).
    pub fields: Vec<(String, String)>,
    /// Requested lifetime.
    pub expires: Expiry,
}

/// One policy condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyCondition {
    /// `{"bucket": "name"}`: matched against the request's bucket, not a form field.
    Bucket(String),
    /// `{"field": "value"}`: the field must equal the value.
    Exact {
        /// Field name.
        field: String,
        /// Required value.
        value: String,
    },
    /// `["starts-with", "$field", "prefix"]`.
    StartsWith {
        /// Field name.
        field: String,
        /// Required prefix.
        prefix: String,
    },
    /// `["content-length-range", min, max]`: the size of the file.
    ContentLengthRange {
        /// Smallest size.
        min: u64,
        /// Largest size.
        max: u64,
    },
}

impl PolicyCondition {
    fn to_json(&self) -> Value {
        match self {
            Self::Bucket(bucket) => json!({ "bucket": bucket }),
            Self::Exact { field, value } => json!({ field.as_str(): value }),
            Self::StartsWith { field, prefix } => {
                json!(["starts-with", format!("${field}"), prefix])
            }
            Self::ContentLengthRange { min, max } => json!(["content-length-range", min, max]),
        }
    }
}

/// A policy document: an expiration and the conditions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyDocument {
    /// When the policy expires.
    pub expiration: DateTime<Utc>,
    /// The conditions, in order.
    pub conditions: Vec<PolicyCondition>,
}

impl PolicyDocument {
    /// The JSON text that is base64-encoded and signed.
    pub fn to_json(&self) -> String {
        let conditions: Vec<Value> = self
            .conditions
            .iter()
            .map(PolicyCondition::to_json)
            .collect();
        json!({
            "expiration": self.expiration.to_rfc3339_opts(SecondsFormat::Millis, true),
            "conditions": conditions,
        })
        .to_string()
    }
}

/// Fields the signer sets itself or that S3 treats specially.
const RESERVED_FIELDS: [&str; 9] = [
    "key",
    "bucket",
    "policy",
    "file",
    "x-amz-signature",
    "x-amz-algorithm",
    "x-amz-credential",
    "x-amz-date",
    "x-amz-security-token",
];

/// Validates an extra form field given by the caller.
pub(crate) fn validate_field(
    name: &str,
    value: &str,
    has_content_type_rule: bool,
) -> Result<(), SigningError> {
    let fail = |reason| {
        Err(SigningError::FormField {
            name: name.to_owned(),
            reason,
        })
    };
    if name.is_empty()
        || name.len() > 128
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return fail("names are 1 to 128 letters, digits, '-' or '_'");
    }
    let lower = name.to_ascii_lowercase();
    if RESERVED_FIELDS.contains(&lower.as_str()) || lower.starts_with("x-ignore-") {
        return fail("this field is set by the signer");
    }
    if has_content_type_rule && lower == "content-type" {
        return fail("Content-Type is already set by the content type rule");
    }
    if value.chars().any(char::is_control) || value.len() > 8192 {
        return fail("values must be at most 8192 bytes without control characters");
    }
    Ok(())
}

/// Validates a key or content-type prefix.
pub(crate) fn validate_prefix(name: &str, prefix: &str) -> Result<(), SigningError> {
    if prefix.len() > 1024 || prefix.chars().any(char::is_control) {
        return Err(SigningError::FormField {
            name: name.to_owned(),
            reason: "prefixes are at most 1024 bytes without control characters",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_each_condition_form() {
        let doc = PolicyDocument {
            expiration: "2015-12-30T12:00:00Z".parse().unwrap(),
            conditions: vec![
                PolicyCondition::Bucket("b".into()),
                PolicyCondition::StartsWith {
                    field: "key".into(),
                    prefix: "user/\"q\"".into(),
                },
                PolicyCondition::Exact {
                    field: "acl".into(),
                    value: "private".into(),
                },
                PolicyCondition::ContentLengthRange { min: 1, max: 10 },
            ],
        };
        assert_eq!(
            doc.to_json(),
            r#"{"expiration":"2015-12-30T12:00:00.000Z","conditions":[{"bucket":"b"},["starts-with","$key","user/\"q\""],{"acl":"private"},["content-length-range",1,10]]}"#
        );
    }

    #[test]
    fn refuses_reserved_and_malformed_fields() {
        for bad in [
            "key",
            "Policy",
            "x-amz-signature",
            "file",
            "x-ignore-me",
            "a b",
            "",
        ] {
            assert!(validate_field(bad, "v", false).is_err(), "{bad}");
        }
        assert!(validate_field("Content-Type", "image/png", true).is_err());
        assert!(validate_field("acl", "a\nb", false).is_err());
        assert!(validate_field("x-amz-meta-tag", "v", false).is_ok());
    }
}
