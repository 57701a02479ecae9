//! The S3 operations s3-broker presigns, each with its method and fixed query parameters.
//!
//! API reference: <https://docs.aws.amazon.com/AmazonS3/latest/API/API_Operations_Amazon_Simple_Storage_Service.html>

use crate::domain::{PartNumber, UploadId};
use std::fmt;

/// An HTTP method of a presigned request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HttpMethod {
    /// GET
    Get,
    /// HEAD
    Head,
    /// PUT
    Put,
    /// POST
    Post,
    /// DELETE
    Delete,
}

impl HttpMethod {
    /// The method in uppercase.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Head => "HEAD",
            Self::Put => "PUT",
            Self::Post => "POST",
            Self::Delete => "DELETE",
        }
    }
}

impl serde::Serialize for HttpMethod {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl fmt::Display for HttpMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An object-level S3 operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum S3Operation {
    /// GetObject: GET /key
    GetObject,
    /// HeadObject: HEAD /key
    HeadObject,
    /// PutObject: PUT /key
    PutObject,
    /// DeleteObject: DELETE /key
    DeleteObject,
    /// CreateMultipartUpload: POST /key?uploads
    CreateMultipartUpload,
    /// UploadPart: PUT /key?partNumber=N&uploadId=ID
    UploadPart {
        /// The upload.
        upload_id: UploadId,
        /// The part.
        part_number: PartNumber,
    },
    /// CompleteMultipartUpload: POST /key?uploadId=ID
    CompleteMultipartUpload {
        /// The upload.
        upload_id: UploadId,
    },
    /// ListParts: GET /key?uploadId=ID
    ListParts {
        /// The upload.
        upload_id: UploadId,
    },
    /// AbortMultipartUpload: DELETE /key?uploadId=ID
    AbortMultipartUpload {
        /// The upload.
        upload_id: UploadId,
    },
}

impl S3Operation {
    /// The HTTP method.
    pub fn method(&self) -> HttpMethod {
        match self {
            Self::GetObject | Self::ListParts { .. } => HttpMethod::Get,
            Self::HeadObject => HttpMethod::Head,
            Self::PutObject | Self::UploadPart { .. } => HttpMethod::Put,
            Self::CreateMultipartUpload | Self::CompleteMultipartUpload { .. } => HttpMethod::Post,
            Self::DeleteObject | Self::AbortMultipartUpload { .. } => HttpMethod::Delete,
        }
    }

    /// The operation's name in the S3 API reference.
    pub fn name(&self) -> &'static str {
        match self {
            Self::GetObject => "GetObject",
            Self::HeadObject => "HeadObject",
            Self::PutObject => "PutObject",
            Self::DeleteObject => "DeleteObject",
            Self::CreateMultipartUpload => "CreateMultipartUpload",
            Self::UploadPart { .. } => "UploadPart",
            Self::CompleteMultipartUpload { .. } => "CompleteMultipartUpload",
            Self::ListParts { .. } => "ListParts",
            Self::AbortMultipartUpload { .. } => "AbortMultipartUpload",
        }
    }

    /// The query parameters that select the operation (unencoded).
    pub fn query(&self) -> Vec<(&'static str, String)> {
        let mut digits = itoa::Buffer::new();
        let (pairs, count) = self.query_pairs(&mut digits);
        pairs[..count]
            .iter()
            .map(|(name, value)| (*name, (*value).to_owned()))
            .collect()
    }

    /// [`S3Operation::query`] without an allocation: at most two pairs, sorted by name; a part
    /// number is written into `digits`.
    pub(super) fn query_pairs<'a>(
        &'a self,
        digits: &'a mut itoa::Buffer,
    ) -> ([(&'static str, &'a str); 2], usize) {
        match self {
            Self::GetObject | Self::HeadObject | Self::PutObject | Self::DeleteObject => {
                ([("", ""); 2], 0)
            }
            Self::CreateMultipartUpload => ([("uploads", ""), ("", "")], 1),
            Self::UploadPart {
                upload_id,
                part_number,
            } => (
                [
                    ("partNumber", digits.format(part_number.get())),
                    ("uploadId", upload_id.as_str()),
                ],
                2,
            ),
            Self::CompleteMultipartUpload { upload_id }
            | Self::ListParts { upload_id }
            | Self::AbortMultipartUpload { upload_id } => {
                ([("uploadId", upload_id.as_str()), ("", "")], 1)
            }
        }
    }
}
