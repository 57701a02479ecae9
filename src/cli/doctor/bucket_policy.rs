//! Reading a bucket policy's Deny statements, for the checks that need one (`scan-policy`,
//! `acl-grants`). Only what a check can trust counts: a Deny for every principal (`"*"`), no
//! `NotPrincipal`, `NotAction` or `NotResource`, an action and a resource that cover the case
//! asked about. Anything the reader does not understand counts as not denying.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-policies.html> and
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html>.

use serde_json::Value;

/// The statements of the policy document `text` (one statement may stand alone).
pub(super) fn statements(text: &str) -> Result<Vec<Value>, serde_json::Error> {
    let doc = serde_json::from_str::<Value>(text)?;
    Ok(match doc.get("Statement") {
        Some(Value::Array(list)) => list.clone(),
        Some(one @ Value::Object(_)) => vec![one.clone()],
        _ => Vec::new(),
    })
}

/// Whether `statement` is a Deny of `action` (lower case) on every object under `resource`,
/// for every principal.
pub(super) fn denies_everyone(statement: &Value, action: &str, resource: &str) -> bool {
    statement["Effect"] == "Deny"
        && statement.get("NotPrincipal").is_none()
        && statement.get("NotAction").is_none()
        && statement.get("NotResource").is_none()
        && every_principal(&statement["Principal"])
        && strings(&statement["Action"])
            .iter()
            .any(|a| covers_action(a, action))
        && strings(&statement["Resource"])
            .iter()
            .any(|r| covers(r, resource))
}

/// The one condition of a Deny of `action` on every object under `resource` for every
/// principal, when the statement has exactly one operator with exactly one key:
/// `(operator, key, values)`. Anything else (no condition, several, another statement) is
/// `None`: a check that wants one narrow condition cannot trust a wider statement.
pub(super) fn sole_condition<'a>(
    statement: &'a Value,
    action: &str,
    resource: &str,
) -> Option<(&'a str, &'a str, Vec<&'a str>)> {
    if !denies_everyone(statement, action, resource) {
        return None;
    }
    let conditions = statement["Condition"].as_object()?;
    let [(operator, pairs)] = conditions.iter().collect::<Vec<_>>()[..] else {
        return None;
    };
    let [(key, values)] = pairs.as_object()?.iter().collect::<Vec<_>>()[..] else {
        return None;
    };
    Some((operator.as_str(), key.as_str(), strings(values)))
}

/// `"*"`, `{"AWS": "*"}` or `{"AWS": ["*"]}`.
fn every_principal(principal: &Value) -> bool {
    match principal {
        Value::String(s) => s == "*",
        Value::Object(map) => map.len() == 1 && map.get("AWS").is_some_and(|v| strings(v) == ["*"]),
        _ => false,
    }
}

/// Whether the resource pattern `pattern` matches every object under `prefix_arn`.
fn covers(pattern: &str, prefix_arn: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(head) if !head.contains(['*', '?']) => prefix_arn.starts_with(head),
        _ => false,
    }
}

/// Whether the action pattern `pattern` covers `action` (lower case, e.g. `s3:getobject`:
/// `*`, `s3:*`, `s3:Get*`...; actions compare case-insensitively).
fn covers_action(pattern: &str, action: &str) -> bool {
    let pattern = pattern.to_ascii_lowercase();
    match pattern.strip_suffix('*') {
        Some(head) => !head.contains(['*', '?']) && action.starts_with(head),
        None => pattern == action,
    }
}

/// A JSON string or array of strings as a list (anything else: empty).
pub(super) fn strings(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_everyone_is_every_principal_and_other_principal_kinds_do_not_panic() {
        assert!(every_principal(&json!("*")));
        assert!(every_principal(&json!({"AWS": "*"})));
        assert!(every_principal(&json!({"AWS": ["*"]})));
        for other in [
            json!({"Service": "logging.s3.amazonaws.com"}),
            json!({"CanonicalUser": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"}),
            json!({"Federated": "cognito-identity.amazonaws.com"}),
            json!({"AWS": "arn:aws:iam::111122223333:root"}),
            json!({"AWS": "*", "Service": "x"}),
            json!(["*"]),
        ] {
            assert!(!every_principal(&other), "{other}");
        }
    }
}
