//! Authentication: every token and API-key attack answered with an error, the positive cases for each
//! key kind, and a JWKS server started by the test (rotation, issuer down, unknown-`kid` flood).
//!
//! The keys under `tests/fixtures/auth/` were generated once with `generate.sh` (openssl) and are
//! test keys only. Helpers live in `support.rs`; the cases are split by theme.

mod accepted;
mod attacks;
mod jwks;
mod support;
