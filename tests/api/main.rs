//! The fast layer: the broker's HTTP API in-process, through `actix_web::test::init_service`,
//! with static credentials and no S3 server. Authentication (every 401 and 403), input errors
//! (problem+json shapes and codes: 400, 404, 405, 413, 415), authorization refusals and the
//! Companion protocol's shapes, in seconds and without a test bed.
//!
//! Run with `cargo test --test api`. What needs real bytes or an S3 answer (grants used
//! against a store, listings, multipart uploads) is in the end-to-end suite, `tests/e2e/`.
//!
//! Each test builds its own [`support::Broker`] (a few milliseconds): no state is shared.
//! `s3_bounds` points brokers at a stub S3 on 127.0.0.1 (`s3_stub.rs`) that can hang or lose
//! an answer on demand, which no real server can be made to do.

mod ambiguous_credentials;
mod auth;
mod authz;
mod companion;
mod download_exists;
mod download_scan;
mod errors;
mod limits;
mod s3_bounds;
mod s3_stub;
mod support;
mod verify;
