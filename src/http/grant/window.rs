//! The signing instant and window: the clock, the broker's credentials, and the grant's
//! lifetime cut once by [`grant_lifetime`].

use crate::domain::{Credentials, Expiry};
use crate::grants::grant_lifetime;
use crate::http::{ApiError, AppState, Code};
use crate::policy::Lifetime;
use crate::s3::CredentialsUnavailable;
use chrono::{DateTime, Utc};
use std::cell::Cell;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{SystemTime, UNIX_EPOCH};

/// The signing instant: now, at whole seconds like `X-Amz-Date`, so a grant's `expires_at`
/// minus its `server_time` is exactly its lifetime.
///
/// The clock's whole seconds since 1970 name the instant, made once a second per thread
/// ([`SIGNING_SECOND`]) rather than once a grant with chrono's day arithmetic and rounding.
pub(crate) fn signing_now() -> DateTime<Utc> {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|since| second_of(since.as_secs()))
        .unwrap_or_else(|| {
            use chrono::SubsecRound;
            Utc::now().trunc_subsecs(0)
        })
}

/// `secs` since 1970 as a time, from [`SIGNING_SECOND`] when it holds that second (`None`
/// past chrono's range).
fn second_of(secs: u64) -> Option<DateTime<Utc>> {
    let secs = i64::try_from(secs).ok()?;
    SIGNING_SECOND
        .try_with(|last| {
            let (cached, at) = last.get();
            if cached == secs {
                return Some(at);
            }
            let at = DateTime::from_timestamp(secs, 0)?;
            last.set((secs, at));
            Some(at)
        })
        .unwrap_or_else(|_| DateTime::from_timestamp(secs, 0))
}

thread_local! {
    /// The last second [`signing_now`] answered on this thread, and its time (-1, never a
    /// second since 1970: none yet).
    static SIGNING_SECOND: Cell<(i64, DateTime<Utc>)> =
        const { Cell::new((-1, DateTime::UNIX_EPOCH)) };
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
    let credentials = state.credentials.current(now).await;
    window_of(state, credentials, asked, ticket_end, now)
}

/// [`signing_window`] when it needs no wait (cached credentials, or a remembered failure):
/// `None` when the credentials are being fetched. Asking again later is what
/// [`signing_window`] does then: a fetch this started goes on for the next caller.
pub(crate) fn signing_window_now(
    state: &AppState,
    asked: Lifetime,
    ticket_end: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<Result<(Arc<Credentials>, Expiry), ApiError>> {
    // Polled where it is made: `now_or_never` would move the future (about 200 bytes).
    let current = pin!(state.credentials.current(now));
    let Poll::Ready(credentials) = current.poll(&mut Context::from_waker(Waker::noop())) else {
        return None;
    };
    Some(window_of(state, credentials, asked, ticket_end, now))
}

/// The window of `credentials` (as the credential source answered).
fn window_of(
    state: &AppState,
    credentials: Result<Arc<Credentials>, CredentialsUnavailable>,
    asked: Lifetime,
    ticket_end: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(Arc<Credentials>, Expiry), ApiError> {
    let credentials = credentials?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{SubsecRound, Timelike};

    #[test]
    fn the_signing_instant_is_the_clock_in_whole_seconds() {
        for _ in 0..3 {
            let before = Utc::now().trunc_subsecs(0);
            let now = signing_now();
            let after = Utc::now().trunc_subsecs(0);
            assert_eq!(now.nanosecond(), 0);
            assert!(before <= now && now <= after, "{before} {now} {after}");
        }
        for secs in [0, 1, 1_777_636_800, 1_777_636_800, 1_777_636_801] {
            assert_eq!(
                second_of(secs),
                DateTime::from_timestamp(i64::try_from(secs).unwrap(), 0)
            );
        }
        assert_eq!(second_of(u64::MAX), None);
    }
}
