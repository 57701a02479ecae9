//! Cost of the request path around a handler: `GET /healthz` through the broker's middleware
//! against a hello-world actix-web JSON handler, both in-process (`actix_web::test`, no
//! socket), so the difference is what the middleware adds per request.
//!
//! - `hello_world`: `App::new().route("/healthz", ...)` answering `{"status":"ok"}`.
//! - `healthz_observe`: the broker's route table behind `Observe` alone (request id and
//!   its log scope, metrics), the state built from a test configuration.
//! - `healthz_full_app`: `s3_broker::app::app`, every layer (CORS, problem+json, path
//!   normalisation, access log, `Observe`).
//! - `upload_hs256_full_app`, `upload_api_key_full_app`: `POST /v1/uploads` through the whole
//!   app with the load test's body (`{"filename":"load.txt","content_type":"text/plain",
//!   "size":1024}`), authenticated by an HS256 token (valid for a day, reused) or an API key:
//!   the grant path of `scripts/loadtest-compare` without the socket.
//! - `upload_hs256_limited_full_app`: the HS256 grant with the `hs256redis` target's limits
//!   (a rate of grants and daily quotas) in the memory store: what the limits cost on the
//!   request path besides the store's round trip, `RateLimit` headers included.
//!
//! Run with `cargo bench --bench middleware` (stderr to `/dev/null`: the full app writes its
//! access log there). For instruction counts, run one case N times without criterion:
//!
//! ```sh
//! BENCH_CASE=healthz_observe BENCH_ITERS=10000 valgrind --tool=callgrind \
//!     target/release/deps/middleware-<hash> 2>/dev/null
//! ```

use std::hint::black_box;
use std::rc::Rc;
use std::time::{Duration, Instant};

use actix_web::dev::Service;
use actix_web::test::{TestRequest, init_service};
use actix_web::{App, HttpResponse, web};
use criterion::Criterion;
use s3_broker::app::{app, build_state};
use s3_broker::config::ConfigBuilder;
use s3_broker::http::{Observe, configure};

/// The allocator of the `s3-broker` binary (src/main.rs), so the counts are the server's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

type Call = Rc<dyn Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>>;

/// Sends `GET /healthz` through a service and checks the answer (a macro: the request type
/// of `init_service` is `actix_http::Request`, which this crate does not name).
macro_rules! caller {
    ($service:expr) => {
        caller!($service, || TestRequest::get().uri("/healthz"))
    };
    ($service:expr, $request:expr) => {{
        let service = Rc::new($service);
        let request = $request;
        Rc::new(move || {
            let service = Rc::clone(&service);
            let mut request = request().to_request();
            if request.method() == actix_web::http::Method::GET {
                // As the server hands it over: a request without `Content-Length` or
                // `Transfer-Encoding` has no payload at all (`test::TestRequest` gives every
                // request an empty body stream, which `BodyDeadline` would arm its timer for).
                drop(request.take_payload());
            }
            Box::pin(async move {
                let response = service.call(request).await.expect("an answer");
                assert!(response.status().is_success());
                black_box(response);
            }) as std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>
        }) as Call
    }};
}

const ISSUER: &str = "https://issuer.bench/";
const AUDIENCE: &str = "s3-broker";
const HS_SECRET: &str = "bench-hs256-secret-0123456789abcdef-0123456789";
const API_KEY: &str = "bench-api-key-7f0c1a9d4b2e48c6a1f3d5b7e9c0a2b4";
/// The load test's upload request body.
const UPLOAD_BODY: &str = r#"{"filename":"load.txt","content_type":"text/plain","size":1024}"#;

/// An HS256 token of the subject `loadtest` with the upload scope, valid for a day from now
/// (the handler checks it against the real clock).
fn hs256_token() -> String {
    let now = chrono::Utc::now().timestamp();
    let claims = serde_json::json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "loadtest",
        "scope": "upload",
        "iat": now,
        "exp": now + 86_400,
    });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(HS_SECRET.as_bytes()),
    )
    .expect("bench token signs")
}

