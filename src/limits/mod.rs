//! Abuse limits: GCRA rates per principal and route class (and per client IP for failed
//! authentications), quotas per principal, per-profile overrides, and the store that holds
//! their state: this process (`memory`) or a Redis/Valkey server shared by every instance.

mod class;
mod limiter;
mod memory;
mod quota;
mod rate;
mod redis_batch;
mod redis_reply;
mod redis_store;
mod settings;

pub use class::RouteClass;
pub use limiter::{Limiter, Opening, PendingAdmission, Refusal, StoreState};
pub use quota::{QuotaExceeded, QuotaKind, Quotas};
pub use rate::{Rate, RateOutcome};
pub use redis_store::StoreError;
pub use settings::{FailureMode, LimitSettings, LimitsConfig, ProfileLimits, StoreSetting};

/// Where a quota counts: over all profiles, or under one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope<'a> {
    /// `[limits.quotas]`.
    Global,
    /// `[limits.profiles.NAME]`.
    Profile(&'a str),
}
