//! Fuzz targets on stable Rust: proptest strategies generate hostile input for everything a
//! caller can reach, for a time budget per target, and each case must end without a panic and
//! without a 5xx (the broker's own S3 endpoint is a closed port, so no case reaches a store;
//! the invariants of each target are in its module):
//!
//! - `keys`: object keys, client paths and file names through `POST /v1/uploads`,
//!   `POST /v1/downloads` and `POST /v1/multipart`;
//! - `filenames`: `Filename::parse` and the `Content-Disposition` of every accepted name;
//! - `sealed`: upload tickets, completion grants and sealed Uppy upload ids, arbitrary and
//!   mutated from genuine ones;
//! - `jwt`: arbitrary JOSE headers and claims, signed with the broker's HS256 secret;
//! - `companion`: Companion query strings, path ids and `POST /s3/sign` bodies;
//! - `completion_xml`: the XML body of `POST /s3/complete` under a genuine grant;
//! - `sniffers`: the content sniffers, on any bytes and behind every signature they know.
//!
//! Each target runs `FUZZ_SECS` seconds (default 3); `scripts/test` runs them with the
//! default, `doc/testing.md` records the longer runs:
//! `FUZZ_SECS=600 nice -n 19 cargo test --release --test fuzz -- --test-threads=7`.
//! A failure prints the input; rerun one target with `cargo test --test fuzz <target>`.

mod companion;
mod completion_xml;
mod filenames;
mod jwt;
mod keys;
mod sealed;
mod sniffers;
mod support;
