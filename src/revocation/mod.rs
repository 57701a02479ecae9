//! Revocation without a database: "not before" times, one for everything and one per
//! principal (by namespace segment). A credential or sealed record issued before the time that
//! applies to it is refused with 401 `revoked`; one without an issue time is refused as soon
//! as any time applies to it.
//!
//! The times live in the shared limits store (`s3-broker revoke` writes them there) or, without
//! one, in a JSON file polled like a JWKS ([`file`]).

mod file;
mod list;

pub use file::{RevocationConfig, RevocationFile, RevocationSettings, write_file};
pub use list::{Revocations, is_revoked};
