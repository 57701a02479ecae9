//! Upload receipts: compact JWS (RFC 7515) signed with Ed25519 (`alg: EdDSA`, RFC 8037) under
//! a key named by `kid`, which an application checks offline against the broker's JWKS
//! (`GET /.well-known/jwks.json`, RFC 7517).
//!
//! Pure: the time of a receipt is an argument; signing is one Ed25519 signature over a
//! header encoded once per key and the claims.

mod claims;
mod keys;
mod verify;

pub use claims::{ReceiptClaims, ReceiptObject};
pub use keys::{ReceiptKeyId, ReceiptKeySpec, ReceiptKeys, generate_private_key_pem};
pub use verify::{ReceiptVerifyError, verify_receipt};
