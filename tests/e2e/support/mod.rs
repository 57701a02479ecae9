//! Test support: the real S3 servers (started once per process), a fresh bucket per test,
//! HTTP helpers that send what the signer produced, and ways to tamper with it.

pub(crate) mod bed;
pub(crate) mod broker;
pub(crate) mod ctx;
pub(crate) mod http;
pub(crate) mod multipart;
pub(crate) mod ports;
pub(crate) mod redis;
#[path = "../../common/reply.rs"]
pub(crate) mod reply;
pub(crate) mod script;
pub(crate) mod tamper;

pub(crate) use bed::{Server, TestBed};
pub(crate) use ctx::Ctx;
pub(crate) use http::{FilePart, fields, post, post_fields, send, send_raw, set_field};

use std::future::Future;
use std::sync::LazyLock;

/// One runtime for the whole test process: the SDK and HTTP clients keep connection pools
/// tied to the runtime they were first used on, so every test runs on this one.
pub(crate) fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime")
    });
    &RUNTIME
}

/// Runs one test against `server`: starts the server if this process has not yet, creates
/// a fresh bucket, and hands both to `test`.
pub(crate) fn run<F, Fut>(server: Server, test: F)
where
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = ()>,
{
    let bed = TestBed::get(server);
    runtime().block_on(async move { test(Ctx::new(bed).await).await });
}

/// The names of the test process's variables that would configure a spawned `s3-broker`
/// behind the test's back (`AWS_*`, `S3_BROKER*`, `RUST_LOG`): remove each from its command.
pub(crate) fn inherited_settings() -> impl Iterator<Item = String> {
    std::env::vars().map(|(name, _)| name).filter(|name| {
        name.starts_with("AWS_") || name.starts_with("S3_BROKER") || name == "RUST_LOG"
    })
}
