//! The values every kind of grant binds the same way: server-side encryption and
//! `x-amz-meta-*`, as signed headers (PUT, GET, CreateMultipartUpload) or exact-match fields
//! (POST).
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingMetadata.html>

use super::BuildError;
use crate::policy::{MetadataKey, ServerSideEncryption};
use crate::sigv4::SignedHeaders;

/// The server-side encryption and `x-amz-meta-*` values a grant binds: signed headers for a
/// PUT, exact-match fields for a POST.
pub fn bound_fields(
    sse: Option<&ServerSideEncryption>,
    metadata: &[(MetadataKey, String)],
) -> Vec<(String, String)> {
    encryption_and_metadata(
        sse.map(ServerSideEncryption::headers).unwrap_or_default(),
        metadata,
    )
}

/// Encryption values (as decided, e.g. [`crate::policy::UploadDecision::encryption_headers`])
/// followed by the `x-amz-meta-*` values: what a PUT signs or a POST binds exactly.
pub fn encryption_and_metadata(
    encryption: Vec<(&'static str, String)>,
    metadata: &[(MetadataKey, String)],
) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = encryption
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
    fields.extend(metadata.iter().map(|(k, v)| (k.header_name(), v.clone())));
    fields
}

/// Adds headers the policy decided to `headers`. They were validated there, so a refusal
/// here is a bug ([`BuildError`]).
pub fn sign_decided<N: AsRef<str>, V: AsRef<str>>(
    headers: &mut SignedHeaders,
    decided: impl IntoIterator<Item = (N, V)>,
) -> Result<(), BuildError> {
    for (name, value) in decided {
        headers.insert(name.as_ref(), value.as_ref())?;
    }
    Ok(())
}
