//! POST policies, decoded and checked independently: every field covered by a condition, the
//! signature over the exact base64 text, and invalid requests refused.

use crate::reference::*;
use crate::strategies::*;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use s3_broker::domain::{AddressingStyle, BucketName, ContentType, Expiry, Region};
use s3_broker::sigv4::{
    ContentTypeRule, KeyRule, PostForm, PostPolicyRequest, Signer, SigningError,
};
use serde_json::Value;

const FIVE_GIB: u64 = 5 * 1024 * 1024 * 1024;

#[derive(Debug, Clone)]
pub(crate) struct PostCase {
    pub region: String,
    pub endpoint: EndpointSpec,
    pub style: AddressingStyle,
    pub creds: CredSpec,
    pub at: DateTime<Utc>,
    pub bucket: BucketName,
    pub key: KeyRule,
    pub content_type: Option<ContentTypeRule>,
    pub size: Option<(u64, u64)>,
    pub fields: Vec<(String, String)>,
    pub expires: u32,
}

impl PostCase {
    pub(crate) fn request(&self) -> PostPolicyRequest {
        PostPolicyRequest {
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            content_type: self.content_type.clone(),
            size: self.size,
            fields: self.fields.clone(),
            expires: Expiry::from_secs(u64::from(self.expires)).unwrap(),
        }
    }

    pub(crate) fn sign(&self) -> Result<PostForm, SigningError> {
        Signer::new(
            Region::new(self.region.clone()).unwrap(),
            self.endpoint.endpoint(),
            self.style,
        )
        .post_policy(&self.creds.ours(self.at), &self.request(), self.at)
    }
}

pub(crate) fn key_rule() -> impl Strategy<Value = KeyRule> {
    prop_oneof![
        object_key().prop_map(KeyRule::Exact),
        prop_oneof![
            Just(String::new()),
            "uploads/[a-z0-9]{1,12}/",
            fragments(10)
        ]
        .prop_map(KeyRule::Prefix),
    ]
}

pub(crate) fn content_type_rule() -> impl Strategy<Value = Option<ContentTypeRule>> {
    let exact = prop_oneof![
        prop::sample::select(
            &[
                "image/png",
                "Text/Plain; charset=utf-8",
                "application/vnd.api+json",
                "multipart/form-data; boundary=\"a b\"",
            ][..]
        )
        .prop_map(str::to_owned),
        "[a-z]{1,8}/[a-z0-9.+-]{1,12}",
    ]
    .prop_filter_map("valid content type", |c| ContentType::new(c).ok());
    let prefix = prop_oneof![
        prop::sample::select(&["", "image/", "video/", "text/plain; charset=", "$"][..])
            .prop_map(str::to_owned),
        fragments(4),
    ];
    prop_oneof![
        1 => Just(None),
        2 => exact.prop_map(|c| Some(ContentTypeRule::Exact(c))),
        2 => prefix.prop_map(|p| Some(ContentTypeRule::Prefix(p))),
    ]
}

pub(crate) fn size_range() -> impl Strategy<Value = Option<(u64, u64)>> {
    prop::option::of(
        prop_oneof![
            (0u64..=FIVE_GIB, 0u64..=FIVE_GIB),
            (0u64..10, 0u64..10),
            Just((0, FIVE_GIB)),
            Just((FIVE_GIB, FIVE_GIB)),
        ]
        .prop_map(|(a, b)| (a.min(b), a.max(b))),
    )
}

pub(crate) fn form_field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(
            &[
                "acl",
                "success_action_status",
                "success_action_redirect",
                "Cache-Control",
                "Content-Disposition",
                "Content-Encoding",
                "Expires",
                "tagging",
                "x-amz-server-side-encryption",
                "x-amz-server-side-encryption-aws-kms-key-id",
                "x-amz-storage-class",
                "x-amz-checksum-algorithm",
                "x-amz-checksum-sha256",
                "Content-Type",
            ][..]
        )
        .prop_map(str::to_owned),
        1 => "x-amz-meta-[a-zA-Z0-9_-]{1,20}",
    ]
}

pub(crate) fn form_field_value() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(&["private", "public-read", "201", "AES256", "SHA256", ""][..])
            .prop_map(str::to_owned),
        fragments(10),
        "[A-Za-z0-9+/]{43}=".prop_map(String::from),
    ]
}

