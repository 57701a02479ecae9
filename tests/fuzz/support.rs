//! The fuzz loop (a time budget, proptest strategies as generators, every panic caught and
//! reported with its input) and the broker in-process, in front of a closed S3 port.

use actix_web::dev::Service;
use actix_web::{test, web};
use futures_util::FutureExt;
use futures_util::future::LocalBoxFuture;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use s3_broker::app::{app, build_state};
use s3_broker::config::{ConfigBuilder, Settings};
use s3_broker::multipart::{TicketKeyId, TicketKeys};
use std::fmt::Debug;
use std::panic::AssertUnwindSafe;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// The HS256 secret of the fuzzed broker.
pub(crate) const HS_SECRET: &str = "fuzz-hs256-secret-0123456789abcdef-0123456789";
/// Its issuer and audience.
pub(crate) const ISSUER: &str = "https://issuer.fuzz.test/";
pub(crate) const AUDIENCE: &str = "s3-broker-fuzz";
/// Its ticket key.
const TICKET_ID: &str = "fuzz";
const TICKET_SECRET: &str = "fuzz-ticket-key-0123456789abcdef-0123456789abcdef";

/// Seconds each target runs: `FUZZ_SECS`, default 3.
pub(crate) fn budget() -> Duration {
    let secs = std::env::var("FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(3.0);
    Duration::from_secs_f64(secs)
}

/// Runs `check` on values of `strategy` until the budget is spent; a panic or an `Err` fails
/// the target with the input. Returns the number of cases run (also printed).
pub(crate) async fn fuzz<S, F, Fut>(name: &str, strategy: S, mut check: F) -> u64
where
    S: Strategy,
    S::Value: Debug + Clone,
    F: FnMut(S::Value) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let seed: [u8; 32] = std::array::from_fn(|i| (i as u8).wrapping_mul(31) ^ name.len() as u8);
    let seed = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .map_or(seed, |s| {
            let mut bytes = [0u8; 32];
            bytes[..8].copy_from_slice(&s.to_le_bytes());
            bytes
        });
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed),
    );
    let (started, budget) = (Instant::now(), budget());
    let mut cases = 0u64;
    while started.elapsed() < budget {
        let value = strategy
            .new_tree(&mut runner)
            .expect("the strategy generates")
            .current();
        let outcome = AssertUnwindSafe(check(value.clone())).catch_unwind().await;
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(problem)) => panic!("{name}: {problem}\ninput: {value:?}"),
            Err(_) => panic!("{name}: a panic (above)\ninput: {value:?}"),
        }
        cases += 1;
    }
    eprintln!(
        "fuzz {name}: {cases} cases in {:.1} s, 0 failures",
        started.elapsed().as_secs_f64()
    );
    cases
}

/// The ticket keys the fuzzed broker seals with.
pub(crate) fn ticket_keys() -> TicketKeys {
    TicketKeys::new(vec![(
        TicketKeyId::new(TICKET_ID).expect("an id"),
        TICKET_SECRET.as_bytes().to_vec(),
    )])
    .expect("a ticket key")
}

/// The settings of the fuzzed broker: the shipped profiles (without the download existence
/// check, so that downloads need no S3), S3 on a closed port with a 1 s budget.
pub(crate) fn settings(policies: &std::path::Path) -> Settings {
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    for entry in std::fs::read_dir(&shipped).expect("policies/") {
        let path = entry.expect("an entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            let text = std::fs::read_to_string(&path).expect("a profile");
            let kept: Vec<&str> = text
                .lines()
                .filter(|l| !l.starts_with("download_existence_check"))
                .collect();
            std::fs::write(
                policies.join(path.file_name().expect("a name")),
                format!("{}\ndownload_existence_check = false\n", kept.join("\n")),
            )
            .expect("a profile copy");
        }
    }
    ConfigBuilder::new()
        .set("server", "bind", "127.0.0.1:0")
        .store("us-east-1", "uploads", "http://127.0.0.1:9")
        .set("s3", "operation_timeout_secs", 1)
        .static_credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
        .hs256(ISSUER, AUDIENCE, HS_SECRET)
        .ticket_key(TICKET_ID, TICKET_SECRET)
        .set("policies", "dir", policies.to_string_lossy().as_ref())
        .set("policies", "default_profile", "default")
        .settings()
        .expect("a valid configuration")
}

/// A dev token of `subject` with every scope.
pub(crate) fn token(subject: &str) -> String {
    s3_broker::auth::mint_dev_token(
        HS_SECRET.as_bytes(),
        ISSUER,
        AUDIENCE,
        subject,
        s3_broker::domain::Scopes::all(),
        Duration::from_secs(3600),
        chrono::Utc::now(),
    )
    .expect("a token")
}

/// What sends one request to the broker.
type Send = dyn Fn(test::TestRequest) -> LocalBoxFuture<'static, Result<(u16, String), String>>;

/// The broker in-process: requests in, status and body out.
pub(crate) struct Broker {
    send: Rc<Send>,
    _policies: tempfile::TempDir,
}

impl Broker {
    /// Starts the broker.
    pub(crate) async fn start() -> Self {
        let policies = tempfile::tempdir().expect("a temporary directory");
        let settings = settings(policies.path());
        let state = build_state(&settings).await.expect("the broker state");
        let service =
            Rc::new(test::init_service(app(web::Data::new(state), Vec::new(), |_| {})).await);
        let send = move |request: test::TestRequest| {
            let service = Rc::clone(&service);
            Box::pin(async move {
                let response = match service.call(request.to_request()).await {
                    Ok(response) => response.map_into_boxed_body(),
                    Err(err) => return Err(format!("a service error: {err}")),
                };
                let status = response.status().as_u16();
                let body = test::read_body(response).await;
                Ok((status, String::from_utf8_lossy(&body).into_owned()))
            }) as LocalBoxFuture<'static, _>
        };
        Self {
            send: Rc::new(send),
            _policies: policies,
        }
    }

    /// Sends `request`; the status and the body. A 5xx other than `s3_unavailable` (the
    /// closed S3 port) is an `Err`.
    pub(crate) async fn send(&self, request: test::TestRequest) -> Result<(u16, String), String> {
        let (status, body) = (self.send)(request).await?;
        if status >= 500 && !body.contains("s3_unavailable") {
            return Err(format!("{status}: {body}"));
        }
        Ok((status, body))
    }
}
