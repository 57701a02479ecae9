//! The size limits S3 sets on what one request may carry.
//!
//! Limits: <https://docs.aws.amazon.com/AmazonS3/latest/userguide/upload-objects.html> and
//! <https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html>

/// The largest object a single PUT or POST may carry, and the largest part of a multipart
/// upload: 5 GiB.
pub const MAX_SINGLE_UPLOAD_BYTES: u64 = 5 * 1024 * 1024 * 1024;
