//! Upload profiles: loading, key templates, client input, ownership and decisions, one module
//! per theme, with the shared helpers in `support.rs`.

mod decisions;
mod input;
mod loading;
mod ownership;
mod properties;
mod support;
