//! The authenticated caller of a route that makes a grant. With a shared limits store, the
//! request's rate and revocation check is not made before the handler runs, as [`Caller`]'s
//! is, but left to the grant ([`GrantAdmission::grant`]), which makes it together with the
//! profile's rate and the quotas in one round trip to the store. A request that ends before
//! its grant (a refused intent) is still counted against its class's rate, after the answer.
//! With the memory store, which costs no round trip, the request is admitted at once.
//!
//! [`Caller`]: super::Caller

use super::ApiError;
use super::caller::{
    AuthenticatedNow, admission, admit, authenticated, authenticated_now, keep_rate,
};
use crate::domain::{NamespaceSegment, Principal};
use crate::limits::{Limiter, Opening, PendingAdmission, RouteClass};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::{Either, LocalBoxFuture, Ready, ready};
use std::cell::Cell;
use std::sync::Arc;

/// An authenticated principal whose request leads to a grant, and its admission.
pub struct Grantee(pub Principal, pub GrantAdmission);

/// A request's admission as a grant sees it: made already, or left to the grant.
#[derive(Default)]
pub struct GrantAdmission(Cell<Option<Deferred>>);

/// An admission left to the grant.
struct Deferred {
    pending: PendingAdmission,
    /// Where the class rate's state goes for the `RateLimit` headers.
    req: HttpRequest,
    limits: Arc<Limiter>,
    segment: NamespaceSegment,
}

impl FromRequest for Grantee {
    type Error = ApiError;
    type Future =
        Either<Ready<Result<Self, ApiError>>, LocalBoxFuture<'static, Result<Self, ApiError>>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        // At once when nothing has to be waited for: an API key or a token accepted before,
        // and an admission made in memory or left to the grant (the common case). No boxed
        // future then, which actix would move along with the request's other extractors.
        let (state, principal) = match authenticated_now(req) {
            AuthenticatedNow::Answered(Ok(authenticated)) => authenticated,
            AuthenticatedNow::Answered(Err(refusal)) => return Either::Left(ready(Err(refusal))),
            AuthenticatedNow::Refused(state, ip, refusal) => {
                let limits = Arc::clone(&state.limits);
                return Either::Right(Box::pin(async move {
                    limits.auth_failed(ip).await;
                    Err(refusal)
                }));
            }
            AuthenticatedNow::Verify => {
                let req = req.clone();
                return Either::Right(Box::pin(async move {
                    let (state, principal) = authenticated(&req).await?;
                    admitted(&req, &state.limits, principal).await
                }));
            }
        };
        match admitted_now(req, &state.limits, principal) {
            Ok(grantee) => Either::Left(ready(grantee)),
            // Authenticated already: only the admission waits.
            Err(principal) => {
                let (req, limits) = (req.clone(), Arc::clone(&state.limits));
                Either::Right(Box::pin(
                    async move { admitted(&req, &limits, principal).await },
                ))
            }
        }
    }
}

/// The grantee of an authenticated request when its admission needs no round trip: left to
/// the grant (a shared store), or made now in memory. `Err` gives the principal back when the
/// admission must wait for the store.
fn admitted_now(
    req: &HttpRequest,
    limits: &Arc<Limiter>,
    principal: Principal,
) -> Result<Result<Grantee, ApiError>, Principal> {
    let class = RouteClass::of_path(req.path());
    let pending = match limits.defer(&principal.segment, principal.issued_at, class) {
        Ok(pending) => pending,
        Err(refusal) => return Ok(Err(refusal.into())),
    };
    if let Some(pending) = pending {
        return Ok(Ok(deferred(req, limits, principal, pending)));
    }
    let Some(admitted) = limits.admit_now(&principal.segment, principal.issued_at, class) else {
        return Err(principal);
    };
    Ok(admitted.map_err(ApiError::from).map(|admitted| {
        keep_rate(req, class, admitted);
        Grantee(principal, GrantAdmission::made())
    }))
}

/// The grantee of an authenticated request: [`admitted_now`], else admitted now with the
/// store's round trip.
async fn admitted(
    req: &HttpRequest,
    limits: &Arc<Limiter>,
    principal: Principal,
) -> Result<Grantee, ApiError> {
    match admitted_now(req, limits, principal) {
        Ok(grantee) => grantee,
        Err(principal) => {
            admit(req, limits, &principal, RouteClass::of_path(req.path())).await?;
            Ok(Grantee(principal, GrantAdmission::made()))
        }
    }
}

