//! Upload profiles: who may put which file where, and which limits every grant binds.
//!
//! Pure decisions. Profiles are loaded once from `policies/*.toml` ([`ProfileRegistry`]);
//! afterwards nothing here does I/O, reads a clock or the environment: time, the fresh UUID,
//! the requested lifetime and the storage backend's capabilities ([`crate::backend`]) are
//! arguments. Every limit a decision returns is meant to be bound into the signature (signed
//! headers for PUT, policy conditions for POST; built in [`crate::grants`]), so that S3
//! enforces it.
//!
//! Keys are rendered from a profile's [`KeyTemplate`] and always lie in the caller's
//! [`Namespace`] (`users/{principal}/...`); ownership is checked on whole segments. Client
//! input ([`Filename`], [`ClientPath`]) is refused, never repaired, when it breaks a rule.

mod backend;
mod chars;
mod client_path;
mod content_types;
mod disposition;
mod download;
mod encryption;
mod error;
mod filename;
mod form;
mod listing;
mod load_error;
mod metadata;
mod method;
mod multipart;
mod name;
mod namespace;
mod nfc;
mod profile;
mod redirect;
mod registry;
mod scan;
mod size;
mod spec;
mod template;
mod upload;
mod verification;

pub use crate::domain::MAX_SINGLE_UPLOAD_BYTES;
pub use backend::applies_encryption;
pub use client_path::{ClientPath, MAX_PATH_BYTES};
pub use content_types::{ContentTypePattern, ContentTypes};
pub use disposition::{
    Disposition, NEUTRAL_CONTENT_TYPE, content_disposition, is_active_content_type, is_active_name,
    passive_type_of_name,
};
pub use download::{DownloadDecision, DownloadIntent};
pub use encryption::{
    CustomerKeyMd5, SSE_C, SSE_C_ALGORITHM_FIELD, SSE_C_ALGORITHM_HEADER, SSE_C_KEY_FIELD,
    SSE_C_KEY_HEADER, SSE_C_KEY_MD5_FIELD, SSE_C_KEY_MD5_HEADER, ServerSideEncryption,
};
pub use error::PolicyError;
pub use filename::Filename;
pub use form::{FormContentType, FormIntent, FormKey, FormUploadDecision};
pub use listing::ListingScope;
pub use load_error::{LoadError, ProfileError};
pub use metadata::{MAX_METADATA_BYTES, MetadataKey};
pub use method::UploadMethod;
pub use multipart::{MultipartDecision, MultipartIntent};
pub use name::MAX_NAME_BYTES;
pub use namespace::{KeyOwnership, Namespace};
pub use profile::{DEFAULT_EXPIRY_SECS, DEFAULT_MAX_EXPIRY_SECS, Lifetime, Profile};
pub use redirect::{FormRedirect, MAX_REDIRECT_BYTES, SuccessStatus};
pub use registry::{DEFAULT_PROFILE, ProfileRegistry, RegistryOptions};
pub use scan::{ScanRule, ScanVerdict};
pub use size::{ByteSize, SizeRange};
pub use template::{KeyTemplate, Placeholder, RenderInput};
pub use upload::{UploadDecision, UploadIntent};
pub use verification::{
    Declared, Mismatch, OnMismatch, Stored, VERIFY_HEAD_BYTES, Verdict, VerificationRules,
    verify_object,
};
