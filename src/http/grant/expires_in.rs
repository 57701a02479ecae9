//! The client's wished lifetime of a grant (`expires_in`).

use crate::domain::Expiry;
use crate::http::{ApiError, Code};

/// The client's wished lifetime (`expires_in`), validated: 1 s to 7 days.
pub(crate) fn requested_expiry(expires_in: Option<u64>) -> Result<Option<Expiry>, ApiError> {
    expires_in
        .map(Expiry::from_secs)
        .transpose()
        .map_err(|e| ApiError::new(Code::InvalidExpiry, e.to_string()))
}
