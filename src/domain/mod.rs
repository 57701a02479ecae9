//! Domain newtypes, validated once at the boundary so the rest of the code can trust them.

mod access_key;
mod bucket;
mod checksum;
mod content_type;
mod endpoint;
mod error;
mod etag;
mod expiry;
mod grant_id;
mod header;
mod limits;
mod multipart;
mod object_key;
mod principal;
mod region;

pub use access_key::{AccessKeyId, Credentials, SecretAccessKey, SessionToken};
pub use bucket::BucketName;
pub use checksum::{Checksum, ChecksumAlgorithm, ContentMd5};
pub use content_type::ContentType;
pub use endpoint::{AddressingStyle, Endpoint, Scheme};
pub use error::DomainError;
pub use etag::ETag;
pub use expiry::Expiry;
pub use grant_id::GrantId;
pub use header::{HeaderName, HeaderValue};
pub use limits::MAX_SINGLE_UPLOAD_BYTES;
pub use multipart::{PartNumber, UploadId};
pub use object_key::ObjectKey;
pub use principal::{NamespaceSegment, Principal, Scope, Scopes};
pub use region::Region;