/// Valid requests: field names unique (case-insensitively), no `Content-Type` field when a
/// content-type rule is given.
pub(crate) fn post_case() -> impl Strategy<Value = PostCase> {
    (
        (
            region(),
            endpoint(),
            addressing(),
            credentials(),
            signing_time(),
        ),
        (
            bucket(),
            key_rule(),
            content_type_rule(),
            size_range(),
            prop::collection::vec((form_field_name(), form_field_value()), 0..6),
            1u32..=604_800,
        ),
    )
        .prop_map(
            |(
                (region, endpoint, style, creds, at),
                (bucket, key, content_type, size, raw_fields, expires),
            )| {
                let mut fields: Vec<(String, String)> = Vec::new();
                for (name, value) in raw_fields {
                    let clash = fields.iter().any(|(n, _)| n.eq_ignore_ascii_case(&name))
                        || (content_type.is_some() && name.eq_ignore_ascii_case("content-type"));
                    if !clash {
                        fields.push((name, value));
                    }
                }
                PostCase {
                    region,
                    endpoint,
                    style,
                    creds,
                    at,
                    bucket,
                    key,
                    content_type,
                    size,
                    fields,
                    expires,
                }
            },
        )
}

/// A condition of the decoded policy.
#[derive(Debug)]
pub(crate) enum Condition<'a> {
    Bucket(&'a str),
    Exact(&'a str, &'a str),
    StartsWith(&'a str, &'a str),
    LengthRange(u64, u64),
}

pub(crate) fn parse_condition(value: &Value) -> Result<Condition<'_>, TestCaseError> {
    let bad = || TestCaseError::fail(format!("unexpected condition {value}"));
    match value {
        Value::Object(map) => {
            prop_assert_eq!(map.len(), 1, "one field per condition object: {}", value);
            let (name, v) = map.iter().next().ok_or_else(bad)?;
            let v = v.as_str().ok_or_else(bad)?;
            if name == "bucket" {
                Ok(Condition::Bucket(v))
            } else {
                Ok(Condition::Exact(name, v))
            }
        }
        Value::Array(items) => match items.as_slice() {
            [
                Value::String(op),
                Value::String(field),
                Value::String(prefix),
            ] if op == "starts-with" => {
                let field = field.strip_prefix('$').ok_or_else(bad)?;
                Ok(Condition::StartsWith(field, prefix))
            }
            [Value::String(op), Value::String(field), Value::String(v)] if op == "eq" => {
                let field = field.strip_prefix('$').ok_or_else(bad)?;
                Ok(Condition::Exact(field, v))
            }
            [Value::String(op), min, max] if op == "content-length-range" => {
                Ok(Condition::LengthRange(
                    min.as_u64().ok_or_else(bad)?,
                    max.as_u64().ok_or_else(bad)?,
                ))
            }
            _ => Err(bad()),
        },
        _ => Err(bad()),
    }
}

