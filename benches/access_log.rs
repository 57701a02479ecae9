//! What the access log costs the thread that serves the request.
//!
//! Run with `cargo bench --bench access_log 2>/dev/null` (the "before" bench writes its lines
//! to stderr); `cargo test --benches` runs each bench once. Each bench drives `GET /healthz`
//! through an in-process actix-web service (`actix_web::test::init_service`, no socket) on
//! one thread, so the figure is the request thread's time per request:
//!
//! - `none`: no access log (the baseline);
//! - `actix_logger`: the access log before the non-blocking log queue, actix-web's `Logger` through the `log`
//!   crate and `tracing-subscriber`'s JSON format, written synchronously to stderr;
//! - `queue`: s3-broker's `AccessLog` middleware: fields copied into a record and handed to
//!   the log queue, formatted and written by the writer thread (which runs on another core
//!   and is not counted here; it keeps up, so no line is dropped).
//!
//! The cost of a log is the difference to `none`. Results are in `doc/benchmarks.md`.

use actix_web::middleware::Logger;
use actix_web::{App, HttpMessage, HttpResponse, test, web};
use criterion::Criterion;
use s3_broker::http::AccessLog;
use s3_broker::telemetry::{LogFormat, RequestId};
use std::time::{Duration, Instant};

/// The access log format of s3-broker before the log queue.
const ACTIX_FORMAT: &str = "%a \"%{request}xi\" %s %b %Dms id=%{request_id}xi";

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// Times `iters` requests through `app` on one thread.
macro_rules! timed {
    ($app:expr) => {
        |iters: u64| {
            actix_web::rt::System::new().block_on(async {
                let app = test::init_service($app).await;
                let started = Instant::now();
                for _ in 0..iters {
                    let req = test::TestRequest::get()
                        .uri("/healthz")
                        .peer_addr("127.0.0.1:40000".parse().unwrap())
                        .to_request();
                    req.extensions_mut().insert(RequestId::generate());
                    let res = test::call_service(&app, req).await;
                    assert!(res.status().is_success());
                    // The body is consumed, as the server does, so the log record is written.
                    let body = test::read_body(res).await;
                    std::hint::black_box(body);
                }
                started.elapsed()
            })
        }
    };
}

fn benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("access_log");
    group.measurement_time(Duration::from_secs(5));

    group.bench_function("none", |b| {
        b.iter_custom(timed!(App::new().route("/healthz", web::get().to(healthz))));
    });

    // After: the log queue (installed once, for the rest of the process;
    // first, as it installs the `log` bridge the Logger bench needs too) and AccessLog.
    let guard = s3_broker::telemetry::init(LogFormat::Json, 1 << 16);
    group.bench_function("queue", |b| {
        b.iter_custom(timed!(
            App::new()
                .wrap(AccessLog)
                .route("/healthz", web::get().to(healthz))
        ));
    });
    // Before: actix-web's Logger, `log` → tracing-log → tracing-subscriber JSON → stderr.
    let before = tracing_subscriber::fmt()
        .json()
        .with_current_span(false)
        .with_writer(std::io::stderr)
        .finish();
    tracing::subscriber::with_default(before, || {
        group.bench_function("actix_logger", |b| {
            b.iter_custom(timed!(
                App::new()
                    .wrap(
                        Logger::new(ACTIX_FORMAT)
                            .custom_request_replace("request", |req| {
                                format!("{} {}", req.method(), req.path())
                            })
                            .custom_request_replace("request_id", |req| {
                                req.extensions()
                                    .get::<RequestId>()
                                    .map_or_else(String::new, |id| id.as_str().to_owned())
                            })
                    )
                    .route("/healthz", web::get().to(healthz))
            ));
        });
    });

    group.finish();
    drop(guard);
    // Lines the writer thread could not keep up with (they cost the request thread even less).
    for line in s3_broker::telemetry::Metrics::new().render().lines() {
        if line.starts_with("s3_broker_log_lines_dropped_total") {
            println!("{line}");
        }
    }
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    benches(&mut criterion);
    criterion.final_summary();
}
