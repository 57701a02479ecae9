//! Headless Chromium against `s3-broker dev`: the demo page ([`demo`]), the end-to-end
//! encryption example ([`e2ee`]) and real Uppy 5 and 6 clients ([`uppy`]), one binary sharing
//! chromedriver, a static page server and reads of the embedded store ([`support`]).
//!
//! Run with `cargo test --test browser`. Needs Debian's `chromium` and `chromium-driver`
//! (`scripts/testbed/install.sh chromium`) and, for the Uppy test, the bundles of
//! `tests/fixtures/uppy/build.sh`; without them the tests fail, they never skip.

mod demo;
mod e2ee;
mod examples;
mod jsclient;
mod support;
mod uppy;
