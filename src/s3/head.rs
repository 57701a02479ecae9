//! Whether an object exists: HeadObject, and a one-key listing when S3 will not say.

use super::{S3Client, S3Error};
use crate::domain::{BucketName, ObjectKey};

/// What HeadObject tells about an object.
#[derive(Debug)]
pub(super) struct ObjectHead {
    /// Size in bytes.
    pub(super) size: u64,
    /// The ETag, as S3 sent it.
    pub(super) etag: Option<String>,
    /// The stored `Content-Type`, if any.
    pub(super) content_type: Option<String>,
}

/// What S3 says of an object's stored type ([`S3Client::stored_content_type`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredType {
    /// No such object.
    Missing,
    /// The object, with its stored `Content-Type` (`None`: it has none).
    Found(Option<String>),
    /// S3 refused the HeadObject (no `s3:ListBucket` on a missing key, or an SSE-C object
    /// without its key): the type is unknown, and so may be the object's existence.
    Unknown,
}

impl S3Client {
    /// HeadObject: the object's size and ETag, `None` when there is no such object.
    ///
    /// See <https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html>
    pub(super) async fn head_object(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
    ) -> Result<Option<ObjectHead>, S3Error> {
        let request = self
            .client()
            .head_object()
            .bucket(bucket.as_str())
            .key(key.as_str())
            .send();
        match self.timed("HeadObject", request).await {
            Ok(output) => Ok(Some(ObjectHead {
                size: output
                    .content_length()
                    .and_then(|n| u64::try_from(n).ok())
                    .unwrap_or(0),
                etag: output.e_tag().filter(|e| !e.is_empty()).map(str::to_owned),
                content_type: output.content_type().map(str::to_owned),
            })),
            // A HEAD's 404 has no body: `NotFound` is the SDK's name for it, and `classify`
            // names any other 404 `NoSuchUpload`.
            Err(S3Error::NoSuchKey | S3Error::NoSuchUpload) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// The stored `Content-Type` of `key`: one HeadObject, within the operation budget like
    /// every S3 call of the broker.
    pub async fn stored_content_type(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
    ) -> Result<StoredType, S3Error> {
        match self.head_object(bucket, key).await {
            Ok(Some(head)) => Ok(StoredType::Found(head.content_type)),
            Ok(None) => Ok(StoredType::Missing),
            Err(S3Error::Refused(_)) => Ok(StoredType::Unknown),
            Err(err) => Err(err),
        }
    }

    /// Whether `key` holds an object, for when S3 refused its HeadObject
    /// ([`StoredType::Unknown`]): one ListObjectsV2 of the key as prefix (at most one key).
    /// S3 refuses a HEAD of a missing key with 403 when the caller may not list the bucket
    /// (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html>, "Permissions":
    /// the shipped IAM policy allows `s3:ListBucket` only under the profiles' prefixes, which
    /// a HEAD does not name), and a HEAD of an SSE-C object without its key with 400; the
    /// listing needs neither. A key sorts before every longer key it is a prefix of, so the
    /// first listed key is `key` itself when it exists.
    pub async fn key_listed(&self, bucket: &BucketName, key: &ObjectKey) -> Result<bool, S3Error> {
        let listing = self
            .client()
            .list_objects_v2()
            .bucket(bucket.as_str())
            .prefix(key.as_str())
            .max_keys(1)
            .send();
        let output = self.timed("ListObjectsV2", listing).await?;
        Ok(output.contents().first().and_then(|object| object.key()) == Some(key.as_str()))
    }
}
