//! Step 2: the credential scope and the string to sign.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html#request-string>

use super::SigningTime;
use super::sink::Sink;
use crate::domain::{AccessKeyId, Region};

/// The only algorithm s3-broker signs with.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// `YYYYMMDD/region/service/aws4_request`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialScope(String);

impl CredentialScope {
    /// The scope of a request signed at `time` in `region` for `service` (`s3` here).
    pub fn new(time: &SigningTime, region: &Region, service: &str) -> Self {
        Self(format!(
            "{}/{}/{}/aws4_request",
            time.date_stamp(),
            region.as_str(),
            service
        ))
    }

    /// The scope text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `AKID/scope`, the value of `X-Amz-Credential`.
    pub fn credential(&self, access_key_id: &AccessKeyId) -> String {
        format!("{}/{}", access_key_id.as_str(), self.0)
    }
}

/// `ALGORITHM \n amz-date \n scope \n hex(sha256(canonical request))`.
pub fn string_to_sign(time: &SigningTime, scope: &CredentialScope, canonical_hash: &str) -> String {
    let mut out = String::with_capacity(
        ALGORITHM.len() + 16 + scope.as_str().len() + canonical_hash.len() + 3,
    );
    write_string_to_sign(&mut out, time, scope, canonical_hash);
    out
}

/// Writes the string to sign to `out` (a `String`, or the HMAC that signs it).
pub(crate) fn write_string_to_sign(
    out: &mut impl Sink,
    time: &SigningTime,
    scope: &CredentialScope,
    canonical_hash: &str,
) {
    write_string_to_sign_prefix(out, time, scope);
    out.put(canonical_hash);
}

/// The part of the string to sign before the canonical request's hash.
pub(crate) fn write_string_to_sign_prefix(
    out: &mut impl Sink,
    time: &SigningTime,
    scope: &CredentialScope,
) {
    out.put(ALGORITHM);
    out.put("\n");
    out.put(time.amz_date());
    out.put("\n");
    out.put(scope.as_str());
    out.put("\n");
}
