//! What every grant handler shares, one concern per file: the signing instant and window
//! (`window.rs`), the client's `expires_in` (`expires_in.rs`), and the uncacheable JSON
//! response (`response.rs`). Turning a decision into a signable request is
//! [`crate::grants`]' job.

mod expires_in;
mod response;
mod window;

pub(super) use expires_in::requested_expiry;
pub(super) use response::{
    Granted, form_fields_json, grant_response, granted, large_grant_response,
};
pub(super) use window::{signing_now, signing_window};
