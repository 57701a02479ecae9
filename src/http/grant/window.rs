//! The signing instant and window: the clock, the broker's credentials, and the grant's
//! lifetime cut once by [`grant_lifetime`].

use crate::domain::{Credentials, Expiry};
use crate::grants::grant_lifetime;
use crate::http::{ApiError, AppState, Code};
use crate::policy::Lifetime;
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// The signing instant: now, at whole seconds like `X-Amz-Date`, so a grant's `expires_at`
/// minus its `server_time` is exactly its lifetime.
pub(crate) fn signing_now() -> DateTime<Utc> {
    use chrono::SubsecRound;
    Utc::now().trunc_subsecs(0)
}

/// Usable credentials and the grant's real lifetime: `asked` (the request and the profile's
/// limits) cut to 7 days, the credentials' expiry minus the safety margin and, for part URLs,
/// the end of the multipart ticket (`ticket_end`).
pub(crate) async fn signing_window(
    state: &AppState,
    asked: Lifetime,
    ticket_end: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(Arc<Credentials>, Expiry), ApiError> {
    let credentials = state.credentials.current(now).await?;
    let credentials_end = credentials
        .expires_at
        .map(|end| end - state.credentials.margin());
    let expiry = grant_lifetime(asked, credentials_end, ticket_end, now).map_err(|_| {
        ApiError::new(
            Code::CredentialsUnavailable,
            "the broker's credentials expire too soon to sign",
        )
    })?;
    Ok((credentials, expiry))
}
