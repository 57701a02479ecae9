//! What every grant handler shares, one concern per file: the signing instant and window
//! (`window.rs`), the client's `expires_in` (`expires_in.rs`), the uncacheable JSON
//! response (`response.rs`, and `json_out.rs` writing one straight into a buffer) and its streamed form for batches of URLs (`streamed.rs`). Turning a decision into a signable request is
//! [`crate::grants`]' job.

mod expires_in;
mod json_out;
mod response;
mod streamed;
mod window;

pub(super) use expires_in::requested_expiry;
pub(super) use json_out::JsonObject;
pub(super) use response::{
    Granted, form_fields_json, grant_response, granted, json_grant_response,
};
#[cfg(test)]
pub(super) use streamed::collect;
pub(super) use streamed::{JsonItems, streamed_grant_response};
pub(super) use window::{signing_now, signing_window, signing_window_now};
