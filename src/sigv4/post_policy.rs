//! POST policy documents: typed conditions and their exact JSON text.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html>

use super::{ALGORITHM, FormField, SigningError};
use crate::domain::{BucketName, ContentType, Expiry, MAX_SINGLE_UPLOAD_BYTES, ObjectKey};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

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

/// The SigV4 values every POST form carries, each as a field and an exact condition.
pub(super) struct SigV4Fields<'a> {
    /// `x-amz-credential`: `AKID/scope`.
    pub(super) credential: &'a str,
    /// `x-amz-date`.
    pub(super) amz_date: &'a str,
    /// `x-amz-security-token`, with temporary credentials.
    pub(super) session_token: Option<&'a str>,
}

/// The conditions of `request`'s policy and the form fields that satisfy them, before the
/// `policy` and `x-amz-signature` fields.
///
/// The rule, both ways: every field is covered by a condition, and every condition except
/// `bucket` (matched against the URL) and `content-length-range` (matched against the file)
/// by a field. `client_fields` are covered by `["starts-with", "$name", ""]` and left out of
/// the fields: the client fills them in (S3 refuses a form field no condition covers).
///
/// See <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html>
pub(super) fn conditions_and_fields(
    request: &PostPolicyRequest,
    client_fields: &[&str],
    sigv4: &SigV4Fields<'_>,
) -> Result<(Vec<PolicyCondition>, Vec<FormField>), SigningError> {
    let mut conditions = vec![PolicyCondition::Bucket(request.bucket.as_str().to_owned())];
    let mut fields: Vec<FormField> = Vec::with_capacity(request.fields.len() + 8);

    match &request.key {
        KeyRule::Exact(key) => {
            conditions.push(PolicyCondition::Exact {
                field: "key".into(),
                value: key.as_str().to_owned(),
            });
            push_field(&mut fields, "key", key.as_str());
        }
        KeyRule::Prefix(prefix) => {
            validate_prefix("key", prefix)?;
            conditions.push(PolicyCondition::StartsWith {
                field: "key".into(),
                prefix: prefix.clone(),
            });
            push_field(&mut fields, "key", &format!("{prefix}${{filename}}"));
        }
    }
    match &request.content_type {
        Some(ContentTypeRule::Exact(ct)) => {
            conditions.push(PolicyCondition::Exact {
                field: "Content-Type".into(),
                value: ct.as_str().to_owned(),
            });
            push_field(&mut fields, "Content-Type", ct.as_str());
        }
        Some(ContentTypeRule::Prefix(prefix)) => {
            validate_prefix("Content-Type", prefix)?;
            conditions.push(PolicyCondition::StartsWith {
                field: "Content-Type".into(),
                prefix: prefix.clone(),
            });
            push_field(&mut fields, "Content-Type", prefix);
        }
        None => {}
    }
    if let Some((min, max)) = request.size {
        if min > max || max > MAX_SINGLE_UPLOAD_BYTES {
            return Err(SigningError::SizeRange { min, max });
        }
        conditions.push(PolicyCondition::ContentLengthRange { min, max });
    }
    for (i, (name, value)) in request.fields.iter().enumerate() {
        validate_field(name, value, request.content_type.is_some())?;
        if request.fields[..i]
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            return Err(SigningError::FormField {
                name: name.clone(),
                reason: "given twice",
            });
        }
        conditions.push(PolicyCondition::Exact {
            field: name.clone(),
            value: value.clone(),
        });
        push_field(&mut fields, name, value);
    }
    for (i, name) in client_fields.iter().enumerate() {
        validate_field(name, "", request.content_type.is_some())?;
        let taken = request.fields.iter().map(|(n, _)| n.as_str());
        if taken
            .chain(client_fields[..i].iter().copied())
            .any(|n| n.eq_ignore_ascii_case(name))
        {
            return Err(SigningError::FormField {
                name: (*name).to_owned(),
                reason: "given twice",
            });
        }
        conditions.push(PolicyCondition::StartsWith {
            field: (*name).to_owned(),
            prefix: String::new(),
        });
    }
    let mut sigv4_fields = vec![
        ("x-amz-algorithm", ALGORITHM),
        ("x-amz-credential", sigv4.credential),
        ("x-amz-date", sigv4.amz_date),
    ];
    if let Some(token) = sigv4.session_token {
        sigv4_fields.push(("x-amz-security-token", token));
    }
    for (name, value) in sigv4_fields {
        conditions.push(PolicyCondition::Exact {
            field: name.into(),
            value: value.into(),
        });
        push_field(&mut fields, name, value);
    }
    Ok((conditions, fields))
}

/// Appends one form field.
pub(super) fn push_field(fields: &mut Vec<FormField>, name: &str, value: &str) {
    fields.push(FormField {
        name: name.to_owned(),
        value: value.to_owned(),
    });
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
fn validate_field(
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
fn validate_prefix(name: &str, prefix: &str) -> Result<(), SigningError> {
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
