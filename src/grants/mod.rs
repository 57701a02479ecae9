//! Decision → signable request: the pure step between [`crate::policy`] and
//! [`crate::sigv4`].
//!
//! A handler reads in a straight line: request body (the policy's intent) → decide (policy,
//! with the backend's capabilities) → signing window ([`grant_lifetime`], the one place a
//! grant's lifetime is cut) → build (here) → sign (sigv4) → render. Each file turns one kind
//! of decision into the request the signer (or the S3 adapter) takes, binding every limit the
//! decision holds: signed headers for a presigned URL, exact or prefix conditions for a POST
//! policy. Nothing here does I/O or reads a clock; time, credentials and lifetimes are
//! arguments.

mod attribution;
mod bound;
mod error;
mod get;
mod kind;
mod lifetime;
mod multipart_create;
mod post;
mod post_form;
mod put;
#[cfg(test)]
mod test_support;

pub use attribution::{attribute_url, attribution_field, form_grant_id, operation_grant_id};
pub use bound::{bound_fields, encryption_and_metadata, sign_decided};
pub use error::{BuildError, LifetimeError};
pub use get::get_request;
pub use kind::GrantKind;
pub use lifetime::grant_lifetime;
pub use multipart_create::{NewEncryption, NewUpload, create_multipart_headers};
pub use post::post_request;
pub use post_form::form_policy_request;
pub use put::put_request;