/// `POST /v1/uploads` with the load test's body and one credential header.
fn upload_request(header: (&'static str, String)) -> impl Fn() -> TestRequest + 'static {
    move || {
        TestRequest::post()
            .uri("/v1/uploads")
            .insert_header(("content-type", "application/json"))
            .insert_header(header.clone())
            .set_payload(UPLOAD_BODY)
    }
}

/// The bench's configuration: the load test's store, credentials and profiles.
fn configuration(policies: &std::path::Path) -> ConfigBuilder {
    ConfigBuilder::new()
        .store("us-east-1", "bench", "http://127.0.0.1:9")
        .static_credentials("AKIABENCH0000000000", "bench-secret-access-key-0123456789")
        .hs256(ISSUER, AUDIENCE, HS_SECRET)
        .api_key(API_KEY, "loadtest", &["upload"], false)
        .set("policies", "dir", policies.to_string_lossy().as_ref())
        .set("policies", "default_profile", "default")
}

/// With the memory store, the limits of the load test's `hs256redis` target: a rate of grants
/// and both daily quotas, so high that no request is refused.
fn with_limits(builder: ConfigBuilder) -> ConfigBuilder {
    let rate: toml::Table =
        toml::from_str("requests = 1000000000\nwindow_secs = 1").expect("a rate");
    builder
        .set("limits.rates", "grants", rate)
        .set("limits.quotas", "grants_per_day", 1_000_000_000_000_i64)
        .set("limits.quotas", "bytes_per_day", 1_000_000_000_000_000_i64)
}

async fn cases(policies: &std::path::Path) -> Vec<(&'static str, Call)> {
    let settings = configuration(policies)
        .settings()
        .expect("bench configuration");
    let state = web::Data::new(build_state(&settings).await.expect("bench state"));
    let limited = with_limits(configuration(policies))
        .settings()
        .expect("bench configuration with limits");
    let limited = web::Data::new(build_state(&limited).await.expect("bench state"));
    let hello = init_service(App::new().route(
        "/healthz",
        web::get().to(|| async { HttpResponse::Ok().json(serde_json::json!({"status": "ok"})) }),
    ))
    .await;
    let observed = init_service(
        App::new()
            .app_data(state.clone())
            .wrap(Observe)
            .configure(configure),
    )
    .await;
    let full = || init_service(app(state.clone(), Vec::new(), |_| {}));
    let bearer = ("authorization", format!("Bearer {}", hs256_token()));
    vec![
        ("hello_world", caller!(hello)),
        ("healthz_observe", caller!(observed)),
        ("healthz_full_app", caller!(full().await)),
        (
            "upload_hs256_full_app",
            caller!(full().await, upload_request(bearer.clone())),
        ),
        (
            "upload_api_key_full_app",
            caller!(
                full().await,
                upload_request(("x-api-key", API_KEY.to_owned()))
            ),
        ),
        (
            "upload_hs256_limited_full_app",
            caller!(
                init_service(app(limited, Vec::new(), |_| {})).await,
                upload_request(bearer)
            ),
        ),
    ]
}

fn run(
    rt: &tokio::runtime::Runtime,
    local: &tokio::task::LocalSet,
    call: &Call,
    n: u64,
) -> Duration {
    local.block_on(rt, async {
        let start = Instant::now();
        for _ in 0..n {
            call().await;
        }
        start.elapsed()
    })
}

fn main() {
    let _log = s3_broker::telemetry::init(
        s3_broker::telemetry::LogFormat::Json,
        // Counting runs (valgrind, one thread at a time) outpace the writer thread: a queue
        // that holds every line keeps their counts whole (none dropped unrendered).
        if std::env::var_os("BENCH_ITERS").is_some() {
            1 << 20
        } else {
            s3_broker::telemetry::DEFAULT_QUEUE_LINES
        },
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let local = tokio::task::LocalSet::new();
    let policies = tempfile::tempdir().expect("a policies directory");
    std::fs::write(
        policies.path().join("default.toml"),
        include_str!("../policies/default.toml"),
    )
    .expect("a profile");
    let cases = local.block_on(&rt, cases(policies.path()));
    if let (Ok(name), Ok(iters)) = (std::env::var("BENCH_CASE"), std::env::var("BENCH_ITERS")) {
        let iters: u64 = iters.parse().expect("BENCH_ITERS is a number");
        let (_, call) = cases
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("no bench case {name:?}"));
        run(&rt, &local, call, iters);
        return;
    }
    let mut criterion = Criterion::default().configure_from_args();
    for (name, call) in &cases {
        criterion.bench_function(&format!("middleware_{name}"), |b| {
            b.iter_custom(|iters| run(&rt, &local, call, iters));
        });
    }
    criterion.final_summary();
}