/// A grantee whose admission is left to its grant.
fn deferred(
    req: &HttpRequest,
    limits: &Arc<Limiter>,
    principal: Principal,
    pending: PendingAdmission,
) -> Grantee {
    let deferred = Deferred {
        pending,
        limits: Arc::clone(limits),
        segment: principal.segment.clone(),
        req: req.clone(),
    };
    Grantee(principal, GrantAdmission(Cell::new(Some(deferred))))
}

impl GrantAdmission {
    /// An admission already made (a request taken by [`super::Caller`], or none at all).
    pub fn made() -> Self {
        Self::default()
    }

    /// The grant of `who` under `profile` declaring `bytes` ([`Limiter::grant`]), with the
    /// request's admission if it was left to it.
    pub async fn grant(
        &self,
        limits: &Limiter,
        who: &NamespaceSegment,
        profile: &str,
        bytes: Option<u64>,
    ) -> Result<(), ApiError> {
        self.grant_opening(limits, who, profile, bytes, None).await
    }

    /// [`GrantAdmission::grant`] when it needs no round trip (the memory store, or no limits):
    /// `None`, with nothing counted and the admission kept, when it must wait for the store.
    pub fn grant_now(
        &self,
        limits: &Limiter,
        who: &NamespaceSegment,
        profile: &str,
        bytes: Option<u64>,
    ) -> Option<Result<(), ApiError>> {
        self.grant_opening_now(limits, who, profile, bytes, None)
    }

    /// [`GrantAdmission::grant_opening`] when it needs no round trip: `None`, with nothing
    /// counted and the admission kept, when it must wait for the store. (A request's admission
    /// is left to its grant only with a shared store, which always waits: the rate kept here
    /// is for the day a store answers some admissions at once.)
    fn grant_opening_now(
        &self,
        limits: &Limiter,
        who: &NamespaceSegment,
        profile: &str,
        bytes: Option<u64>,
        opening: Option<Opening<'_>>,
    ) -> Option<Result<(), ApiError>> {
        let deferred = self.0.take();
        let pending = deferred.as_ref().map(|d| d.pending);
        let Some(answer) = limits.grant_now(who, pending, profile, bytes, opening) else {
            self.0.set(deferred);
            return None;
        };
        Some(answer.map_err(ApiError::from).map(|outcome| {
            if let Some(deferred) = deferred {
                keep_rate(&deferred.req, deferred.pending.class, outcome);
            }
        }))
    }

    /// [`GrantAdmission::grant`] of a grant that creates the multipart upload `opening`: the
    /// grant and the open upload are counted together, all or none (one round trip with a
    /// shared store).
    pub async fn grant_opening(
        &self,
        limits: &Limiter,
        who: &NamespaceSegment,
        profile: &str,
        bytes: Option<u64>,
        opening: Option<Opening<'_>>,
    ) -> Result<(), ApiError> {
        if let Some(answer) = self.grant_opening_now(limits, who, profile, bytes, opening) {
            return answer;
        }
        let deferred = self.0.take();
        let pending = deferred.as_ref().map(|d| d.pending);
        // Boxed: only a grant that waits for the store holds the store's state.
        let outcome = Box::pin(limits.grant(who, pending, profile, bytes, opening)).await?;
        if let Some(deferred) = deferred {
            keep_rate(&deferred.req, deferred.pending.class, outcome);
        }
        Ok(())
    }

    /// Makes the admission now, if it was left to the grant: before a call to S3 that comes
    /// ahead of the grant, or on a path that makes none.
    pub async fn make(&self) -> Result<(), ApiError> {
        let Some(deferred) = self.0.take() else {
            return Ok(());
        };
        let Deferred {
            pending,
            req,
            limits,
            segment,
        } = deferred;
        let admitted = admission(&limits, &segment, pending.issued_at, pending.class).await?;
        keep_rate(&req, pending.class, admitted);
        Ok(())
    }
}

impl Drop for GrantAdmission {
    /// A request that ended before its grant still counts against its class's rate.
    fn drop(&mut self) {
        let Some(Deferred {
            pending,
            limits,
            segment,
            ..
        }) = self.0.get_mut().take()
        else {
            return;
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = limits
                    .admit(&segment, pending.issued_at, pending.class)
                    .await;
            });
        }
    }
}
