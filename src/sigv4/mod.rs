//! The pure SigV4 core for S3: no I/O, no clock, no environment.
//!
//! Time and credentials are arguments. Each file is one step of the algorithm described in
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-authenticating-requests.html>.

mod addressing;
mod canonical_request;
mod encoding;
mod error;
mod operation;
mod part_batch;
mod post_form;
mod post_policy;
mod prefix_cache;
mod presign;
mod query;
mod sha256_state;
mod signed_headers;
mod signer;
mod signing_key;
mod sink;
mod string_to_sign;
mod time;

pub use addressing::{BucketAddress, ObjectAddress, resolve_bucket, resolve_object};
pub use canonical_request::{CanonicalRequest, UNSIGNED_PAYLOAD};
pub use encoding::{encode_path, encode_query_component, push_query_component};
pub use error::SigningError;
pub use operation::{HttpMethod, S3Operation};
pub use part_batch::{PartBatchError, PartHeaderShape, PartUrlBatch, SignedPart};
pub use post_form::{FormField, PostForm};
pub use post_policy::{
    ContentTypeRule, KeyRule, PolicyCondition, PolicyDocument, PostPolicyRequest,
};
pub use presign::{PresignRequest, PresignedRequest, SigningTrace};
pub use query::QueryParams;
pub(crate) use sha256_state::HmacStates;
pub use signed_headers::SignedHeaders;
pub use signer::Signer;
pub use signing_key::{DailyKey, SigningKey, SigningKeyCache, derive_signing_key};
pub use string_to_sign::{ALGORITHM, CredentialScope, string_to_sign};
pub use time::SigningTime;
