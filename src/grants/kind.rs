//! What a grant response grants, by S3 operation: the label of `s3_broker_grants_total`.

use crate::sigv4::S3Operation;

/// The S3 operation a grant lets its holder perform: every [`S3Operation`] the broker
/// presigns, plus `PostObject` (a POST policy, which is no presigned URL).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrantKind {
    /// GetObject.
    GetObject,
    /// HeadObject.
    HeadObject,
    /// PutObject with a presigned URL.
    PutObject,
    /// PutObject through a browser form (a POST policy).
    PostObject,
    /// DeleteObject.
    DeleteObject,
    /// CreateMultipartUpload.
    CreateMultipartUpload,
    /// UploadPart.
    UploadPart,
    /// CompleteMultipartUpload.
    CompleteMultipartUpload,
    /// ListParts.
    ListParts,
    /// AbortMultipartUpload.
    AbortMultipartUpload,
}

impl GrantKind {
    /// The operation's name in the S3 API reference (`PostObject` for forms).
    pub fn name(self) -> &'static str {
        match self {
            Self::GetObject => "GetObject",
            Self::HeadObject => "HeadObject",
            Self::PutObject => "PutObject",
            Self::PostObject => "PostObject",
            Self::DeleteObject => "DeleteObject",
            Self::CreateMultipartUpload => "CreateMultipartUpload",
            Self::UploadPart => "UploadPart",
            Self::CompleteMultipartUpload => "CompleteMultipartUpload",
            Self::ListParts => "ListParts",
            Self::AbortMultipartUpload => "AbortMultipartUpload",
        }
    }
}

impl From<&S3Operation> for GrantKind {
    fn from(operation: &S3Operation) -> Self {
        match operation {
            S3Operation::GetObject => Self::GetObject,
            S3Operation::HeadObject => Self::HeadObject,
            S3Operation::PutObject => Self::PutObject,
            S3Operation::DeleteObject => Self::DeleteObject,
            S3Operation::CreateMultipartUpload => Self::CreateMultipartUpload,
            S3Operation::UploadPart { .. } => Self::UploadPart,
            S3Operation::CompleteMultipartUpload { .. } => Self::CompleteMultipartUpload,
            S3Operation::ListParts { .. } => Self::ListParts,
            S3Operation::AbortMultipartUpload { .. } => Self::AbortMultipartUpload,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{PartNumber, UploadId};

    #[test]
    fn names_are_the_s3_operation_names() {
        let upload_id = UploadId::new("u").unwrap();
        for operation in [
            S3Operation::GetObject,
            S3Operation::HeadObject,
            S3Operation::PutObject,
            S3Operation::DeleteObject,
            S3Operation::CreateMultipartUpload,
            S3Operation::UploadPart {
                upload_id: upload_id.clone(),
                part_number: PartNumber::new(1).unwrap(),
            },
            S3Operation::CompleteMultipartUpload {
                upload_id: upload_id.clone(),
            },
            S3Operation::ListParts {
                upload_id: upload_id.clone(),
            },
            S3Operation::AbortMultipartUpload { upload_id },
        ] {
            assert_eq!(GrantKind::from(&operation).name(), operation.name());
        }
        assert_eq!(GrantKind::PostObject.name(), "PostObject");
    }
}
