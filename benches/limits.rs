//! Cost of the memory limiter on the request path: `Limiter::admit` (the GCRA rate of a route
//! class, `governor`'s keyed limiter) for one principal and for 10,000 rotating ones, against
//! the same call with no limit configured; and `Limiter::grant` with daily quotas.
//!
//! Run with `cargo bench --bench limits`; `cargo test --benches` runs each bench once. For
//! instruction counts (robust on a busy machine):
//! `scripts/instructions-per-op limits admit_rate`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use s3_broker::domain::NamespaceSegment;
use s3_broker::limits::{Limiter, LimitsConfig, RouteClass};
use s3_broker::telemetry::LimitCounters;

/// A limiter with `[limits]` as `text`.
fn limiter(text: &str) -> Limiter {
    let settings = toml::from_str::<LimitsConfig>(text)
        .expect("bench [limits]")
        .validate()
        .expect("valid [limits]");
    Limiter::new(&settings, None, LimitCounters::detached()).expect("a memory limiter")
}

/// So many requests per second that the bench never runs out.
const GENEROUS: &str = "[rates]\ngrants = { requests = 4000000000, window_secs = 1 }\n";

/// Runs a case `iters` times on the runtime; the time it took.
type Run = Box<dyn Fn(&tokio::runtime::Runtime, u64) -> Duration>;

struct Case {
    name: &'static str,
    run: Run,
}

fn admit(name: &'static str, limiter: Limiter, principals: usize) -> Case {
    let segments: Vec<NamespaceSegment> = (0..principals)
        .map(|i| NamespaceSegment::for_subject(None, &format!("user-{i}")))
        .collect();
    Case {
        name,
        run: Box::new(move |rt, iters| {
            rt.block_on(async {
                let start = Instant::now();
                for i in 0..iters {
                    let who = &segments[i as usize % segments.len()];
                    let outcome = limiter.admit(black_box(who), Some(1), RouteClass::Grants);
                    black_box(outcome.await.expect("admitted"));
                }
                start.elapsed()
            })
        }),
    }
}

fn cases() -> Vec<Case> {
    let quotas = limiter(
        "[quotas]\nbytes_per_day = 18000000000000000000\ngrants_per_day = 18000000000000000000\n",
    );
    let alice = NamespaceSegment::for_subject(None, "alice");
    vec![
        admit("admit_unlimited", limiter(""), 1),
        admit("admit_rate", limiter(GENEROUS), 1),
        admit("admit_rate_10k_principals", limiter(GENEROUS), 10_000),
        Case {
            name: "grant_quotas",
            run: Box::new(move |rt, iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        let outcome =
                            quotas.grant(black_box(&alice), None, "default", Some(1024), None);
                        outcome.await.expect("within quota");
                    }
                    start.elapsed()
                })
            }),
        },
    ]
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let cases = cases();
    if let (Ok(name), Ok(iters)) = (std::env::var("BENCH_CASE"), std::env::var("BENCH_ITERS")) {
        let iters: u64 = iters.parse().expect("BENCH_ITERS is a number");
        let case = cases
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no bench case {name:?}"));
        (case.run)(&rt, iters);
        return;
    }
    let mut criterion = Criterion::default().configure_from_args();
    for case in &cases {
        criterion.bench_function(&format!("limits_{}", case.name), |b| {
            b.iter_custom(|iters| (case.run)(&rt, iters));
        });
    }
    criterion.final_summary();
}
