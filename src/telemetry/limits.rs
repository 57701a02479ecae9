//! The limits' metrics: refusals by route class and by quota, and the shared store's health.
//! No label names a caller.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClassLabels {
    class: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QuotaLabels {
    quota: &'static str,
}

/// Counters of the limiter. Cloning shares them.
#[derive(Clone, Debug, Default)]
pub struct LimitCounters {
    rate_limited: Family<ClassLabels, Counter>,
    quota_exceeded: Family<QuotaLabels, Counter>,
    store_errors: Counter,
    store_fallbacks: Counter,
    store_up: Gauge,
}

impl LimitCounters {
    /// Counters registered nowhere.
    pub fn detached() -> Self {
        Self::default()
    }

    /// Registers every series in `registry`.
    pub(super) fn register(&self, registry: &mut Registry) {
        registry.register(
            "rate_limited",
            "Requests refused with 429 rate_limited, by route class (grants, listings, \
             multipart, uppy, auth_failures)",
            self.rate_limited.clone(),
        );
        registry.register(
            "quota_exceeded",
            "Requests refused with 429 quota_exceeded, by quota",
            self.quota_exceeded.clone(),
        );
        registry.register(
            "limits_store_errors",
            "Calls to the shared limits store that failed or timed out",
            self.store_errors.clone(),
        );
        registry.register(
            "limits_store_fallbacks",
            "Limit decisions made per instance because the shared store was unavailable \
             (on_store_failure = fail_open)",
            self.store_fallbacks.clone(),
        );
        registry.register(
            "limits_store_up",
            "1 while the limits store answers (always 1 for the memory store), 0 while it does not",
            self.store_up.clone(),
        );
    }

    /// One 429 `rate_limited` of `class`.
    pub fn rate_limited(&self, class: &'static str) {
        self.rate_limited
            .get_or_create(&ClassLabels { class })
            .inc();
    }

    /// One 429 `quota_exceeded` of `quota`.
    pub fn quota_exceeded(&self, quota: &'static str) {
        self.quota_exceeded
            .get_or_create(&QuotaLabels { quota })
            .inc();
    }

    /// One failed store call.
    pub fn store_error(&self) {
        self.store_errors.inc();
    }

    /// One decision made per instance.
    pub fn fallback(&self) {
        self.store_fallbacks.inc();
    }

    /// Whether the store answers.
    pub fn set_store_up(&self, up: bool) {
        self.store_up.set(i64::from(up));
    }
}
