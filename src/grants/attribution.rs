//! The grant id on what a grant signs ([`GrantId`]): a signed query parameter on a presigned
//! URL, an exact-match `x-amz-meta-` field on a POST form.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/userguide/LogFormat.html> (custom
//! access log information) and
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html>.

use super::BuildError;
use crate::domain::GrantId;
use crate::sigv4::{PostForm, PresignRequest, S3Operation};

/// The grant id of a presigned `operation`: the upload's ([`GrantId::of_upload`]) for a call
/// on a multipart upload, so that every URL of one upload carries one id; a fresh one
/// otherwise.
pub fn operation_grant_id(operation: &S3Operation) -> GrantId {
    match operation {
        S3Operation::UploadPart { upload_id, .. }
        | S3Operation::CompleteMultipartUpload { upload_id }
        | S3Operation::ListParts { upload_id }
        | S3Operation::AbortMultipartUpload { upload_id } => GrantId::of_upload(upload_id),
        S3Operation::GetObject
        | S3Operation::HeadObject
        | S3Operation::PutObject
        | S3Operation::DeleteObject
        | S3Operation::CreateMultipartUpload => GrantId::new(),
    }
}

/// Adds `grant` to the signed query of `request` (as [`GrantId::QUERY_PARAM`]): the signer
/// merges it into the canonical query in place, with no map entry or string of its own.
pub fn attribute_url(request: &mut PresignRequest, grant: &GrantId) -> Result<(), BuildError> {
    request.grant = Some(grant.clone());
    Ok(())
}

/// The POST form field (and exact policy condition) that stores `grant` with the object.
pub fn attribution_field(grant: &GrantId) -> (String, String) {
    (GrantId::META_FIELD.to_owned(), grant.as_str().to_owned())
}

/// The grant id a signed form carries, if any.
pub fn form_grant_id(form: &PostForm) -> Option<GrantId> {
    form.fields
        .iter()
        .find(|field| field.name == GrantId::META_FIELD)
        .and_then(|field| GrantId::from_sealed(&field.value))
}
