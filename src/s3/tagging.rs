//! One tag of an object (GetObjectTagging), for scan-gated downloads. Bounded like every
//! other call (the operation timeout, retries included).

use super::{QUARANTINE_TAG, S3Client, S3Error};
use crate::domain::{BucketName, ObjectKey};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

/// What GetObjectTagging says of one tag of an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectTag {
    /// No such object (S3's 404 `NoSuchKey`).
    Missing,
    /// The object, and the tag's value (`None`: the object has no such tag).
    Found(Option<String>),
    /// The object carries the broker's own [`QUARANTINE_TAG`]: a verification found that it
    /// does not match its grant and kept it for inspection, whatever a scanner says of it.
    Quarantined,
    /// The store does not implement GetObjectTagging (501 or `NotImplemented`, as s3s-fs
    /// answers): it keeps no tags, and never will.
    Unsupported,
}

impl S3Client {
    /// The value of the tag `name` on `key` (one GetObjectTagging), or
    /// [`ObjectTag::Quarantined`] when the tag set holds [`QUARANTINE_TAG`]. A store that does
    /// not implement the call is [`ObjectTag::Unsupported`], not an outage to retry.
    ///
    /// See <https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectTagging.html>
    pub async fn object_tag(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        name: &str,
    ) -> Result<ObjectTag, S3Error> {
        let request = self
            .client()
            .get_object_tagging()
            .bucket(bucket.as_str())
            .key(key.as_str())
            .send();
        // `None`: the store does not implement the call.
        let call = async move {
            match request.await {
                Err(SdkError::ServiceError(ref err))
                    if err.raw().status().as_u16() == 501
                        || err.err().code() == Some("NotImplemented") =>
                {
                    Ok(None)
                }
                other => other.map(Some),
            }
        };
        match self.timed("GetObjectTagging", call).await {
            Ok(Some(output)) => {
                let tags = output.tag_set();
                let (quarantine, mismatch) = QUARANTINE_TAG;
                if tags
                    .iter()
                    .any(|tag| tag.key() == quarantine && tag.value() == mismatch)
                {
                    return Ok(ObjectTag::Quarantined);
                }
                Ok(ObjectTag::Found(
                    tags.iter()
                        .find(|tag| tag.key() == name)
                        .map(|tag| tag.value().to_owned()),
                ))
            }
            Ok(None) => Ok(ObjectTag::Unsupported),
            // `classify` names a 404 other than HEAD's `NotFound` `NoSuchUpload`.
            Err(S3Error::NoSuchKey | S3Error::NoSuchUpload) => Ok(ObjectTag::Missing),
            Err(err) => Err(err),
        }
    }
}
