//! The parts a client names to complete a multipart upload.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html>.

use crate::domain::{ETag, PartNumber};

/// One part of a complete request, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartToComplete {
    /// Its number.
    pub part_number: PartNumber,
    /// The ETag its upload returned.
    pub etag: ETag,
    /// Its checksum (required when the upload has a checksum algorithm).
    pub checksum: Option<String>,
}