/// Checks a signed form against its request, decoding the policy independently.
pub(crate) fn check_post_form(case: &PostCase, form: &PostForm) -> Result<(), TestCaseError> {
    let lifetime = case
        .creds
        .lifetime(case.expires)
        .ok_or_else(|| TestCaseError::fail("signed with dead credentials"))?;
    let signed_at = truncate(case.at);
    let expires_at = signed_at + Duration::seconds(i64::from(lifetime));
    prop_assert_eq!(form.expires_at, expires_at);

    // Fields: unique names, `x-amz-signature` last, `policy` and `x-amz-signature` present.
    for (i, f) in form.fields.iter().enumerate() {
        prop_assert!(
            !form.fields[..i].iter().any(|g| g.name == f.name),
            "field {:?} given twice",
            f.name
        );
        prop_assert!(f.name != "file", "the file field is the client's");
    }
    let last = form.fields.last().map(|f| f.name.as_str());
    prop_assert_eq!(last, Some("x-amz-signature"));
    let policy = form
        .field("policy")
        .ok_or_else(|| TestCaseError::fail("no policy field"))?;

    // Decode the exact text that was signed.
    let json_bytes = STANDARD
        .decode(policy)
        .map_err(|e| TestCaseError::fail(format!("policy is not base64: {e}")))?;
    let json: Value = serde_json::from_slice(&json_bytes)
        .map_err(|e| TestCaseError::fail(format!("policy is not JSON: {e}")))?;
    let top = json
        .as_object()
        .ok_or_else(|| TestCaseError::fail("policy is not an object"))?;
    prop_assert_eq!(top.len(), 2, "only expiration and conditions: {}", json);
    let expiration = format!("{}.000Z", expires_at.format("%Y-%m-%dT%H:%M:%S"));
    prop_assert_eq!(
        top.get("expiration").and_then(Value::as_str),
        Some(expiration.as_str())
    );
    let conditions: Vec<Condition<'_>> = top
        .get("conditions")
        .and_then(Value::as_array)
        .ok_or_else(|| TestCaseError::fail("no conditions array"))?
        .iter()
        .map(parse_condition)
        .collect::<Result<_, _>>()?;

    // Every field (except policy and signature) is covered by a condition it satisfies.
    for f in &form.fields {
        if f.name == "policy" || f.name == "x-amz-signature" {
            continue;
        }
        let covered = conditions.iter().any(|c| match c {
            Condition::Exact(name, value) => *name == f.name && *value == f.value,
            Condition::StartsWith(name, prefix) => *name == f.name && f.value.starts_with(prefix),
            Condition::Bucket(_) | Condition::LengthRange(..) => false,
        });
        prop_assert!(covered, "field {:?}={:?} is not covered", f.name, f.value);
    }
    // Every condition but bucket and content-length-range is satisfied by a field.
    let mut buckets = 0;
    let mut ranges = Vec::new();
    for c in &conditions {
        match c {
            Condition::Bucket(b) => {
                buckets += 1;
                prop_assert_eq!(*b, case.bucket.as_str());
            }
            Condition::LengthRange(min, max) => ranges.push((*min, *max)),
            Condition::Exact(name, value) => prop_assert!(
                form.field(name) == Some(*value),
                "condition {:?} has no matching field",
                c
            ),
            Condition::StartsWith(name, prefix) => prop_assert!(
                form.field(name).is_some_and(|v| v.starts_with(prefix)),
                "condition {:?} has no matching field",
                c
            ),
        }
    }
    prop_assert_eq!(buckets, 1);
    prop_assert_eq!(ranges, case.size.into_iter().collect::<Vec<_>>());

    // The request is what was asked for.
    match &case.key {
        KeyRule::Exact(key) => prop_assert_eq!(form.field("key"), Some(key.as_str())),
        KeyRule::Prefix(prefix) => {
            let expected = format!("{prefix}${{filename}}");
            prop_assert_eq!(form.field("key"), Some(expected.as_str()));
            prop_assert!(
                conditions
                    .iter()
                    .any(|c| matches!(c, Condition::StartsWith("key", p) if p == prefix)),
                "no starts-with condition on key"
            );
        }
    }
    match &case.content_type {
        Some(ContentTypeRule::Exact(ct)) => {
            prop_assert_eq!(form.field("Content-Type"), Some(ct.as_str()));
        }
        Some(ContentTypeRule::Prefix(prefix)) => prop_assert!(
            conditions
                .iter()
                .any(|c| matches!(c, Condition::StartsWith("Content-Type", p) if p == prefix)),
            "no starts-with condition on Content-Type"
        ),
        None => {}
    }
    for (name, value) in &case.fields {
        prop_assert_eq!(form.field(name), Some(value.as_str()));
    }
    let date = date_stamp(signed_at);
    let credential = format!("{}/{date}/{}/s3/aws4_request", case.creds.akid, case.region);
    prop_assert_eq!(form.field("x-amz-credential"), Some(credential.as_str()));
    prop_assert_eq!(form.field("x-amz-algorithm"), Some("AWS4-HMAC-SHA256"));
    let date_time = amz_date(signed_at);
    prop_assert_eq!(form.field("x-amz-date"), Some(date_time.as_str()));
    prop_assert_eq!(
        form.field("x-amz-security-token"),
        case.creds.token.as_deref()
    );
    let (scheme, authority, path) = expected_address(
        &case.endpoint,
        &case.region,
        case.style,
        case.bucket.as_str(),
        None,
    );
    prop_assert_eq!(&form.url, &format!("{scheme}://{authority}{path}"));

    // The signature covers the exact base64 text returned.
    let key = reference_signing_key(&case.creds.secret, &date, &case.region);
    let signature = hex::encode(hmac_sha256(&key, policy.as_bytes()));
    prop_assert_eq!(form.field("x-amz-signature"), Some(signature.as_str()));
    Ok(())
}

/// Ways to make a valid request invalid.
#[derive(Debug, Clone)]
pub(crate) enum Breakage {
    /// A field the signer sets itself (any letter case), or an `x-ignore-` field.
    ReservedField(String),
    /// A control character inserted into a field value.
    ControlInValue(char),
    /// A field name that is not 1 to 128 letters, digits, `-` or `_`.
    BadFieldName(String),
    /// A field value over 8192 bytes.
    LongValue,
    /// The same field twice, in another letter case.
    DuplicateField,
    /// A `Content-Type` field on top of a content-type rule.
    ContentTypeTwice,
    /// A control character in the key prefix.
    ControlInKeyPrefix(char),
    /// A key prefix over 1024 bytes.
    LongKeyPrefix,
    /// A control character in the content-type prefix.
    ControlInContentTypePrefix(char),
    /// `min > max`.
    InvertedSize(u64, u64),
    /// `max` over 5 GiB.
    OversizedMax(u64),
}

