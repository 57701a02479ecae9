//! `s3-broker dev`: an embedded S3-compatible store, the broker with a dev configuration and
//! a demo page, in one command.

mod store;

pub use store::{EmbeddedStore, start_embedded_store};
