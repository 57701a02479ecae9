//! Prometheus metrics, served by `GET /metrics` in the OpenMetrics text format.
//!
//! Labels are bounded by construction: a route is the matched route *pattern* (never a path,
//! so no key or upload id), a problem is its stable code, an S3 call is its operation name.
//! Nothing identifies a caller. See <https://prometheus.io/docs/practices/naming/>.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::AtomicU64;
use std::sync::{PoisonError, RwLock};
use std::time::Duration;

/// Upper bounds (seconds) of the latency buckets: grants take well under a millisecond to
/// sign, S3 calls tens of milliseconds, and a large CompleteMultipartUpload up to minutes.
const LATENCY_BUCKETS: [f64; 17] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0, 600.0,
];

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// The HTTP method as a label: the ones the API serves, everything else is `other`.
pub fn method_label(method: &actix_web::http::Method) -> &'static str {
    use actix_web::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProblemLabels {
    code: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct S3CallLabels {
    operation: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

type LatencyFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// The broker's calls to S3 (aws-sdk-s3): count by operation and outcome, and latency.
/// Cloning shares the counters.
#[derive(Clone, Debug)]
pub struct S3Calls {
    calls: Family<S3CallLabels, Counter>,
    duration: LatencyFamily<OperationLabels>,
}

impl S3Calls {
    /// Counters registered nowhere (a client built without a [`Metrics`]).
    pub fn detached() -> Self {
        Self {
            calls: Family::default(),
            duration: Family::new_with_constructor(latency_histogram),
        }
    }

    /// Records one call: `operation` as S3 names it (`ListParts`), `outcome` `ok` or the
    /// error kind, and how long it took (retries included).
    pub fn record(&self, operation: &'static str, outcome: &'static str, elapsed: Duration) {
        self.calls
            .get_or_create(&S3CallLabels { operation, outcome })
            .inc();
        self.duration
            .get_or_create(&OperationLabels { operation })
            .observe(elapsed.as_secs_f64());
    }
}

/// Every metric of one service instance, and the registry that renders them.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_duration: LatencyFamily<RouteLabels>,
    problems: Family<ProblemLabels, Counter>,
    grants: Family<OperationLabels, Counter>,
    s3: S3Calls,
    credentials_expiry: ExpiryFamily,
    limits: super::LimitCounters,
    /// Handles on the series of each route, so that counting a request allocates nothing and
    /// hashes one string (the families stay the source of truth; the handles share their
    /// counters).
    routes: RwLock<HashMap<String, RouteSeries, BuildHasherDefault<PatternHasher>>>,
    /// Handles on the grant counter of each operation counted so far (a handful), found by
    /// comparing names: no label set hashed and looked up in the family per grant.
    grant_counters: RwLock<Vec<(&'static str, Counter)>>,
}

/// FNV-1a (<http://www.isthe.com/chongo/tech/comp/fnv/>) for the route map: its keys are the
/// broker's own route patterns, few and short, never chosen by a caller, so the map needs no
/// defence against chosen collisions, and SipHash cost more than the rest of the lookup.
struct PatternHasher(u64);

impl Default for PatternHasher {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for PatternHasher {
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0 ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The series of one route pattern: its latency histogram and its request counters by method
/// and status (a handful per route).
#[derive(Debug, Clone)]
struct RouteSeries {
    duration: Histogram,
    requests: Vec<(&'static str, u16, Counter)>,
}

/// A gauge that can be absent: a family whose only series has no labels.
type ExpiryFamily = Family<Vec<(String, String)>, Gauge<f64, AtomicU64>>;

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry with every metric, prefixed `s3_broker_`.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("s3_broker");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, matched route pattern and status",
            requests.clone(),
        );
        let request_duration: LatencyFamily<RouteLabels> =
            Family::new_with_constructor(latency_histogram);
        registry.register_with_unit(
            "http_request_duration",
            "Time from request to response head, by matched route pattern",
            Unit::Seconds,
            request_duration.clone(),
        );
        let problems = Family::<ProblemLabels, Counter>::default();
        registry.register(
            "problems",
            "Error responses by stable problem code (401 invalid_token, 403 key_not_owned...)",
            problems.clone(),
        );
        let grants = Family::<OperationLabels, Counter>::default();
        registry.register(
            "grants",
            "Signed requests handed to clients, by S3 operation (PostObject: a POST policy; \
             CompleteMultipartUpload: a broker completion grant; the others presigned URLs); \
             a batch counts each part",
            grants.clone(),
        );
        let s3 = S3Calls::detached();
        registry.register(
            "s3_requests",
            "Calls to S3 by operation and outcome (ok, unavailable, refused...)",
            s3.calls.clone(),
        );
        registry.register_with_unit(
            "s3_request_duration",
            "Duration of calls to S3 by operation, retries included",
            Unit::Seconds,
            s3.duration.clone(),
        );
        let credentials_expiry = ExpiryFamily::default();
        registry.register_with_unit(
            "credentials_expiry_timestamp",
            "When the broker's current AWS credentials expire (Unix time); absent when they \
             do not expire or are not known yet",
            Unit::Seconds,
            credentials_expiry.clone(),
        );
        registry.register(
            "log_lines_dropped",
            "Log lines lost: reason queue_full (stderr slower than the service: the bounded \
             queue was full) or write_failed (writing stderr failed: closed pipe, full disk)",
            super::log_queue::dropped_lines_family(),
        );
        let limits = super::LimitCounters::default();
        limits.register(&mut registry);
        registry.register(
            "build",
            "The running version",
            Info::new(BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
            }),
        );
        Self {
            registry,
            requests,
            request_duration,
            problems,
            grants,
            s3,
            credentials_expiry,
            limits,
            routes: RwLock::default(),
            grant_counters: RwLock::default(),
        }
    }

    /// Records one answered request. `route` is the matched pattern, or `None` when no route
    /// matched (recorded as `unmatched`, so unknown paths cannot grow the label set).
    pub fn record_request(
        &self,
        method: &'static str,
        route: Option<&str>,
        status: u16,
        elapsed: Duration,
    ) {
        let route = route.unwrap_or("unmatched");
        let seconds = elapsed.as_secs_f64();
        {
            let routes = self.routes.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(series) = routes.get(route)
                && let Some((_, _, counter)) = series
                    .requests
                    .iter()
                    .find(|(m, s, _)| *m == method && *s == status)
            {
                series.duration.observe(seconds);
                counter.inc();
                return;
            }
        }
        // First request of this route, method and status: create the series in the families
        // and keep handles on them.
        let mut routes = self.routes.write().unwrap_or_else(PoisonError::into_inner);
        let series = routes
            .entry(route.to_owned())
            .or_insert_with(|| RouteSeries {
                duration: self
                    .request_duration
                    .get_or_create(&RouteLabels {
                        route: route.to_owned(),
                    })
                    .clone(),
                requests: Vec::new(),
            });
        let counter = match series
            .requests
            .iter()
            .find(|(m, s, _)| *m == method && *s == status)
        {
            Some((_, _, counter)) => counter.clone(),
            None => {
                let counter = self
                    .requests
                    .get_or_create(&RequestLabels {
                        method,
                        route: route.to_owned(),
                        status,
                    })
                    .clone();
                series.requests.push((method, status, counter.clone()));
                counter
            }
        };
        series.duration.observe(seconds);
        counter.inc();
    }

    /// Records an error response by its stable problem code.
    pub fn record_problem(&self, code: &'static str) {
        self.problems.get_or_create(&ProblemLabels { code }).inc();
    }

    /// Records `count` signed requests of `operation` handed to a client.
    pub fn record_grants(&self, operation: &'static str, count: usize) {
        let count = u64::try_from(count).unwrap_or(u64::MAX);
        {
            let counters = self
                .grant_counters
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some((_, counter)) = counters.iter().find(|(name, _)| *name == operation) {
                counter.inc_by(count);
                return;
            }
        }
        // First grant of this operation: create the series in the family, keep a handle.
        let mut counters = self
            .grant_counters
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let counter = match counters.iter().find(|(name, _)| *name == operation) {
            Some((_, counter)) => counter.clone(),
            None => {
                let counter = self
                    .grants
                    .get_or_create(&OperationLabels { operation })
                    .clone();
                counters.push((operation, counter.clone()));
                counter
            }
        };
        counter.inc_by(count);
    }

    /// The S3 call counters, to hand to the S3 client.
    pub fn s3_calls(&self) -> S3Calls {
        self.s3.clone()
    }

    /// The limiter's counters, to hand to the limiter.
    pub fn limits(&self) -> super::LimitCounters {
        self.limits.clone()
    }

    /// Sets when the current credentials expire. `None` (they do not) removes the series, so
    /// an alert on `expiry - time() < X` cannot fire for static keys.
    pub fn set_credentials_expiry(&self, expires_at: Option<chrono::DateTime<chrono::Utc>>) {
        match expires_at {
            Some(t) => {
                self.credentials_expiry
                    .get_or_create(&Vec::new())
                    .set(t.timestamp() as f64);
            }
            None => self.credentials_expiry.clear(),
        }
    }

    /// Every metric in the OpenMetrics text format.
    pub fn render(&self) -> String {
        let mut text = String::with_capacity(8 * 1024);
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

/// The content type of [`Metrics::render`]'s output.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_labels_and_counts() {
        let metrics = Metrics::new();
        metrics.record_request("POST", Some("/v1/uploads"), 200, Duration::from_micros(300));
        metrics.record_request("POST", Some("/v1/uploads"), 200, Duration::from_millis(2));
        metrics.record_request("GET", None, 404, Duration::from_micros(50));
        metrics.record_problem("not_found");
        metrics.record_grants("UploadPart", 3);
        metrics.record_grants("PutObject", 1);
        metrics.record_grants("UploadPart", 2);
        metrics
            .s3_calls()
            .record("ListParts", "unavailable", Duration::from_secs(3));
        let text = metrics.render();
        assert!(text.contains(
            "s3_broker_http_requests_total{method=\"POST\",route=\"/v1/uploads\",status=\"200\"} 2"
        ));
        assert!(text.contains(
            "s3_broker_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} 1"
        ));
        assert!(text.contains(
            "s3_broker_http_request_duration_seconds_bucket{le=\"0.0005\",route=\"/v1/uploads\"} 1"
        ));
        assert!(text.contains("s3_broker_problems_total{code=\"not_found\"} 1"));
        assert!(text.contains("s3_broker_grants_total{operation=\"UploadPart\"} 5"));
        assert!(text.contains("s3_broker_grants_total{operation=\"PutObject\"} 1"));
        assert!(text.contains(
            "s3_broker_s3_requests_total{operation=\"ListParts\",outcome=\"unavailable\"} 1"
        ));
        assert!(text.contains("s3_broker_log_lines_dropped_total{reason=\"queue_full\"} "));
        assert!(text.contains("s3_broker_log_lines_dropped_total{reason=\"write_failed\"} "));
        assert!(text.contains("# TYPE s3_broker_build info"));
        assert!(text.contains("s3_broker_build_info{version=\""));
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn credentials_expiry_is_unix_seconds_or_absent() {
        let metrics = Metrics::new();
        let series = "\ns3_broker_credentials_expiry_timestamp_seconds";
        assert!(
            !metrics.render().contains(series),
            "unknown before the first read"
        );
        let at = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        metrics.set_credentials_expiry(Some(at));
        let text = metrics.render();
        assert!(
            text.contains("s3_broker_credentials_expiry_timestamp_seconds{} 1800000000.0"),
            "{text}"
        );
        metrics.set_credentials_expiry(None);
        assert!(
            !metrics.render().contains(series),
            "static keys do not expire"
        );
    }
}