pub(crate) fn mixed_case(s: &str, mask: u64) -> String {
    s.chars()
        .enumerate()
        .map(|(i, c)| {
            if mask >> (i % 64) & 1 == 1 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect()
}

pub(crate) fn breakage() -> impl Strategy<Value = Breakage> {
    let reserved = (
        prop::sample::select(
            &[
                "key",
                "bucket",
                "policy",
                "file",
                "x-amz-signature",
                "x-amz-algorithm",
                "x-amz-credential",
                "x-amz-date",
                "x-amz-security-token",
                "x-ignore-",
            ][..],
        ),
        any::<u64>(),
        "[a-z]{0,4}",
    )
        .prop_map(|(name, mask, suffix)| {
            let suffix = if name == "x-ignore-" {
                suffix
            } else {
                String::new()
            };
            Breakage::ReservedField(mixed_case(&format!("{name}{suffix}"), mask))
        });
    let bad_name = prop_oneof![
        Just(String::new()),
        "[a-z]{1,5}[ :/.=$é\"\\[\\]{}][a-z]{0,5}",
        "[a-z]{129,140}",
    ];
    prop_oneof![
        reserved,
        control_char().prop_map(Breakage::ControlInValue),
        bad_name.prop_map(Breakage::BadFieldName),
        Just(Breakage::LongValue),
        Just(Breakage::DuplicateField),
        Just(Breakage::ContentTypeTwice),
        control_char().prop_map(Breakage::ControlInKeyPrefix),
        Just(Breakage::LongKeyPrefix),
        control_char().prop_map(Breakage::ControlInContentTypePrefix),
        (1u64..=FIVE_GIB, any::<u64>())
            .prop_map(|(max, d)| Breakage::InvertedSize(max.saturating_add(1 + d % FIVE_GIB), max)),
        (FIVE_GIB + 1..=u64::MAX).prop_map(Breakage::OversizedMax),
    ]
}

pub(crate) fn break_case(mut case: PostCase, breakage: &Breakage) -> PostCase {
    match breakage {
        Breakage::ReservedField(name) => case.fields.push((name.clone(), "v".into())),
        Breakage::ControlInValue(c) => {
            case.fields
                .push(("x-amz-meta-broken".into(), format!("a{c}b")));
        }
        Breakage::BadFieldName(name) => case.fields.push((name.clone(), "v".into())),
        Breakage::LongValue => case.fields.push(("acl".into(), "a".repeat(8193))),
        Breakage::DuplicateField => {
            case.fields.push(("x-amz-meta-twice".into(), "1".into()));
            case.fields.push(("X-Amz-Meta-Twice".into(), "2".into()));
        }
        Breakage::ContentTypeTwice => {
            if case.content_type.is_none() {
                case.content_type = Some(ContentTypeRule::Prefix("image/".into()));
            }
            case.fields
                .push(("content-type".into(), "image/png".into()));
        }
        Breakage::ControlInKeyPrefix(c) => case.key = KeyRule::Prefix(format!("u/{c}/")),
        Breakage::LongKeyPrefix => case.key = KeyRule::Prefix("k".repeat(1025)),
        Breakage::ControlInContentTypePrefix(c) => {
            case.content_type = Some(ContentTypeRule::Prefix(format!("image/{c}")));
            case.fields
                .retain(|(n, _)| !n.eq_ignore_ascii_case("content-type"));
        }
        Breakage::InvertedSize(min, max) => case.size = Some((*min, *max)),
        Breakage::OversizedMax(max) => case.size = Some((0, *max)),
    }
    case
}

proptest! {
    #![proptest_config(config(512))]

    /// Every signed form is self-consistent: fields and conditions cover each other, and the
    /// signature is the HMAC of the exact policy text under an independently derived key.
    #[test]
    fn post_policies_cover_their_fields_and_sign_their_text(case in post_case()) {
        match case.sign() {
            Ok(form) => check_post_form(&case, &form)?,
            Err(SigningError::CredentialsExpired(_))
                if case.creds.lifetime(case.expires).is_none() => {}
            Err(e) => prop_assert!(false, "valid request refused: {e}"),
        }
    }

    /// Invalid requests are refused with an error (a panic fails the test too).
    #[test]
    fn invalid_post_policies_are_refused(case in post_case(), breakage in breakage()) {
        let broken = break_case(case, &breakage);
        let result = broken.sign();
        prop_assert!(result.is_err(), "{breakage:?} was accepted: {result:?}");
    }

    /// Arbitrary extra fields: refused or consistent, never a panic.
    #[test]
    fn arbitrary_post_fields_are_refused_or_consistent(
        mut case in post_case(),
        extra in prop::collection::vec((any::<String>(), any::<String>()), 1..4),
    ) {
        case.fields.extend(extra);
        if let Ok(form) = case.sign() {
            for (name, value) in &case.fields {
                prop_assert!(
                    !name.is_empty()
                        && name.len() <= 128
                        && name
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
                    "accepted field name {name:?}"
                );
                prop_assert!(!value.chars().any(char::is_control), "accepted value {value:?}");
            }
            check_post_form(&case, &form)?;
        }
    }
}
