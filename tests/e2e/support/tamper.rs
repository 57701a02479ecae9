//! Ways a client could try to bend a grant: each returns a changed copy.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Changes the last hex digit of a signature.
pub(crate) fn flip_signature(signature: &str) -> String {
    let mut out = signature.to_owned();
    let last = out.pop().expect("a non-empty signature");
    out.push(if last == '0' { '1' } else { '0' });
    out
}

/// A presigned URL whose `X-Amz-Signature` has one digit changed.
pub(crate) fn tamper_url_signature(url: &str) -> String {
    let (head, signature) = url
        .rsplit_once("X-Amz-Signature=")
        .expect("a presigned URL ends with its signature");
    format!("{head}X-Amz-Signature={}", flip_signature(signature))
}

/// A presigned URL with one more, unsigned, query parameter (`name=value`, already encoded).
pub(crate) fn add_query_param(url: &str, param: &str) -> String {
    let (head, signature) = url
        .rsplit_once("&X-Amz-Signature=")
        .expect("a presigned URL ends with its signature");
    format!("{head}&{param}&X-Amz-Signature={signature}")
}

/// Decodes a base64 policy, lets `edit` change the JSON and encodes it again.
pub(crate) fn rewrite_policy(policy: &str, edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let bytes = STANDARD.decode(policy).expect("the policy is base64");
    let mut json: serde_json::Value = serde_json::from_slice(&bytes).expect("the policy is JSON");
    edit(&mut json);
    STANDARD.encode(json.to_string())
}

/// The policy's conditions, for `rewrite_policy` edits.
pub(crate) fn conditions(policy: &mut serde_json::Value) -> &mut Vec<serde_json::Value> {
    policy["conditions"]
        .as_array_mut()
        .expect("the policy has conditions")
}
